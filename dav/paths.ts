/**
 * Request URLs ↔ names under a mount, and correctly percent-encoded hrefs. The mount is /dav (the
 * user's root) or /public-dav/<token> (a link's node: dav/public.ts); every path of either goes
 * through these functions.
 */
import { DavError } from './errors.js';
import { normalHost } from './http.js';

export const MOUNT = '/dav';

/**
 * The names of a request path under /dav ("/dav/a%20b/c" → ["a b", "c"]). The query is dropped,
 * empty segments ignored. Malformed %-escapes or invalid UTF-8 → 400. Decoded names are
 * only ever looked up in the node tree, so "..%2f" is just a name that does not exist.
 */
export function namesOf(rawPath: string, mount = MOUNT): string[] {
  let p = rawPath;
  const cut = p.indexOf('?');
  if (cut >= 0) p = p.slice(0, cut);
  // A fragment never belongs in a request line: refuse rather than act on a truncated path.
  if (p.includes('#')) throw new DavError(400, 'A request URL cannot contain "#"');
  if (p !== mount && !p.startsWith(mount + '/')) throw new DavError(404, 'Not under ' + mount);
  const names: string[] = [];
  for (const seg of p.slice(mount.length).split('/')) {
    if (seg === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(seg);
    } catch {
      throw new DavError(400, 'Malformed percent-encoding in the URL');
    }
    names.push(name);
  }
  return names;
}

/** What names this server in a URL: the request's Host, the configured public URL, and BASE_PATH. */
export interface ThisServer {
  host: string | undefined;
  publicUrl: { origin: string; host: string } | undefined;
  basePath: string;
  /** The request's mount (default /dav): a Destination elsewhere — another link, /dav/ — is not on this share (502). */
  mount?: string;
}

/**
 * The path part of a Destination header (absolute URI or absolute path), as names under /dav.
 * An absolute URI must name this server (its Host, or PUBLIC_URL behind a proxy that rewrites Host):
 * a COPY/MOVE to another server is 502 (RFC 4918 §9.8.4, §9.9.4), never a local write.
 */
export function destinationNames(header: string | undefined, here: ThisServer): string[] {
  if (!header) throw new DavError(400, 'Destination header missing');
  let p = header.trim();
  if (!p.startsWith('/')) {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new DavError(400, 'Malformed Destination header');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DavError(400, 'Unsupported Destination scheme');
    if (u.host !== normalHost(here.host, u.protocol) && u.host !== here.publicUrl?.host)
      throw new DavError(502, 'The Destination names another server');
    p = u.pathname;
  }
  try {
    if (here.basePath) {
      if (!p.startsWith(here.basePath + '/')) throw new DavError(404, 'Not under ' + here.basePath);
      p = p.slice(here.basePath.length);
    }
    return namesOf(p, here.mount);
  } catch (err) {
    if (err instanceof DavError && err.status === 404)
      throw new DavError(502, 'Destination is not on this WebDAV share');
    throw err;
  }
}

/** encodeURIComponent plus the characters it leaves alone that some clients choke on. */
export function encodeName(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * "/dav/a%20b/c" (a collection gets a trailing slash), under BASE_PATH ("/coffer/dav/a%20b/c"). The
 * mount itself is a collection, but for a link to a single file ("/public-dav/<token>").
 */
export function hrefOf(names: readonly string[], collection: boolean, basePath: string, mount = MOUNT): string {
  let h = basePath + mount + '/';
  for (const n of names) h += encodeName(n) + '/';
  return collection || (names.length === 0 && mount === MOUNT) ? h : h.slice(0, -1);
}
