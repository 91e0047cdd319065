import { createHash } from 'node:crypto';
import http from 'node:http';
import type { TestServer } from '../support/server.js';

export const sha = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

/** A raw request (fetch cannot lie about Content-Length or abort half-way). */
export function raw(
  srv: TestServer,
  opts: http.RequestOptions,
  body?: Buffer,
  abortAfter?: number,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | 'aborted'> {
  const u = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, agent: false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', (err) => (abortAfter !== undefined ? resolve('aborted') : reject(err)));
    if (abortAfter !== undefined && body) {
      req.write(body.subarray(0, abortAfter), () =>
        setTimeout(() => {
          req.destroy();
          resolve('aborted');
        }, 100),
      );
      return;
    }
    req.end(body);
  });
}
