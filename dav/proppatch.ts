/**
 * PROPPATCH (RFC 4918 §9.2): set/remove blocks in document order, applied all or nothing in one
 * domain call. Dead properties keep their namespaces; DAV:getlastmodified, DAV:lastmodified (rclone,
 * unix seconds) and Win32LastModifiedTime (Windows) set the modification time.
 */
import { DomainError } from '../server/domain/errors.js';
import type { PropertyChange } from '../server/domain/properties.js';
import type { DavContext } from './context.js';
import { MAX_XML_BODY } from './context.js';
import { DavError } from './errors.js';
import { readBody } from './http.js';
import { hrefOf } from './paths.js';
import {
  DAV_NS,
  MS_NS,
  OC_NS,
  elements,
  esc,
  isDav,
  parseXml,
  propElement,
  serializeChildren,
  textOf,
  XML_CONTENT_TYPE,
} from './xml.js';

/** Live properties a client may not change. */
const PROTECTED = new Set(
  [
    'resourcetype',
    'getcontentlength',
    'getcontenttype',
    'getetag',
    'creationdate',
    'displayname',
    'lockdiscovery',
    'supportedlock',
    'quota-available-bytes',
    'quota-used-bytes',
  ].map((n) => `${DAV_NS} ${n}`),
);

function parseMtime(ns: string, name: string, value: string): number | null {
  const v = value.trim();
  let ms: number;
  if (ns === DAV_NS && name === 'lastmodified') ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  else ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

export async function proppatch(c: DavContext): Promise<void> {
  const body = await readBody(c.req, MAX_XML_BODY);
  if (body.length === 0) throw new DavError(400, 'PROPPATCH needs a DAV:propertyupdate body');
  const root = parseXml(body);
  if (!isDav(root, 'propertyupdate')) throw new DavError(400, 'Expected a DAV:propertyupdate element');
  const { node } = await c.resolve();
  if (!node) throw new DavError(404, 'Not found');

  const changes: PropertyChange[] = [];
  const results: { ns: string; name: string; bad: boolean; set: boolean }[] = [];
  let modifiedAt: number | null = null;
  let badValue = false;
  for (const block of elements(root)) {
    const op = isDav(block, 'set') ? 'set' : isDav(block, 'remove') ? 'remove' : null;
    if (!op) throw new DavError(400, 'Expected DAV:set or DAV:remove');
    for (const prop of elements(block).filter((e) => isDav(e, 'prop'))) {
      for (const p of elements(prop)) {
        const isTime =
          (p.ns === DAV_NS && (p.local === 'getlastmodified' || p.local === 'lastmodified')) ||
          (p.ns === MS_NS && p.local === 'Win32LastModifiedTime');
        const isProtected = PROTECTED.has(`${p.ns} ${p.local}`) || p.ns === OC_NS;
        if (isTime && op === 'set') {
          const t = parseMtime(p.ns, p.local, textOf(p));
          if (t === null) badValue = true;
          else modifiedAt = t;
          results.push({ ns: p.ns, name: p.local, bad: t === null, set: true });
          if (p.ns === MS_NS) changes.push({ op, namespace: p.ns, name: p.local, value: serializeChildren(p) });
          continue;
        }
        if (isProtected || (isTime && p.ns === DAV_NS)) {
          results.push({ ns: p.ns, name: p.local, bad: true, set: op === 'set' });
          badValue = true;
          continue;
        }
        changes.push(
          op === 'set'
            ? { op, namespace: p.ns, name: p.local, value: serializeChildren(p) }
            : { op, namespace: p.ns, name: p.local },
        );
        results.push({ ns: p.ns, name: p.local, bad: false, set: op === 'set' });
      }
    }
  }
  // No room for the properties (the owner's quota, or the per-resource cap): nothing is stored, and
  // the multistatus says 507 for each property to set, 424 for the rest (RFC 4918 §9.2, §9.2.1).
  let noRoom = false;
  if (!badValue) {
    try {
      await c.drive.patchProperties(c.actor, node.id, changes, modifiedAt);
    } catch (err) {
      if (!(err instanceof DomainError && (err.code === 'quota_exceeded' || err.code === 'storage_full'))) throw err;
      noRoom = true;
    }
  }

  // One propstat per status; a property named twice is reported once.
  const seen = new Set<string>();
  let ok = '';
  let forbidden = '';
  let failed = '';
  let insufficient = '';
  for (const r of results) {
    const k = `${r.ns} ${r.name}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const el = propElement(r.ns, r.name, null);
    if (r.bad) forbidden += el;
    else if (badValue) failed += el;
    else if (noRoom && r.set) insufficient += el;
    else if (noRoom) failed += el;
    else ok += el;
  }
  const stat = (props: string, status: string) =>
    props === '' ? '' : `<D:propstat><D:prop>${props}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
  const xml =
    `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:" xmlns:oc="${OC_NS}"><D:response><D:href>${esc(hrefOf(c.names, node.kind === 'folder', c.config.basePath, c.mount))}</D:href>` +
    stat(ok, '200 OK') +
    stat(forbidden, '403 Forbidden') +
    stat(insufficient, '507 Insufficient Storage') +
    stat(failed, '424 Failed Dependency') +
    '</D:response></D:multistatus>\n';
  c.res.statusCode = 207;
  c.res.setHeader('Content-Type', XML_CONTENT_TYPE);
  c.res.setHeader('Content-Length', Buffer.byteLength(xml));
  c.res.end(xml);
}
