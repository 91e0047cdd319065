/**
 * PROPFIND (RFC 4918 §9.1): one query per folder, a multistatus streamed as it is produced, live
 * properties built as strings, dead properties from the database with their namespaces.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { NamespaceNode } from '../server/domain/namespace.js';
import type { DeadProperty } from '../server/domain/properties.js';
import type { DavContext } from './context.js';
import { MAX_XML_BODY } from './context.js';
import { DavError } from './errors.js';
import { httpDate, readBody, write, header } from './http.js';
import { encodeName, hrefOf } from './paths.js';
import { DAV_NS, OC_NS, elements, esc, isDav, parseXml, propElement, XML_CONTENT_TYPE } from './xml.js';
import { childPath, covers, type ActiveLock } from '../server/domain/locks.js';
import { lockDiscoveryXml, SUPPORTED_LOCK } from './locks.js';

type PropKey = { ns: string; name: string };
type Request = { kind: 'allprop'; include: PropKey[] } | { kind: 'propname' } | { kind: 'prop'; props: PropKey[] };

interface Quota {
  used: number;
  available: number;
}

/**
 * Live properties: how to render them, for which kinds, and whether allprop includes them. RFC 4331
 * lets servers leave quota out of allprop, but clients such as the `webdav` npm client ask for it
 * that way, so collections report it.
 */
const LIVE: Record<string, { allprop: boolean; render: (n: NamespaceNode, q: Quota | null) => string | null }> = {
  [`${DAV_NS} resourcetype`]: { allprop: true, render: (n) => (n.kind === 'folder' ? '<D:collection/>' : '') },
  [`${DAV_NS} getcontentlength`]: { allprop: true, render: (n) => (n.kind === 'file' ? String(n.size) : null) },
  [`${DAV_NS} getcontenttype`]: {
    allprop: true,
    render: (n) => (n.kind === 'file' ? esc(n.mime ?? 'application/octet-stream') : null),
  },
  [`${DAV_NS} getetag`]: { allprop: true, render: (n) => `"${esc(n.etag)}"` },
  [`${DAV_NS} getlastmodified`]: { allprop: true, render: (n) => httpDate(n.modifiedAt) },
  [`${DAV_NS} creationdate`]: { allprop: true, render: (n) => new Date(n.createdAt).toISOString() },
  [`${DAV_NS} displayname`]: { allprop: true, render: (n) => esc(n.name) },
  [`${DAV_NS} supportedlock`]: { allprop: true, render: () => SUPPORTED_LOCK },
  // Rendered per entry from the locks around the listing (see responseFor).
  [`${DAV_NS} lockdiscovery`]: { allprop: true, render: () => '' },
  [`${DAV_NS} quota-available-bytes`]: {
    allprop: true,
    render: (n, q) => (n.kind === 'folder' && q ? String(q.available) : null),
  },
  [`${DAV_NS} quota-used-bytes`]: {
    allprop: true,
    render: (n, q) => (n.kind === 'folder' && q ? String(q.used) : null),
  },
  [`${OC_NS} checksums`]: {
    allprop: false,
    render: (n) =>
      n.kind === 'file' && n.sha1 && n.md5 ? `<oc:checksum>SHA1:${n.sha1} MD5:${n.md5}</oc:checksum>` : null,
  },
  [`${OC_NS} fileid`]: { allprop: false, render: (n) => esc(n.id) },
  [`${OC_NS} permissions`]: { allprop: false, render: (n) => (n.kind === 'folder' ? 'RDNVCK' : 'RDNVW') },
  [`${OC_NS} size`]: { allprop: false, render: (n) => (n.kind === 'file' ? String(n.size) : null) },
};
const QUOTA_KEYS = new Set([`${DAV_NS} quota-available-bytes`, `${DAV_NS} quota-used-bytes`]);
const ALLPROP_LIVE = Object.keys(LIVE).filter((k) => LIVE[k]!.allprop);

/**
 * Each client sends the same few PROPFIND bodies again and again (a mounted drive polls with one),
 * and parsing one was the largest part of a Depth 0 PROPFIND's own work: parsed requests are kept
 * by their text (a small LRU; never mutated once made).
 */
const parsed = new Map<string, Request>();
const PARSED_MAX = 64;
const PARSED_BODY_MAX = 4096;

