/** OPTIONS (any path, also `OPTIONS /` that Windows sends first) and CORS, answered without credentials. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The methods served: class 2 (LOCK and UNLOCK, dav/locks.ts). */
export const DAV_CLASS = '1, 2';
export const ALLOWED = [
  'OPTIONS',
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'MKCOL',
  'COPY',
  'MOVE',
  'PROPFIND',
  'PROPPATCH',
  'LOCK',
  'UNLOCK',
];

const ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'depth',
  'destination',
  'overwrite',
  'if',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'lock-token',
  'timeout',
  'range',
  'x-oc-mtime',
  'oc-checksum',
  'x-expected-entity-length',
  'x-requested-with',
].join(', ');
const EXPOSE_HEADERS =
  'DAV, ETag, OC-ETag, OC-FileId, Content-Length, Content-Range, Accept-Ranges, Lock-Token, X-OC-Mtime, Allow';

/** CORS for browser apps: any origin, credentials passed explicitly (Authorization), never cookies. */
export function setCors(req: IncomingMessage, res: ServerResponse): void {
  if (!req.headers.origin) return; // nothing else sets these: a request without an Origin gets none
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
}

export function options(req: IncomingMessage, res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('DAV', DAV_CLASS);
  res.setHeader('MS-Author-Via', 'DAV');
  res.setHeader('Allow', ALLOWED.join(', '));
  setCors(req, res);
  if (req.headers.origin && req.headers['access-control-request-method']) {
    res.setHeader('Access-Control-Allow-Methods', ALLOWED.join(', '));
    res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
    res.setHeader('Access-Control-Max-Age', '86400');
  }
  res.setHeader('Content-Length', 0);
  res.end();
}
