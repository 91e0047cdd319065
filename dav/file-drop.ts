/**
 * A file drop over WebDAV (/public-dav/<token>/ of a link with permission `upload`): PUT of a new
 * file at the top level, and a PROPFIND Depth 0 of the root so that clients can connect; nothing
 * can be listed or read (403 on the root, 404 below it) and nothing else changed (403). The rules —
 * the cap, the renaming of a name already taken — are the domain's (FileDrops). A PUT onto a taken
 * name is stored as "name (1).ext": the answer is 201 Created, as for the name asked, with the
 * stored name's URL in `Location` (RFC 9110 §10.2.2); clients that ignore it are not broken by it.
 */
import type { FileDrops } from '../server/domain/file-drop.js';
import { forbidden } from '../server/domain/errors.js';
import type { DavContext } from './context.js';
import { DavError } from './errors.js';
import { header, readBody, sendContinue } from './http.js';
import { DAV_HEADERS, fail } from './index.js';
import { MAX_XML_BODY } from './context.js';
import { hrefOf } from './paths.js';
import { esc, XML_CONTENT_TYPE } from './xml.js';

export async function dropRequest(c: DavContext, drops: FileDrops): Promise<void> {
  for (const [name, value] of DAV_HEADERS) c.res.setHeader(name, value);
  try {
    if (c.method === 'PUT') return await put(c, drops);
    if (c.method === 'PROPFIND') return await propfindRoot(c);
    if ((c.method === 'GET' || c.method === 'HEAD') && c.names.length > 0) throw new DavError(404, 'Not found');
    throw forbidden('This link only takes new files: it cannot list, read or change anything');
  } catch (err) {
    fail(c.req, c.res, c.method, err, c.log);
  }
}

async function put(c: DavContext, drops: FileDrops): Promise<void> {
  if (c.names.length !== 1) throw forbidden('A file drop takes files at its top level only');
  if (header(c.req, 'content-range')) throw new DavError(400, 'Content-Range on PUT is not supported');
  const length = header(c.req, 'content-length') ?? header(c.req, 'x-expected-entity-length');
  const expectedSize = length !== undefined && /^\d+$/.test(length.trim()) ? Number(length) : null;
  let node;
  try {
    node = await drops.upload(c.actor, c.names[0]!, c.req, {
      expectedSize,
      beforeRead: () => sendContinue(c.req, c.res),
    });
  } catch (err) {
    if (!c.req.complete) c.res.setHeader('Connection', 'close');
    throw err;
  }
  c.res.statusCode = 201;
  c.res.setHeader('Location', hrefOf([node.name], false, c.config.basePath, c.mount));
  c.res.setHeader('Content-Length', 0);
  c.res.end();
}

/** The root alone, as an empty collection: enough for a client to connect before it uploads. */
async function propfindRoot(c: DavContext): Promise<void> {
  await readBody(c.req, MAX_XML_BODY);
  if (c.names.length > 0) throw new DavError(404, 'Not found');
  if ((header(c.req, 'depth') ?? 'infinity').trim() !== '0')
    throw forbidden('This link only takes new files: its folder cannot be listed');
  const href = hrefOf([], true, c.config.basePath, c.mount);
  const body =
    '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:"><D:response>' +
    `<D:href>${esc(href)}</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop>` +
    '<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>\n';
  c.res.statusCode = 207;
  c.res.setHeader('Content-Type', XML_CONTENT_TYPE);
  c.res.setHeader('Content-Length', Buffer.byteLength(body));
  c.res.end(body);
}
