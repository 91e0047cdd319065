/**
 * The one HTTP(S) server: /dav/* goes to the WebDAV handler before Koa ever sees the request
 * (Koa must never consume a DAV body); everything else goes to the Koa app.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Config } from '../config/index.js';
import { addressedTo } from './http-util.js';
import type { Door, Metrics } from './metrics.js';

export type DavHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createHttpServer(
  config: Config,
  koa: RequestListener,
  dav: DavHandler | null,
  metrics?: Metrics,
): http.Server {
  const content = config.contentOrigin;
  const door = (req: IncomingMessage, url: string): Door => {
    // The content host serves file bytes and nothing else (the Koa app answers it): never WebDAV.
    if (content && addressedTo(req, content)) return 'content';
    if (
      dav &&
      (url === '/dav' ||
        url.startsWith('/dav/') ||
        url.startsWith('/dav?') ||
        (req.method === 'OPTIONS' && url === '/'))
    )
      return 'dav';
    return url === '/api' || url.startsWith('/api/') ? 'api' : 'console';
  };
  const handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    const to = door(req, url);
    if (metrics && to === 'console' && (url === '/metrics' || url.startsWith('/metrics?'))) {
      void metrics.serve(config.metricsToken, req, res);
      return;
    }
    metrics?.track(to, req, res);
    if (to === 'dav') dav!(req, res);
    else koa(req, res);
  };
  const server = config.tls
    ? https.createServer({ cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key) }, handler)
    : http.createServer(handler);
  // Decide about `100 Continue` per request (an over-quota upload is refused before its body is sent).
  server.on('checkContinue', (req: IncomingMessage & { expectsContinue?: boolean }, res: ServerResponse) => {
    req.expectsContinue = true;
    handler(req, res);
  });
  // Requests Node cannot even parse (an unknown method, broken headers) still get a clear JSON answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const [status, text, message] =
      err.code === 'HPE_INVALID_METHOD'
        ? [501, 'Not Implemented', 'This HTTP method is not supported']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'The request headers are too large']
          : [400, 'Bad Request', 'The request could not be parsed'];
    const body = JSON.stringify({
      error: {
        code: status === 501 ? 'invalid_input' : status === 431 ? 'payload_too_large' : 'invalid_input',
        message,
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.requestTimeout = 0; // a large upload may take hours; idle connections are cut below instead
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.setTimeout(10 * 60_000, (socket) => socket.destroy());
  return server;
}
