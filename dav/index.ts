/**
 * The WebDAV drive at /dav/. webdav-server 2.6.2 dispatches (its request context, method table
 * and FileSystem contract), but every method is served by our own handler: the library's own
 * commands crash on PROPPATCH, send no ETag, read Ranges from byte 0, build listings in memory and
 * write into live files (STACK.md §4). In front of it, this module answers OPTIONS without
 * credentials, validates the URL, caps non-PUT bodies, and authenticates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { v2 } from 'webdav-server';
import type { Actor } from '../server/domain/actor.js';
import type { Accounts } from '../server/domain/auth.js';
import { clientAddress } from '../server/client-address.js';
import { DavAuth } from './auth.js';
import { makeResolver, MAX_XML_BODY, type DavContext, type DavDeps } from './context.js';
import { DavError, toDavFailure } from './errors.js';
import { DriveFileSystem, STATE } from './file-system.js';
import { get } from './get.js';
import { answerUnreadBody, header, sendContinue } from './http.js';
import { checkIf } from './if-header.js';
import { lock, unlock } from './locks.js';
import { withLockTokens } from '../server/domain/locks.js';
import { options, setCors } from './options.js';
import { encodeName, MOUNT, namesOf } from './paths.js';
import { propfind } from './propfind.js';
import { proppatch } from './proppatch.js';
import { put } from './put.js';
import { copyOrMove, mkcol, remove } from './tree.js';
import { esc } from './xml.js';

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

export function createDavHandler(deps: DavDeps & { accounts: Accounts }): DavRequestHandler {
  const auth = new DavAuth(deps.accounts, deps.config.dav.authCacheTtlSeconds * 1000);
  const server = new v2.WebDAVServer({
    rootFileSystem: new DriveFileSystem(),
    respondWithPaths: true,
    requireAuthentification: false,
    httpAuthentication: {
      askForAuthentication: () => ({}), // WWW-Authenticate only on our 401s
      getUser: (ctx, cb) => {
        const state = (ctx.request as IncomingMessage & { [STATE]?: DavContext })[STATE];
        if (!state || state.actor.kind !== 'user') return cb(v2.Errors.MissingAuthorisationHeader);
        const u = state.actor.user;
        cb(null as unknown as Error, { uid: u.id, username: u.username, isAdministrator: false, isDefaultUser: false });
      },
    },
    headers: { DAV: '1, 2', Server: 'Coffer' },
  });
  // webdav-server answers 401 for NotEnoughPrivilege (clients then re-prompt): 403 is right.
  const codes = (v2.HTTPRequestContext as unknown as { defaultErrorStatusCodes: { error: Error; code: number }[] })
    .defaultErrorStatusCodes;
  for (const e of codes) if (e.error === v2.Errors.NotEnoughPrivilege) e.code = 403;
  // Only our handlers: the library's own commands (LOCK, UNLOCK, POST, ...) are not reachable.
  const table = (server as unknown as { methods: Record<string, unknown> }).methods;
  for (const name of Object.keys(table)) delete table[name];
  for (const [name, handler] of Object.entries(HANDLERS)) {
    server.method(name, {
      chunked: (ctx, _stream, done) => {
        const c = (ctx.request as IncomingMessage & { [STATE]?: DavContext })[STATE]!;
        void run(c, handler).finally(done);
      },
    });
  }
  server.onUnknownMethod({
    chunked: (ctx, _stream, done) => {
      ctx.response.statusCode = 501;
      ctx.response.setHeader('Content-Length', 0);
      done();
    },
  });

  const { log } = deps;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.statusCode = 200; // webdav-server relies on Node's default status
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') return options(req, res);
    setCors(req, res);
    const names = namesOf(req.url ?? '/');
    if (method !== 'PUT' && Number(header(req, 'content-length') ?? 0) > MAX_XML_BODY)
      throw new DavError(413, 'Request body too large');
    const origin = {
      via: 'dav' as const,
      ip: clientAddress(req, deps.config),
      userAgent: header(req, 'user-agent') ?? null,
    };
    const user = await auth.authenticate(header(req, 'authorization'), origin);
    // PUT decides about `100 Continue` itself (after its quota check); other bodies are small XML.
    if (method !== 'PUT') sendContinue(req, res);
    const actor: Actor = { kind: 'user', user, origin };
    const c: DavContext = {
      ...deps,
      req,
      res,
      method,
      actor,
      names,
      resolve: makeResolver(deps.namespace, actor, names),
    };
    (req as IncomingMessage & { [STATE]?: DavContext })[STATE] = c;
    // The library resolves req.url itself: hand it the normalized path, never the raw one.
    req.url = '/' + names.map(encodeName).join('/');
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.once('finish', resolve);
      server.executeRequest(req, res, MOUNT);
    });
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => fail(req, res, (req.method ?? '').toUpperCase(), err, log));
  };
}

async function run(c: DavContext, handler: Handler): Promise<void> {
  try {
    setCors(c.req, c.res);
    if (CONDITIONAL.has(c.method)) {
      const tokens = await checkIf(c);
      if (tokens.length > 0) c.actor = withLockTokens(c.actor, tokens);
    }
    await handler(c);
  } catch (err) {
    fail(c.req, c.res, c.method, err, c.log);
  }
}

function fail(req: IncomingMessage, res: ServerResponse, method: string, err: unknown, log: DavDeps['log']): void {
  if (res.headersSent || res.destroyed || (req.destroyed && !req.complete)) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const f = toDavFailure(err, method) ?? { status: 500, message: 'Internal server error' };
  if (f.status === 500) log.error({ err, method, url: req.url }, 'WebDAV request failed');
  if (f.status === 499) return void res.destroy();
  res.statusCode = f.status;
  if (f.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="Coffer", charset="UTF-8"');
  if (f.retryAfter !== undefined) res.setHeader('Retry-After', String(f.retryAfter));
  for (const h of ['ETag', 'Last-Modified', 'Content-Range', 'Accept-Ranges', 'X-OC-Mtime']) res.removeHeader(h);
  const body = f.condition
    ? `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${f.condition}/></D:error>\n`
    : `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:message>${esc(f.message)}</D:message></D:error>\n`;
  res.setHeader('Content-Type', 'application/xml; charset=utf-8');
  // A body we did not read (refused up front, or cut off by the quota or a full disk) must not be
  // parsed as the next request: answer, then close the connection once the client stops sending.
  if (!req.complete) return answerUnreadBody(req, res, body);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(method === 'HEAD' ? undefined : body);
}
