/**
 * Public links over WebDAV: /public-dav/<token>/ serves a link's folder (or its one file) with the
 * link's permission, to anyone holding the token. Any username; the link's password, if it has
 * one, is the Basic password (checked, throttled and cached by Links.open). The names of the path
 * are resolved under the link's node only (Namespace.resolve for a link actor) with the same path
 * and name handling as /dav/ (paths.ts), so nothing above the link can be named: "..", "%2F" and a
 * Destination under another mount are names that do not exist or a 502. A view link is read-only
 * (403 on every other method, LOCK included); an edit link may change what lies below its node; a
 * file drop (permission `upload`) only takes new files (file-drop.ts). Everything the domain does
 * for a visitor is logged `via: link` in the owner's activity.
 */
import { forbidden, notFound } from '../server/domain/errors.js';
import type { Links } from '../server/domain/links.js';
import type { FileDrops } from '../server/domain/file-drop.js';
import { makePlainResolver, type DavDeps } from './context.js';
import { DavError } from './errors.js';
import { dropRequest } from './file-drop.js';
import { header, sendContinue } from './http.js';
import { dispatch, READ_ONLY_METHODS, serveDav, type DavRequestHandler } from './index.js';
import { namesOf } from './paths.js';

export const PUBLIC_MOUNT = '/public-dav';

/** The same shape as the public API's link tokens (server/api/routes/public.ts). */
const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

/** The Basic password of an Authorization header (any username); null when there is none. */
export function basicPassword(value: string | undefined): string | null {
  const m = value === undefined ? null : /^\s*basic\s+(\S+)\s*$/i.exec(value);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** The token and the mount of a /public-dav/<token>/… URL; not_found for anything else. */
function mountOf(url: string): { token: string; mount: string } {
  const rest = url.slice(PUBLIC_MOUNT.length + 1);
  const token = rest.split(/[/?#]/, 1)[0]!;
  if (!url.startsWith(PUBLIC_MOUNT + '/') || !TOKEN.test(token)) throw new DavError(404, 'No such link');
  return { token, mount: `${PUBLIC_MOUNT}/${token}` };
}

export function createPublicDavHandler(deps: DavDeps & { links: Links; fileDrops: FileDrops }): DavRequestHandler {
  return serveDav(deps, 'link', async (r) => {
    const { req, res, method } = r;
    const { token, mount } = mountOf(req.url ?? '/');
    const names = namesOf(req.url ?? '/', mount);
    const { actor } = await deps.links.open(token, { password: basicPassword(header(req, 'authorization')) }, r.origin);
    if (actor.kind !== 'link') throw notFound('Link');
    const { permission } = actor.share;
    if (permission === 'view' && !READ_ONLY_METHODS.has(method))
      throw forbidden('This link is read-only: it can list and download, not change anything');
    if (method !== 'PUT') sendContinue(req, res);
    r.actor = actor;
    r.names = names;
    r.mount = mount;
    r.resolve = makePlainResolver(deps.namespace, actor, names);
    return permission === 'upload' ? dropRequest(r, deps.fileDrops) : dispatch(r);
  });
}
