/**
 * The checks and small steps every tree mutation shares: where a node may be added, who may change
 * a node's place, a free name, a new row. Drive, its uploads and its transaction bodies use them.
 */
import mime from 'mime-types';
import type { Q } from '../db/index.js';
import { childByKey, getLiveNode, insertNodeRow, newEtag, newNodeId, pathOfNode } from '../db/repos/nodes.js';
import { atLeast, requireNode, resolveAccess } from './access.js';
import type { Actor } from './actor.js';
import { alreadyExists, DomainError, forbidden } from './errors.js';
import { nameKey, nameKeys } from './names.js';
import { assertNotReserved } from './shared-folder.js';
import type { NodeRow } from './types.js';
import type { Author } from './versions.js';

/** A live folder the actor may add to; an invisible folder is not_found, like any other node. */
export async function writableFolder(q: Q, actor: Actor, id: string, now: number): Promise<NodeRow> {
  const { node, access } = await requireNode(q, actor, id, 'view', now);
  if (node.kind !== 'folder') throw new DomainError('not_a_folder', `"${node.name}" is not a folder`);
  if (!atLeast(access, 'edit')) throw forbidden('You need edit access to this folder');
  return node;
}

/** Renaming, moving or trashing needs edit on the parent (so a share's root is not changeable by its grantees). */
export async function parentForChange(q: Q, actor: Actor, node: NodeRow, now: number): Promise<NodeRow> {
  const parent = await getLiveNode(q, node.parentId!);
  if (!parent || !atLeast(await resolveAccess(q, actor, parent, now), 'edit')) {
    throw forbidden('You need edit access to the folder that holds this item');
  }
  return parent;
}

/** The name is free in the folder (case-insensitively) and not reserved there. */
export async function ensureFree(q: Q, parent: NodeRow, name: string): Promise<void> {
  assertNotReserved(parent.parentId === null, name);
  const clash = await childByKey(q, parent.id, nameKey(name));
  if (clash) throw alreadyExists(name, clash.name);
}

export function mimeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

/** A node's path from its owner's root, or the path of a child of it called `childName`. */
export async function pathOf(q: Q, id: string, childName?: string): Promise<string> {
  const p = await pathOfNode(q, id);
  return childName === undefined ? p : `${p === '/' ? '' : p}/${childName}`;
}

export async function insertNode(
  tx: Q,
  n: {
    ownerId: string;
    parentId: string | null;
    kind: 'file' | 'folder';
    name: string;
    now: number;
    modifiedAt?: number;
    blob?: { hash: string; size: number };
    author?: Author;
  },
): Promise<NodeRow> {
  const row: NodeRow = {
    id: newNodeId(),
    ownerId: n.ownerId,
    parentId: n.parentId,
    kind: n.kind,
    name: n.name,
    size: n.blob?.size ?? 0,
    mime: n.kind === 'file' ? mimeOf(n.name) : null,
    contentHash: n.blob?.hash ?? null,
    etag: n.blob?.hash ?? newEtag(),
    createdAt: n.now,
    modifiedAt: n.modifiedAt ?? n.now,
    deletedAt: null,
    trashRootId: null,
    originalParentId: null,
  };
  await insertNodeRow(tx, { ...row, ...nameKeys(row.name), author: n.kind === 'file' ? n.author : undefined });
  return row;
}
