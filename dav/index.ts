/**
 * The WebDAV drive at /dav/: OPTIONS without credentials, the URL validated, non-PUT bodies capped,
 * authentication, the `If:` header, then one handler of ours per method. Every method is ours: the
 * commands of webdav-server (the prescribed library) crash on PROPPATCH, send no ETag, read Ranges
 * from byte 0, build listings in memory and write into live files (STACK.md §4), and once they were
 * all replaced, its request context — which still ran per request only to dispatch — cost more CPU
 * than a small request's own work (README, "WebDAV"), so this module dispatches itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Actor, Origin } from '../server/domain/actor.js';
import type { AppPasswords } from '../server/domain/app-passwords.js';
import type { Accounts } from '../server/domain/auth.js';
import { clientAddress } from '../server/client-address.js';
import type { Claim } from '../server/domain/credentials.js';
import { forbidden } from '../server/domain/errors.js';
import { DavAuth } from './auth.js';
import { DavExchange, makeResolver, MAX_XML_BODY, type DavContext, type DavDeps } from './context.js';
import { DavError, toDavFailure } from './errors.js';
import { get } from './get.js';
import { answerUnreadBody, header, sendContinue } from './http.js';
import { checkIf } from './if-header.js';
import { lock, unlock } from './locks.js';
import { withLockTokens } from '../server/domain/locks.js';
import { ALLOWED, DAV_CLASS, options, setCors } from './options.js';
import { MOUNT, namesOf } from './paths.js';
import { propfind } from './propfind.js';
import { proppatch } from './proppatch.js';
import { put } from './put.js';
import { copyOrMove, mkcol, remove } from './tree.js';
import { esc, XML_CONTENT_TYPE } from './xml.js';

export type DavRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
type Handler = (c: DavContext) => Promise<void>;

/** Our handler per method. */
const HANDLERS: Record<string, Handler> = {
  GET: get,
  HEAD: get,
  PUT: put,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  MKCOL: mkcol,
  DELETE: remove,
  COPY: copyOrMove,
  MOVE: copyOrMove,
  LOCK: lock,
  UNLOCK: unlock,
};

/**
 * Methods whose `If:` header is evaluated first (false → 412); the lock tokens it names ride on the
 * actor into Drive, which refuses a write to a locked resource without its token (423).
 */
const CONDITIONAL = new Set(['PUT', 'PROPPATCH', 'DELETE', 'MOVE', 'COPY', 'MKCOL', 'LOCK', 'UNLOCK']);

/**
 * What a read-only app password may do: a list of what reads rather than of what writes, so a
 * method added later is refused to it until someone decides otherwise (OPTIONS is answered before
 * authentication).
 */
export const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'PROPFIND']);

/** On every answer to an authenticated request (Windows' client looks for them, not only on OPTIONS). */
export const DAV_HEADERS: [string, string][] = [
  ['DAV', DAV_CLASS],
  ['MS-Author-Via', 'DAV'],
  ['Allow', ALLOWED.join(', ')],
  ['Server', 'Coffer'],
];

/**
 * The part every mount shares (/dav/, /public-dav/: public.ts): OPTIONS without credentials, CORS,
 * non-PUT bodies capped, the request's origin; a failure anywhere answered by `fail`.
 */
export function serveDav(
  deps: DavDeps,
  via: Origin['via'],
  handle: (r: DavExchange) => Promise<void>,
): DavRequestHandler {
  const start = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') return options(req, res);
    setCors(req, res);
    if (method !== 'PUT' && Number(header(req, 'content-length') ?? 0) > MAX_XML_BODY)
      throw new DavError(413, 'Request body too large');
    const origin = { via, ip: clientAddress(req, deps.config), userAgent: header(req, 'user-agent') ?? null };
    return handle(new DavExchange(deps, req, res, method, origin));
  };
  return (req, res) => {
    start(req, res).catch((err: unknown) => fail(req, res, (req.method ?? '').toUpperCase(), err, deps.log));
  };
}

export function createDavHandler(
  deps: DavDeps & { accounts: Accounts; appPasswords: AppPasswords },
): DavRequestHandler {
  const auth = new DavAuth(deps.accounts, deps.config.dav.authCacheTtlSeconds * 1000, deps.appPasswords);
  return serveDav(deps, 'dav', async (r) => {
    const { req, res, method, origin } = r;
    const names = namesOf(req.url ?? '/');
    // The credential's user is read with the request's own path, in one query (namespace.lookup).
    const details = method === 'PROPFIND';
    // A small file's bytes come with the path for a GET that will likely send them (not a revalidation).
    const bytes = method === 'GET' && header(req, 'if-none-match') === undefined;
    let scope: Claim['scope'];
    const lookup = await auth.authenticate(header(req, 'authorization'), origin, (claim) => {
      scope = claim.scope;
      return deps.namespace.lookup(claim, names, { details, bytes });
    });
    if (scope === 'read' && !READ_ONLY_METHODS.has(method))
      throw forbidden('This app password is read-only: it can list and download, not change anything');
    // PUT decides about `100 Continue` itself (after its quota check); other bodies are small XML.
    if (method !== 'PUT') sendContinue(req, res);
    const actor: Actor = { kind: 'user', user: lookup.user, origin };
    r.actor = actor;
    r.names = names;
    r.mount = MOUNT;
    r.resolve = makeResolver(deps.namespace, actor, names, lookup);
    return dispatch(r);
  });
}

/** Runs the method's handler on a request whose actor is known (/dav/ and /public-dav/: public.ts). */
export function dispatch(c: DavContext): Promise<void> {
  for (const [name, value] of DAV_HEADERS) c.res.setHeader(name, value);
  const handler = HANDLERS[c.method];
  if (handler) return run(c, handler);
  c.res.statusCode = 501;
  c.res.setHeader('Content-Length', 0);
  c.res.end();
  return Promise.resolve();
}

async function run(c: DavContext, handler: Handler): Promise<void> {
  try {
    if (CONDITIONAL.has(c.method)) {
      const tokens = await checkIf(c);
      if (tokens.length > 0) c.actor = withLockTokens(c.actor, tokens);
    }
    await handler(c);
  } catch (err) {
    fail(c.req, c.res, c.method, err, c.log);
  }
}

/** Answers a failed request: its RFC status and a DAV:error body (or cuts the connection mid-response). */
export function fail(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  err: unknown,
  log: DavDeps['log'],
): void {
  if (res.headersSent || res.destroyed || (req.destroyed && !req.complete)) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const f = toDavFailure(err, method) ?? { status: 500, message: 'Internal server error' };
  if (f.status === 500 || f.status === 503) log.error({ err, method, url: req.url }, 'WebDAV request failed');
  if (f.status === 499) return void res.destroy();
  res.statusCode = f.status;
  if (f.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="Coffer", charset="UTF-8"');
  if (f.retryAfter !== undefined) res.setHeader('Retry-After', String(f.retryAfter));
  for (const h of ['ETag', 'Last-Modified', 'Content-Range', 'Accept-Ranges', 'X-OC-Mtime']) res.removeHeader(h);
  const body = f.condition
    ? `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${f.condition}/></D:error>\n`
    : `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:message>${esc(f.message)}</D:message></D:error>\n`;
  res.setHeader('Content-Type', XML_CONTENT_TYPE);
  // A body we did not read (refused up front, or cut off by the quota or a full disk) must not be
  // parsed as the next request: answer, then close the connection once the client stops sending.
  if (!req.complete) return answerUnreadBody(req, res, body);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(method === 'HEAD' ? undefined : body);
}
