/** The recycle bin: trashed subtrees stay in `nodes` (deleted_at, trash_root_id) and keep counting toward quota. */
import { num, type Q } from '../db/index.js';
import { ancestry, NODE_COLS, pathFromAncestry, toNode, type RawNode } from '../db/repos/nodes.js';
import type { NodeRow } from './types.js';

export interface TrashItem extends NodeRow {
  originalPath: string;
  /** Bytes of every file in the trashed subtree. */
  totalSize: number;
  deletedBy: string | null;
  deletedByName: string | null;
}

export async function listTrash(q: Q, ownerId: string): Promise<TrashItem[]> {
  const rows = await q.all<RawNode & { total: unknown; deleted_by: string | null; deleted_by_name: string | null }>(
    `SELECT ${NODE_COLS}, n.deleted_by, u.username AS deleted_by_name,
       (SELECT COALESCE(SUM(d.size), 0) FROM nodes d WHERE d.trash_root_id = n.id AND d.kind = 'file') AS total
     FROM nodes n LEFT JOIN users u ON u.id = n.deleted_by
     WHERE n.owner_id = $ownerId AND n.deleted_at IS NOT NULL AND n.trash_root_id = n.id
     ORDER BY n.deleted_at DESC`,
    { ownerId },
  );
  const items: TrashItem[] = [];
  for (const r of rows) {
    const node = toNode(r);
    const parentPath = node.originalParentId ? pathFromAncestry(await ancestry(q, node.originalParentId)) : '/';
    items.push({
      ...node,
      originalPath: `${parentPath === '/' ? '' : parentPath}/${node.name}`,
      totalSize: num(r.total),
      deletedBy: r.deleted_by,
      deletedByName: r.deleted_by_name,
    });
  }
  return items;
}

/** Bytes held in the owner's bin (the console shows them beside the quota). */
export async function trashBytes(q: Q, ownerId: string): Promise<number> {
  const r = await q.get<{ b: unknown }>(
    "SELECT COALESCE(SUM(size), 0) AS b FROM nodes WHERE owner_id = $ownerId AND deleted_at IS NOT NULL AND kind = 'file'",
    { ownerId },
  );
  return num(r?.b);
}
