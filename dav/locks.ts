/**
 * LOCK and UNLOCK (RFC 4918 §9.10–9.11) over the Locks domain service: exclusive and shared write
 * locks, depth 0 and infinity, refresh by `If:` with the token, LOCK on an unmapped URL creates an
 * empty file (201). Also renders supportedlock / lockdiscovery for PROPFIND.
 */
import { Readable } from 'node:stream';
import { isLockScope, type ActiveLock, type LockDepth } from '../server/domain/locks.js';
import type { DavContext } from './context.js';
import { MAX_XML_BODY } from './context.js';
import { DavError } from './errors.js';
import { header, readBody } from './http.js';
import { parseIf, submittedTokens, tokenFromHeader } from './if-header.js';
import { hrefOf } from './paths.js';
import { elements, esc, isDav, parseXml, serializeChildren, XML_CONTENT_TYPE } from './xml.js';

export const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

/**
 * `Timeout: Infinite, Second-4100000000` → the first timeout understood, in seconds (`Infinity`);
 * undefined when absent or unreadable. The domain decides what is granted (Locks, grantedTimeout).
 */
export function parseTimeout(value: string | undefined): number | undefined {
  if (!value) return undefined;
  for (const part of value.split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return Infinity;
    const m = /^second-(\d+)$/i.exec(t);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * One `D:activelock`. `href` is the request's href of the resource it is shown on, `depthBelow` how
 * many segments that resource lies below the lock's root (the lockroot is that many segments up).
 */
export function activeLockXml(l: ActiveLock, href: string, depthBelow: number, now: number): string {
  let root = href;
  for (let i = 0; i < depthBelow; i++) root = root.replace(/[^/]+\/?$/, '');
  const seconds = Math.max(0, Math.ceil((l.expiresAt - now) / 1000));
  return (
    '<D:activelock>' +
    '<D:locktype><D:write/></D:locktype>' +
    `<D:lockscope><D:${l.scope}/></D:lockscope>` +
    `<D:depth>${l.depth === '0' ? '0' : 'infinity'}</D:depth>` +
    (l.ownerXml !== null ? `<D:owner>${l.ownerXml}</D:owner>` : '') +
    `<D:timeout>Second-${seconds}</D:timeout>` +
    `<D:locktoken><D:href>${esc(l.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${esc(root)}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

function segments(path: string): number {
  return path === '/' ? 0 : path.split('/').length - 1;
}

export function lockDiscoveryXml(locks: ActiveLock[], href: string, path: string, now: number): string {
  return locks.map((l) => activeLockXml(l, href, segments(path) - segments(l.path), now)).join('');
}

function sendLock(
  c: DavContext,
  lock: ActiveLock,
  path: string,
  status: number,
  isFolder: boolean,
  withHeader: boolean,
): void {
  const href = hrefOf(c.names, isFolder, c.config.basePath, c.mount);
  const xml = `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${lockDiscoveryXml([lock], href, path, lock.expiresAt - lock.timeoutSeconds * 1000)}</D:lockdiscovery></D:prop>\n`;
  c.res.statusCode = status;
  if (withHeader) c.res.setHeader('Lock-Token', `<${lock.token}>`);
  c.res.setHeader('Content-Type', XML_CONTENT_TYPE);
  c.res.setHeader('Content-Length', Buffer.byteLength(xml));
  c.res.end(xml);
}

export async function lock(c: DavContext): Promise<void> {
  const timeoutSeconds = parseTimeout(header(c.req, 'timeout'));
  const body = await readBody(c.req, MAX_XML_BODY);

  if (body.length === 0 || body.toString('utf8').trim() === '') {
    // Refresh: the lock named in If: that covers this resource.
    const { node } = await c.resolve();
    if (!node) throw new DavError(412, 'No lock to refresh here');
    const tokens = submittedTokens(parseIf(header(c.req, 'if')));
    if (tokens.length === 0) throw new DavError(400, 'A LOCK without a body refreshes a lock: send its token in If');
    for (const t of tokens) {
      const l = await c.locks.refresh(c.actor, node.id, t, timeoutSeconds);
      if (l) return sendLock(c, l, (await c.locks.pathOf(node.id)).path, 200, node.kind === 'folder', false);
    }
    throw new DavError(412, 'The submitted lock token does not cover this resource', 'lock-token-matches-request-uri');
  }

  const root = parseXml(body);
  if (!isDav(root, 'lockinfo')) throw new DavError(400, 'Expected a DAV:lockinfo element');
  const kids = elements(root);
  const scopeEl = kids.find((e) => isDav(e, 'lockscope'));
  const typeEl = kids.find((e) => isDav(e, 'locktype'));
  const ownerEl = kids.find((e) => isDav(e, 'owner'));
  const scopeName = scopeEl ? elements(scopeEl)[0] : undefined;
  if (!scopeName || scopeName.ns !== 'DAV:' || !isLockScope(scopeName.local)) {
    throw new DavError(400, 'lockscope must be exclusive or shared');
  }
  const typeName = typeEl ? elements(typeEl)[0] : undefined;
  if (!typeName || !isDav(typeName, 'write')) throw new DavError(422, 'Only write locks are supported');
  const scope = scopeName.local;
  const depthHeader = header(c.req, 'depth')?.trim().toLowerCase();
  let depth: LockDepth;
  if (depthHeader === undefined || depthHeader === 'infinity') depth = 'infinity';
  else if (depthHeader === '0') depth = '0';
  else throw new DavError(400, 'Depth must be 0 or infinity');

  const { parent, node: existing } = await c.resolve();
  let node = existing;
  let status = 200;
  if (!node) {
    // An unmapped URL: lock an empty new file (RFC 4918 §7.3).
    if (c.names.length === 0 || !parent) throw new DavError(409, 'The parent collection does not exist');
    if (parent.kind !== 'folder') throw new DavError(409, 'The parent is not a collection');
    const made = await c.drive.upload(c.actor, parent.id, c.names[c.names.length - 1]!, Readable.from([]), {
      expectedSize: 0,
      overwrite: false,
    });
    node = { ...made.node, sha1: null, md5: null };
    status = 201;
  }
  const l = await c.locks.lock(c.actor, node.id, {
    scope,
    depth,
    ownerXml: ownerEl ? serializeChildren(ownerEl) : null,
    timeoutSeconds,
  });
  sendLock(c, l, l.path, status, node.kind === 'folder', true);
}

export async function unlock(c: DavContext): Promise<void> {
  const token = tokenFromHeader(header(c.req, 'lock-token'));
  if (!token) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>');
  const { node } = await c.resolve();
  if (!node) throw new DavError(404, 'Not found');
  if (!(await c.locks.unlock(c.actor, node.id, token))) {
    throw new DavError(409, 'No lock with this token covers this resource', 'lock-token-matches-request-uri');
  }
  c.res.statusCode = 204;
  c.res.end();
}
