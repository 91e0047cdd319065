/**
 * The transaction bodies of Drive's moves, copies and trashing: each runs inside a transaction the
 * caller opened, so single, bulk and WebDAV (Overwrite) operations share them. Whatever a folder
 * holds, each is a constant number of statements (repos/tree.ts, repos/trash.ts, repos/blobs.ts).
 */
import type { Q } from '../db/index.js';
import { addRefsOfSubtree } from '../db/repos/blobs.js';
import { childByKey, isSelfOrAncestor, newEtag, newNodeId, touchFolder } from '../db/repos/nodes.js';
import { trashSubtree } from '../db/repos/trash.js';
import { copySubtree, placeNode, subtreeFiles } from '../db/repos/tree.js';
import { requireNode, resolveAccess } from './access.js';
import type { Actor } from './actor.js';
import { recordOn } from './activity.js';
import { alreadyExists, DomainError, forbidden } from './errors.js';
import { assertUnlocked } from './locks.js';
import { nameKey, nameKeys, validateName } from './names.js';
import { reserveBytes } from './quota.js';
import { assertNotReserved } from './shared-folder.js';
import { ensureFree, insertNode, mimeOf, parentForChange, pathOf, writableFolder } from './tree-rules.js';
import type { NodeRow, NodeView } from './types.js';
import { authorOf } from './versions.js';

/** Moves and/or renames a node (`newParentId` null: stays; `rawName` null: keeps its name). */
export async function moveIn(
  tx: Q,
  actor: Actor,
  id: string,
  newParentId: string | null,
  rawName: string | null,
  now: number,
): Promise<NodeView> {
  const name = rawName === null ? null : validateName(rawName);
  const { node, access } = await requireNode(tx, actor, id, 'view', now);
  if (node.parentId === null) throw forbidden('Your home folder cannot be renamed or moved');
  const from = await parentForChange(tx, actor, node, now);
  const to =
    newParentId === null || newParentId === node.parentId ? from : await writableFolder(tx, actor, newParentId, now);
  if (to.ownerId !== node.ownerId)
    throw new DomainError('invalid_move', "Items can only be moved within their owner's files");
  if (to.id !== from.id && (await isSelfOrAncestor(tx, node.id, to.id))) {
    throw new DomainError('invalid_move', 'A folder cannot be moved into itself or one of its subfolders');
  }
  const finalName = name ?? node.name;
  assertNotReserved(to.parentId === null, finalName);
  if (to.id === from.id && finalName === node.name) return { ...node, permission: access };
  await assertUnlocked(
    tx,
    actor,
    node.ownerId,
    [
      { nodeId: node.id, recursive: true, membership: true, release: true },
      { parentId: to.id, name: finalName },
    ],
    now,
  );
  // A clash with the node itself is a case-only rename: allowed, it renames in place.
  const clash = await childByKey(tx, to.id, nameKey(finalName));
  if (clash && clash.id !== node.id) throw alreadyExists(finalName, clash.name);
  const mimeType = node.kind === 'file' ? mimeOf(finalName) : null;
  await placeNode(tx, { id, parentId: to.id, name: finalName, ...nameKeys(finalName), mime: mimeType });
  await touchFolder(tx, from.id, now);
  if (to.id !== from.id) await touchFolder(tx, to.id, now);
  const moved = { ...node, parentId: to.id, name: finalName, mime: mimeType };
  await recordOn(tx, actor, moved, to.id === from.id ? 'node.renamed' : 'node.moved', now, {
    from: await pathOf(tx, from.id, node.name),
    ...(node.name !== finalName ? { oldName: node.name } : {}),
  });
  return { ...moved, permission: access };
}