function parseRequest(body: Buffer): Request {
  const text = body.toString('utf8');
  if (text.length > PARSED_BODY_MAX) return parseRequestXml(body, text);
  let req = parsed.get(text);
  if (req)
    parsed.delete(text); // most recently used last
  else req = parseRequestXml(body, text);
  parsed.set(text, req);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  return req;
}

function parseRequestXml(body: Buffer, text: string): Request {
  if (text.trim() === '') return { kind: 'allprop', include: [] };
  const root = parseXml(body);
  if (!isDav(root, 'propfind')) throw new DavError(400, 'Expected a DAV:propfind element');
  const kids = elements(root);
  const prop = kids.find((e) => isDav(e, 'prop'));
  if (prop) return { kind: 'prop', props: elements(prop).map((e) => ({ ns: e.ns, name: e.local })) };
  if (kids.some((e) => isDav(e, 'propname'))) return { kind: 'propname' };
  if (kids.some((e) => isDav(e, 'allprop'))) {
    const inc = kids.find((e) => isDav(e, 'include'));
    return { kind: 'allprop', include: inc ? elements(inc).map((e) => ({ ns: e.ns, name: e.local })) : [] };
  }
  throw new DavError(400, 'Expected allprop, propname or prop in DAV:propfind');
}

function depthOf(header: string | undefined): 0 | 1 | 'infinity' {
  if (header === undefined) return 'infinity';
  const h = header.trim().toLowerCase();
  if (h === '0') return 0;
  if (h === '1') return 1;
  if (h === 'infinity') return 'infinity';
  throw new DavError(400, 'Depth must be 0, 1 or infinity');
}

