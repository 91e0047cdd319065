/**
 * The one HTTP(S) server: /dav/* and /public-dav/* go to the WebDAV handlers before Koa ever sees
 * the request (Koa must never consume a DAV body); everything else goes to the Koa app.
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
  /** Public links over WebDAV (/public-dav/<token>/), beside /dav/ and likewise before Koa. */
  publicDav?: DavHandler,
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
    if (publicDav && isPublicDav(url)) return 'dav';
    return url === '/api' || url.startsWith('/api/') ? 'api' : 'console';
  };
  const base = config.basePath;
  const handler: RequestListener = (req, res) => {
    // Under BASE_PATH every route lives below it: the prefix is taken off here, once, and put back
    // only where an absolute path leaves the server (WebDAV hrefs, link URLs, the console's build).
    if (base && !withinBase(req, res, base)) return;
    const url = req.url ?? '/';
    const to = door(req, url);
    if (metrics && to === 'console' && (url === '/metrics' || url.startsWith('/metrics?'))) {
      void metrics.serve(config.metricsToken, req, res);
      return;
    }
    metrics?.track(to, req, res);
    if (to === 'dav') (publicDav && isPublicDav(url) ? publicDav : dav!)(req, res);
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

function isPublicDav(url: string): boolean {
  return url === '/public-dav' || url.startsWith('/public-dav/') || url.startsWith('/public-dav?');
}

/**
 * Takes BASE_PATH off the request's URL; false when the request is outside it, answered here: the
 * host's root redirects to the base (a browser typing the bare host name), anything else is 404.
 */
function withinBase(req: IncomingMessage, res: ServerResponse, base: string): boolean {
  const url = req.url ?? '/';
  if (url === base || url.startsWith(base + '/') || url.startsWith(base + '?')) {
    const rest = url.slice(base.length);
    req.url = rest.startsWith('/') ? rest : '/' + rest;
    return true;
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && (url === '/' || url.startsWith('/?'))) {
    res.writeHead(302, { Location: base + '/', 'Content-Length': 0 }).end();
    return false;
  }
  const body = JSON.stringify({ error: { code: 'not_found', message: `Coffer is served under ${base}/` } });
  res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  return false;
}