/** Copies a file or a whole folder into `parentId` (metadata only: blobs are shared), charged to the target's owner. */
export async function copyIn(
  tx: Q,
  actor: Actor,
  id: string,
  parentId: string,
  rawName: string | null,
  now: number,
): Promise<NodeView> {
  const { node: source } = await requireNode(tx, actor, id, 'view', now);
  const target = await writableFolder(tx, actor, parentId, now);
  if (source.kind === 'folder' && (await isSelfOrAncestor(tx, source.id, target.id))) {
    throw new DomainError('invalid_move', 'A folder cannot be copied into itself');
  }
  const name = rawName === null ? source.name : validateName(rawName);
  await assertUnlocked(tx, actor, target.ownerId, [{ parentId: target.id, name }], now);
  await ensureFree(tx, target, name);
  const { files, bytes } = await subtreeFiles(tx, source.id);
  await reserveBytes(tx, target.ownerId, bytes);
  const root: NodeRow = {
    id: newNodeId(),
    ownerId: target.ownerId,
    parentId: target.id,
    kind: source.kind,
    name,
    size: source.contentHash ? source.size : 0,
    mime: source.kind === 'file' ? mimeOf(name) : null,
    contentHash: source.contentHash,
    etag: source.contentHash ?? newEtag(),
    createdAt: now,
    modifiedAt: source.modifiedAt,
    deletedAt: null,
    trashRootId: null,
    originalParentId: null,
  };
  // One statement each, whatever the folder holds: the rows, then their blob references.
  await copySubtree(tx, { sourceId: source.id, root: { ...root, ...nameKeys(name) }, author: authorOf(actor) });
  await addRefsOfSubtree(tx, root.id);
  await touchFolder(tx, target.id, now);
  await recordOn(tx, actor, root, 'node.copied', now, { from: await pathOf(tx, source.id), files, bytes });
  return { ...root, permission: await resolveAccess(tx, actor, root, now) };
}

/** A copy of a folder without its members (WebDAV COPY with Depth: 0). */
export async function copyFolderAlone(
  tx: Q,
  actor: Actor,
  source: NodeRow,
  parentId: string,
  rawName: string,
  now: number,
): Promise<NodeView> {
  const target = await writableFolder(tx, actor, parentId, now);
  const name = validateName(rawName);
  await assertUnlocked(tx, actor, target.ownerId, [{ parentId: target.id, name }], now);
  await ensureFree(tx, target, name);
  const row = await insertNode(tx, {
    ownerId: target.ownerId,
    parentId: target.id,
    kind: 'folder',
    name,
    now,
    modifiedAt: source.modifiedAt,
  });
  await touchFolder(tx, target.id, now);
  await recordOn(tx, actor, row, 'node.copied', now, { from: await pathOf(tx, source.id), files: 0, bytes: 0 });
  return { ...row, permission: await resolveAccess(tx, actor, row, now) };
}

/** Moves a node and its subtree to the owner's recycle bin. */
export async function trashIn(tx: Q, actor: Actor, id: string, now: number): Promise<void> {
  const { node } = await requireNode(tx, actor, id, 'view', now);
  if (node.parentId === null) throw forbidden('Your home folder cannot be deleted');
  const parent = await parentForChange(tx, actor, node, now);
  await assertUnlocked(
    tx,
    actor,
    node.ownerId,
    [{ nodeId: node.id, recursive: true, membership: true, release: true }],
    now,
  );
  const path = await pathOf(tx, node.id);
  await trashSubtree(tx, { id, now, by: actor.kind === 'user' ? actor.user.id : null });
  await touchFolder(tx, parent.id, now);
  await recordOn(tx, actor, node, 'node.trashed', now, undefined, path);
}

/**
 * The WebDAV Overwrite rule for a MOVE or COPY onto `name` in `parentId`: an existing target goes
 * to the recycle bin first (true), or precondition_failed without `overwrite`.
 */
export async function clearTarget(
  tx: Q,
  actor: Actor,
  id: string,
  target: { parentId: string; name: string; overwrite: boolean },
  now: number,
): Promise<boolean> {
  const parent = await writableFolder(tx, actor, target.parentId, now);
  const finalName = validateName(target.name);
  const existing = await childByKey(tx, parent.id, nameKey(finalName));
  if (!existing || existing.id === id) return false;
  // Overwrite replaces only the exactly-named target, never a sibling that differs in case.
  if (existing.name !== finalName) throw alreadyExists(finalName, existing.name);
  if (!target.overwrite)
    throw new DomainError('precondition_failed', `"${existing.name}" already exists and Overwrite is F`);
  if (await isSelfOrAncestor(tx, existing.id, id))
    throw new DomainError('invalid_move', 'The target contains the source');
  await trashIn(tx, actor, existing.id, now);
  return true;
}
