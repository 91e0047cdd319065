/**
 * The one HTTP(S) server: /dav/* goes to the WebDAV handler before Koa ever sees the request
 * (Koa must never consume a DAV body); everything else goes to the Koa app.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Config } from '../config/index.js';

export type DavHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createHttpServer(config: Config, koa: RequestListener, dav: DavHandler | null): http.Server {
  const handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    if (dav && (url === '/dav' || url.startsWith('/dav/') || url.startsWith('/dav?') || req.method === 'OPTIONS' && url === '/')) dav(req, res);
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
  server.requestTimeout = 0; // a large upload may take hours; idle connections are cut below instead
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.setTimeout(10 * 60_000, (socket) => socket.destroy());
  return server;
}
