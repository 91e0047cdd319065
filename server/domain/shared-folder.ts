/**
 * "Shared with me": a virtual, read-only folder at the top of every user's drive (DESIGN.md §6)
 * that holds the roots of everything shared with them. Roots with the same name are told apart by
 * their owner's username ("Plans (alice)"). Paths through it resolve to the owners' real nodes,
 * so every rule (access, quota charged to the owner, activity) is the ordinary one.
 */
import { createHash } from 'node:crypto';
import { num, type Q } from '../db/index.js';
import { NODE_COLS, toNode, type RawNode } from '../db/queries/nodes.js';
import { DomainError } from './errors.js';
import { nameKey } from './names.js';
import type { DavNode } from './paths.js';
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

/** The live, unexpired share roots of a user, named for display (unique within the folder). */
export async function sharedRoots(q: Q, userId: string, now: number): Promise<DavNode[]> {
  const rows = await q.all<RawNode & { owner_name: string; sha1: string | null; md5: string | null }>(
    `SELECT DISTINCT ${NODE_COLS}, o.username AS owner_name, b.sha1, b.md5
     FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id LEFT JOIN blobs b ON b.hash = n.content_hash
     WHERE s.kind = 'user' AND s.grantee_id = $userId AND n.deleted_at IS NULL AND o.disabled = 0
       AND (s.expires_at IS NULL OR s.expires_at > $now)
     ORDER BY n.name_key, o.username, n.created_at`,
    { userId, now },
  );
  // A share inside another share of the same user is reachable through the outer one: list only the outer.
  const nodes = rows.map((r) => ({ ...toNode(r), sha1: r.sha1 ?? null, md5: r.md5 ?? null, owner: r.owner_name }));
  const ids = new Set(nodes.map((n) => n.id));
  const nested = nodes.length > 1 ? await nestedIds(q, [...ids]) : new Set<string>();
  const top = nodes.filter((n) => !nested.has(n.id));
  const byKey = new Map<string, number>();
  for (const n of top) byKey.set(nameKey(n.name), (byKey.get(nameKey(n.name)) ?? 0) + 1);
  const taken = new Set<string>();
  return top.map(({ owner, ...n }) => {
    let name = (byKey.get(nameKey(n.name)) ?? 0) > 1 ? `${n.name} (${owner})` : n.name;
    for (let i = 2; taken.has(nameKey(name)); i++) name = `${n.name} (${owner} ${i})`;
    taken.add(nameKey(name));
    return { ...n, name, parentId: SHARED_FOLDER_ID };
  });
}

/** Ids among `ids` that have another of `ids` as an ancestor. */
async function nestedIds(q: Q, ids: string[]): Promise<Set<string>> {
  const params = Object.fromEntries(ids.map((id, i) => [`s${i}`, id]));
  const list = ids.map((_, i) => `$s${i}`).join(',');
  const rows = await q.all<{ start: string }>(
    `WITH RECURSIVE up(start, id) AS (
       SELECT id, parent_id FROM nodes WHERE id IN (${list})
       UNION ALL
       SELECT up.start, p.parent_id FROM up JOIN nodes p ON p.id = up.id WHERE p.parent_id IS NOT NULL
     )
     SELECT DISTINCT start FROM up WHERE id IN (${list})`,
    params,
  );
  return new Set(rows.map((r) => r.start));
}

/** The virtual folder itself; its ETag changes whenever the set of share roots or one of them changes. */
export function sharedFolderNode(user: UserRow, roots: DavNode[]): DavNode {
  const etag = createHash('sha1').update(roots.map((r) => `${r.id}:${r.name}:${r.etag}`).join('|')).digest('hex');
  const modifiedAt = roots.reduce((m, r) => Math.max(m, r.modifiedAt), num(user.createdAt));
  return {
    id: SHARED_FOLDER_ID, ownerId: user.id, parentId: user.rootId, kind: 'folder', name: SHARED_FOLDER_NAME, size: 0, mime: null,
    contentHash: null, etag, createdAt: user.createdAt, modifiedAt, deletedAt: null, trashRootId: null, originalParentId: null,
    sha1: null, md5: null,
  };
}
