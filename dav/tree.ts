/** MKCOL, DELETE (to the recycle bin), COPY and MOVE: each one Drive call. */
import type { DavContext } from './context.js';
import { DavError } from './errors.js';
import { etagList, hasBody, header } from './http.js';
import { destinationNames } from './paths.js';
import { SHARED_FOLDER_ID } from '../server/domain/shared-folder.js';

/** If-Match on a write method that names an existing resource (RFC 9110 §13.1.1). */
function checkIfMatch(c: DavContext, etag: string | null): void {
  const im = etagList(header(c.req, 'if-match'));
  if (im && (etag === null || (!im.includes('*') && !im.includes(etag)))) throw new DavError(412, 'If-Match failed');
}

export async function mkcol(c: DavContext): Promise<void> {
  if (hasBody(c.req)) throw new DavError(415, 'MKCOL with a body is not supported');
  if (c.names.length === 0) throw new DavError(405, 'The root already exists');
  const { node, parent } = await c.resolve();
  if (node) throw new DavError(405, 'Already exists');
  if (!parent || parent.kind !== 'folder') throw new DavError(409, 'The parent collection does not exist');
  await c.drive.createFolder(c.actor, parent.id, c.names[c.names.length - 1]!);
  c.res.statusCode = 201;
  c.res.setHeader('Content-Length', 0);
  c.res.end();
}

export async function remove(c: DavContext): Promise<void> {
  const { node } = await c.resolve();
  if (!node) throw new DavError(404, 'Not found');
  if (node.parentId === null || c.names.length === 0) throw new DavError(403, 'The root cannot be deleted');
  const depth = header(c.req, 'depth');
  if (node.kind === 'folder' && depth !== undefined && depth.trim().toLowerCase() !== 'infinity') {
    throw new DavError(400, 'DELETE on a collection needs Depth: infinity');
  }
  checkIfMatch(c, node.etag);
  await c.drive.trash(c.actor, node.id);
  c.res.statusCode = 204;
  c.res.end();
}

export async function copyOrMove(c: DavContext): Promise<void> {
  const move = c.method === 'MOVE';
  const { node } = await c.resolve();
  if (!node) throw new DavError(404, 'Not found');
  const destNames = destinationNames(header(c.req, 'destination'), {
    host: header(c.req, 'host'),
    publicUrl: c.config.publicUrl,
    basePath: c.config.basePath,
    mount: c.mount,
  });
  const overwriteHeader = (header(c.req, 'overwrite') ?? 'T').trim().toUpperCase();
  if (overwriteHeader !== 'T' && overwriteHeader !== 'F') throw new DavError(400, 'Overwrite must be T or F');
  const overwrite = overwriteHeader === 'T';
  const depthHeader = header(c.req, 'depth')?.trim().toLowerCase();
  if (depthHeader !== undefined && depthHeader !== '0' && depthHeader !== 'infinity')
    throw new DavError(400, 'Depth must be 0 or infinity');
  if (move && node.kind === 'folder' && depthHeader === '0')
    throw new DavError(400, 'MOVE of a collection needs Depth: infinity');
  if (node.parentId === null || c.names.length === 0) throw new DavError(403, 'The root cannot be copied or moved');
  if (destNames.length === 0) throw new DavError(403, 'The destination is the root');
  checkIfMatch(c, node.etag);

  const dest = await c.resolve(destNames);
  if (!dest.parent) throw new DavError(409, 'The destination collection does not exist');
  if (dest.parent.kind !== 'folder') throw new DavError(409, 'The destination parent is not a collection');
  if (dest.node?.id === node.id && (!move || dest.names.at(-1) === node.name))
    throw new DavError(403, 'Source and destination are the same');
  // The destination inside the source (checked on the resolved chain: no query needed).
  if (node.kind === 'folder' && dest.chain.some((n) => n.id === node.id))
    throw new DavError(403, 'The destination is inside the source');
  if (dest.node && dest.node.id !== node.id && !overwrite)
    throw new DavError(412, 'The destination exists and Overwrite is F');

  const name = destNames[destNames.length - 1]!;
  if (
    move &&
    c.names.length === 2 &&
    destNames.length === 2 &&
    (await c.resolve()).parent?.id === SHARED_FOLDER_ID &&
    dest.parent.id === SHARED_FOLDER_ID
  ) {
    // A received share renamed inside "Shared with me": only the grantee's name for it changes.
    await c.sharing.renameReceived(c.actor, node.id, name);
    c.res.statusCode = 201;
    c.res.setHeader('Content-Length', 0);
    return void c.res.end();
  }
  const { replaced } = move
    ? await c.drive.moveReplacing(c.actor, node.id, dest.parent.id, name, overwrite)
    : await c.drive.copyReplacing(c.actor, node.id, dest.parent.id, name, { overwrite, shallow: depthHeader === '0' });
  c.res.statusCode = replaced ? 204 : 201;
  if (!replaced) c.res.setHeader('Content-Length', 0);
  c.res.end();
}
