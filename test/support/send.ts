/**
 * Sends a request body the way real upload clients do — with a known Content-Length or chunked,
 * with or without `Expect: 100-continue` — and reads the answer even when it comes before the body
 * is sent (Node's http client reports such an early response, as curl and Go do).
 */
import http from 'node:http';

export interface SendOptions {
  method: string;
  /** Path and query on the server. */
  path: string;
  headers?: Record<string, string>;
  body: Buffer;
  chunked?: boolean;
  expectContinue?: boolean;
  /** Bytes per write (the server sees them as they come). */
  chunkSize?: number;
}

export interface SendResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The server answered `100 Continue`. */
  continued: boolean;
  /** Body bytes handed to the socket before the answer came. */
  sent: number;
  /** The connection failed before a complete answer arrived (a dropped socket). */
  dropped: string | null;
}

export function send(url: string, o: SendOptions): Promise<SendResult> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...o.headers };
  if (o.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(o.body.length);
  if (o.expectContinue) headers.expect = '100-continue';
  const step = o.chunkSize ?? 64 * 1024;
  return new Promise((resolve) => {
    let continued = false;
    let sent = 0;
    let answered = false;
    let finished = false;
    const finish = (r: Omit<SendResult, 'continued' | 'sent'>) => {
      if (finished) return;
      finished = true;
      resolve({ ...r, continued, sent });
    };
    const req = http.request({ host: u.hostname, port: u.port, method: o.method, path: o.path, headers, agent: false });
    const pump = () => {
      while (!answered && sent < o.body.length) {
        const part = o.body.subarray(sent, sent + step);
        sent += part.length;
        if (!req.write(part)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.on('continue', () => {
      continued = true;
      pump();
    });
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => finish({ status: res.statusCode!, headers: res.headers, text, dropped: null }));
      res.on('error', (err) =>
        finish({ status: res.statusCode!, headers: res.headers, text, dropped: `response cut: ${err.message}` }),
      );
    });
    req.on('error', (err) => {
      if (!answered) finish({ status: 0, headers: {}, text: '', dropped: err.message });
    });
    if (o.expectContinue) req.flushHeaders();
    else pump();
  });
}