function propstat(props: string, status: string): string {
  return `<D:propstat><D:prop>${props}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;
}

const LOCKDISCOVERY = `${DAV_NS} lockdiscovery`;

function responseFor(
  href: string,
  n: NamespaceNode,
  req: Request,
  dead: DeadProperty[] | undefined,
  quota: Quota | null,
  discovery = '',
): string {
  let ok = '';
  let missing = '';
  if (req.kind === 'propname') {
    for (const key of Object.keys(LIVE)) {
      if (LIVE[key]!.render(n, quota) === null) continue;
      const sp = key.indexOf(' ');
      ok += propElement(key.slice(0, sp), key.slice(sp + 1), null);
    }
    for (const d of dead ?? []) ok += propElement(d.namespace, d.name, null);
  } else {
    const wanted = req.kind === 'prop' ? req.props : req.include;
    const done = new Set<string>();
    if (req.kind === 'allprop') {
      for (const key of ALLPROP_LIVE) {
        const v = key === LOCKDISCOVERY ? discovery : LIVE[key]!.render(n, quota);
        if (v === null) continue;
        const sp = key.indexOf(' ');
        ok += propElement(key.slice(0, sp), key.slice(sp + 1), v);
        done.add(key);
      }
      for (const d of dead ?? []) {
        ok += propElement(d.namespace, d.name, d.value);
        done.add(`${d.namespace} ${d.name}`);
      }
    }
    for (const p of wanted) {
      const key = `${p.ns} ${p.name}`;
      if (done.has(key)) continue;
      done.add(key);
      const live = LIVE[key];
      const v = key === LOCKDISCOVERY ? discovery : live ? live.render(n, quota) : null;
      if (v !== null) {
        ok += propElement(p.ns, p.name, v);
        continue;
      }
      const d = live ? undefined : dead?.find((x) => x.namespace === p.ns && x.name === p.name);
      if (d) ok += propElement(p.ns, p.name, d.value);
      else missing += propElement(p.ns, p.name, null);
    }
  }
  let out = `<D:response><D:href>${esc(href)}</D:href>`;
  if (ok !== '' || missing === '') out += propstat(ok, '200 OK');
  if (missing !== '') out += propstat(missing, '404 Not Found');
  return out + '</D:response>\n';
}

export async function propfind(c: DavContext): Promise<void> {
  const depth = depthOf(header(c.req, 'depth') as string | undefined);
  const req = parseRequest(await readBody(c.req, MAX_XML_BODY));
  const resolved = await c.resolve();
  const { node } = resolved;
  if (!node) throw new DavError(404, 'Not found');

  const max = c.config.dav.propfindMaxEntries;
  let entries: NamespaceNode[];
  let hrefs: string[];
  const selfHref = hrefOf(c.names, node.kind === 'folder', c.config.basePath, c.mount);
  if (depth === 0 || node.kind === 'file') {
    entries = [node];
    hrefs = [selfHref];
  } else if (depth === 1) {
    entries = [node, ...(await c.namespace.children(c.actor, node))];
    hrefs = entries.map((e, i) =>
      i === 0 ? selfHref : selfHref + encodeName(e.name) + (e.kind === 'folder' ? '/' : ''),
    );
  } else {
    const rows = await c.namespace.subtree(c.actor, node, max + 1);
    if (rows.length > max) {
      throw new DavError(403, `Depth: infinity is limited to ${max} entries; use Depth: 1`, 'propfind-finite-depth');
    }
    entries = rows;
    const base = new Map<string, string>([[node.id, selfHref]]);
    hrefs = rows.map((r, i) => {
      if (i === 0) return selfHref;
      const h = base.get(r.parentId!)! + encodeName(r.name) + (r.kind === 'folder' ? '/' : '');
      if (r.kind === 'folder') base.set(r.id, h);
      return h;
    });
  }

  // A single entry's dead properties came with the path (namespace.lookup): no query of their own.
  const needsDead = req.kind !== 'prop' || req.props.some((p) => !LIVE[`${p.ns} ${p.name}`]);
  const dead = !needsDead
    ? new Map<string, DeadProperty[]>()
    : entries.length === 1 && resolved.properties
      ? new Map([[node.id, resolved.properties]])
      : await c.namespace.properties(c.actor, entries);
  const wantsQuota = req.kind !== 'prop' || req.props.some((p) => QUOTA_KEYS.has(`${p.ns} ${p.name}`));
  const quota = wantsQuota ? c.namespace.quota(c.actor) : null;

  const wantsLocks =
    req.kind === 'allprop' || (req.kind === 'prop' && req.props.some((p) => `${p.ns} ${p.name}` === LOCKDISCOVERY));
  const discovery =
    wantsLocks && resolved.ownerHasLocks !== false
      ? await discoveries(c, entries, hrefs, depth, resolved.lockPath)
      : null;

  const res = c.res;
  res.statusCode = 207;
  res.setHeader('Content-Type', XML_CONTENT_TYPE);
  const head = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:" xmlns:oc="${OC_NS}">\n`;
  const tail = '</D:multistatus>\n';
  if (entries.length === 1) {
    // One response: sent whole, with its length (no chunked framing).
    const body = head + responseFor(hrefs[0]!, node, req, dead.get(node.id), quota, discovery?.[0] ?? '') + tail;
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  await write(res, head);
  const BATCH = 250;
  for (let i = 0; i < entries.length; i += BATCH) {
    let chunk = '';
    const end = Math.min(entries.length, i + BATCH);
    for (let j = i; j < end; j++)
      chunk += responseFor(hrefs[j]!, entries[j]!, req, dead.get(entries[j]!.id), quota, discovery?.[j] ?? '');
    await write(res, chunk);
    if (end < entries.length) await yieldLoop(); // let other requests run between batches
  }
  res.end(tail);
}

/** The lockdiscovery value of each entry (one query, and one more for the lock path outside the actor's own tree). */
async function discoveries(
  c: DavContext,
  entries: NamespaceNode[],
  hrefs: string[],
  depth: 0 | 1 | 'infinity',
  known: { ownerId: string; path: string } | undefined,
): Promise<string[] | null> {
  let root: { ownerId: string; path: string };
  try {
    root = known ?? (await c.locks.pathOf(entries[0]!.id));
  } catch {
    return null; // a virtual folder: never locked
  }
  const locks: ActiveLock[] = await c.locks.around(root.ownerId, root.path, entries.length > 1);
  if (locks.length === 0) return null;
  const now = c.locks.now();
  const paths = new Map<string, string>([[entries[0]!.id, root.path]]);
  return entries.map((e, i) => {
    let p: string | undefined;
    if (i === 0) p = root.path;
    else if (depth === 1) p = e.ownerId === root.ownerId ? childPath(root.path, e.name) : undefined;
    else {
      const parent = e.parentId === null ? undefined : paths.get(e.parentId);
      p = parent === undefined || e.ownerId !== root.ownerId ? undefined : childPath(parent, e.name);
    }
    if (p === undefined) return '';
    if (e.kind === 'folder') paths.set(e.id, p);
    return lockDiscoveryXml(
      locks.filter((l) => covers(l, p!)),
      hrefs[i]!,
      p,
      now,
    );
  });
}
