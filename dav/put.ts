/**
 * PUT: streamed into the blob store by Drive.upload (temp file + fsync, committed in one
 * transaction), so an aborted or over-quota upload leaves nothing behind and never touches the
 * current content.
 */
import { DomainError } from '../server/domain/errors.js';
import type { DavContext } from './context.js';
import { DavError } from './errors.js';
import { etagList, sendContinue, header } from './http.js';

export async function put(c: DavContext): Promise<void> {
  const { names, req, res } = c;
  if (names.length === 0) throw new DavError(405, 'The root is a collection');
  const { node, parent } = await c.resolve();
  if (!parent) throw new DavError(409, 'The parent collection does not exist');
  if (parent.kind !== 'folder') throw new DavError(409, 'The parent is not a collection');
  if (node?.kind === 'folder') throw new DavError(405, 'Cannot PUT onto a collection');
  if (header(req, 'content-range')) throw new DavError(400, 'Content-Range on PUT is not supported');

  // If-Match / If-None-Match (unknown tags simply do not match).
  let ifMatch: string | null | undefined;
  const im = etagList(header(req, 'if-match'));
  if (im) {
    if (!node || (!im.includes('*') && !im.includes(node.etag))) throw new DavError(412, 'If-Match failed');
    ifMatch = node.etag;
  }
  const inm = etagList(header(req, 'if-none-match'));
  if (inm) {
    if (inm.includes('*')) ifMatch = null;
    else if (node && inm.includes(node.etag)) throw new DavError(412, 'If-None-Match failed');
  }

  const lengthHeader = header(req, 'content-length') ?? header(req, 'x-expected-entity-length');
  const expected =
    lengthHeader !== undefined && /^\d+$/.test(String(lengthHeader).trim()) ? Number(lengthHeader) : null;
  const mtimeHeader = header(req, 'x-oc-mtime');
  const mtime =
    mtimeHeader !== undefined && /^\d+(\.\d+)?$/.test(String(mtimeHeader).trim())
      ? Math.round(Number(mtimeHeader) * 1000)
      : undefined;

  let result;
  try {
    result = await c.drive.upload(c.actor, parent.id, names[names.length - 1]!, req, {
      expectedSize: expected,
      overwrite: true,
      modifiedAt: mtime,
      ifMatch,
      beforeRead: () => sendContinue(req, res),
    });
  } catch (err) {
    // The body may be unread (refused up front): do not keep the connection for it.
    if (!req.complete) res.setHeader('Connection', 'close');
    // PUT onto a collection: 405 (a case-only clash with a sibling is a 409: dav/errors.ts).
    if (err instanceof DomainError && err.code === 'already_exists' && err.details?.existing === undefined)
      throw new DavError(405, err.message);
    throw err;
  }
  if (mtime !== undefined) res.setHeader('X-OC-Mtime', 'accepted');
  res.setHeader('ETag', `"${result.node.etag}"`);
  res.setHeader('OC-ETag', `"${result.node.etag}"`);
  res.setHeader('OC-FileId', result.node.id);
  res.statusCode = result.created ? 201 : 204;
  if (result.created) res.setHeader('Content-Length', 0);
  res.end();
}
