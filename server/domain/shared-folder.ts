/**
 * "Shared with me": a virtual, read-only folder at the top of every user's drive (DESIGN.md §6)
 * that holds the roots of everything shared with them, each under the name it got when it was
 * shared (stable: see share-names.ts). Paths through it resolve to the owners' real nodes, so
 * every rule (access, quota charged to the owner, activity) is the ordinary one.
 */
import { createHash } from 'node:crypto';
import { num, type Q } from '../db/index.js';
import { receivedRoots, type ReceivedRoot } from '../db/repos/shares.js';
import { DomainError } from './errors.js';
import { nameKey } from './names.js';
import type { ChecksummedNode } from '../db/rows.js';
import type { UserRow } from './types.js';

export const SHARED_FOLDER_NAME = 'Shared with me';
export const SHARED_FOLDER_ID = 'virtual:shared-with-me';
const SHARED_KEY = nameKey(SHARED_FOLDER_NAME);

export function isSharedFolderName(name: string): boolean {
  return nameKey(name) === SHARED_KEY;
}

/** The name is reserved at the top of a drive (the virtual folder lives there). */
export function assertNotReserved(parentIsRoot: boolean, name: string): void {
  if (parentIsRoot && isSharedFolderName(name)) {
    throw new DomainError('invalid_name', `"${SHARED_FOLDER_NAME}" is reserved at the top of your drive`);
  }
}

/**
 * The live, unexpired share roots of a user, each under its stable name (share-names.ts): the
 * path `/Shared with me/<name>` is resolved through the stored name only, never through what the
 * owner calls the item today.
 */
export async function sharedRoots(q: Q, userId: string, now: number): Promise<ChecksummedNode[]> {
  return (await receivedRoots(q, userId, now)).map(asSharedRoot);
}

/** A received root as "Shared with me" shows it: under its stable name, inside the virtual folder. */
export function asSharedRoot({ shareName, ...n }: ReceivedRoot): ChecksummedNode {
  return { ...n, name: shareName, parentId: SHARED_FOLDER_ID };
}

/** The virtual folder itself; its ETag changes whenever the set of share roots or one of them changes. */
export function sharedFolderNode(user: UserRow, roots: ChecksummedNode[]): ChecksummedNode {
  const etag = createHash('sha1')
    .update(roots.map((r) => `${r.id}:${r.name}:${r.etag}`).join('|'))
    .digest('hex');
  const modifiedAt = roots.reduce((m, r) => Math.max(m, r.modifiedAt), num(user.createdAt));
  return {
    id: SHARED_FOLDER_ID,
    ownerId: user.id,
    parentId: user.rootId,
    kind: 'folder',
    name: SHARED_FOLDER_NAME,
    size: 0,
    mime: null,
    contentHash: null,
    etag,
    createdAt: user.createdAt,
    modifiedAt,
    deletedAt: null,
    trashRootId: null,
    originalParentId: null,
    sha1: null,
    md5: null,
  };
}
