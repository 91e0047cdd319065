/**
 * Writes that place nodes in the tree: a whole subtree copied in one INSERT … SELECT, a node moved
 * or renamed, a modification time set. However many nodes a folder holds, each is one statement.
 */
import { perDialect, randomEtag, timeOrderedUuid } from '../dialect.js';
import { num, type Q } from '../index.js';
import type { NodeRow } from '../rows.js';
import { liveSubtreeCte, rowKey, subtreeRows } from './nodes.js';

const subtreeFilesSql = perDialect(
  (d) => `WITH RECURSIVE ${liveSubtreeCte('$id')(d)}
     SELECT COUNT(CASE WHEN n.kind = 'file' THEN 1 END) AS files,
       COALESCE(SUM(CASE WHEN n.kind = 'file' THEN n.size ELSE 0 END), 0) AS bytes
     FROM ${subtreeRows('n')(d)}`,
);

/** How many files the live subtree under `id` (inclusive) holds, and their bytes. */
export async function subtreeFiles(q: Q, id: string): Promise<{ files: number; bytes: number }> {
  const r = await q.get<{ files: unknown; bytes: unknown }>(subtreeFilesSql(q), { id });
  return { files: num(r?.files), bytes: num(r?.bytes) };
}

// The walk carries each copied node's new id down to its children (`new_parent`): a row of a
// recursive CTE is computed once, so the id a child points to is the id its parent is given.
// The root's id, name, type and ETag come from the caller; every other row keeps its name, type
// and modification time and gets a new id (and a new ETag if it is a folder).
const copySql = perDialect(
  (d) => `WITH RECURSIVE copy(id, rid, new_id, new_parent, depth) AS (
       SELECT id, ${rowKey(d)}, $rootId, $parentId, 0 FROM nodes WHERE id = $sourceId AND deleted_at IS NULL
       UNION ALL
       SELECT c.id, c.${rowKey(d)}, ${timeOrderedUuid(d)}, copy.new_id, copy.depth + 1
       FROM copy JOIN nodes c ON c.parent_id = copy.id WHERE c.deleted_at IS NULL
     )
     INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, sort_key, size, mime, content_hash, etag,
       created_at, modified_at, content_by, content_by_name, content_via)
     SELECT copy.new_id, $ownerId, copy.new_parent, n.kind,
       CASE WHEN copy.depth = 0 THEN $name ELSE n.name END,
       CASE WHEN copy.depth = 0 THEN $nameKey ELSE n.name_key END,
       CASE WHEN copy.depth = 0 THEN $sortKey ELSE n.sort_key END,
       CASE WHEN n.content_hash IS NULL THEN 0 ELSE n.size END,
       CASE WHEN copy.depth = 0 THEN $mime ELSE n.mime END,
       n.content_hash,
       CASE WHEN copy.depth = 0 THEN $etag ELSE COALESCE(n.content_hash, ${randomEtag(d)}) END,
       $now, n.modified_at,
       CASE WHEN n.kind = 'file' THEN $by END, CASE WHEN n.kind = 'file' THEN $byName END,
       CASE WHEN n.kind = 'file' THEN $via END
     FROM copy CROSS JOIN nodes n ON n.${rowKey(d)} = copy.rid
     ORDER BY copy.depth`,
);

/**
 * Copies the live subtree under `sourceId` (inclusive) as `root`, in one statement: files keep
 * their content (blob references are the caller's: addRefsOfSubtree), `author` becomes the writer
 * of every copied file's content.
 */
export async function copySubtree(
  tx: Q,
  c: {
    sourceId: string;
    root: Pick<NodeRow, 'id' | 'ownerId' | 'parentId' | 'name' | 'mime' | 'etag' | 'createdAt'> & {
      nameKey: string;
      sortKey: string;
    };
    author: { id: string | null; name: string | null; via: string };
  },
): Promise<void> {
  await tx.run(copySql(tx), {
    sourceId: c.sourceId,
    rootId: c.root.id,
    parentId: c.root.parentId,
    ownerId: c.root.ownerId,
    name: c.root.name,
    nameKey: c.root.nameKey,
    sortKey: c.root.sortKey,
    mime: c.root.mime,
    etag: c.root.etag,
    now: c.root.createdAt,
    by: c.author.id,
    byName: c.author.name,
    via: c.author.via,
  });
}

/** Puts a node under `parentId` as `name` (a move, a rename, or both); its subtree follows. */
export async function placeNode(
  tx: Q,
  p: { id: string; parentId: string; name: string; nameKey: string; sortKey: string; mime: string | null },
): Promise<void> {
  await tx.run(
    'UPDATE nodes SET parent_id = $p, name = $name, name_key = $key, sort_key = $sortKey, mime = $mime WHERE id = $id',
    { id: p.id, p: p.parentId, name: p.name, key: p.nameKey, sortKey: p.sortKey, mime: p.mime },
  );
}

export async function setModifiedAt(tx: Q, id: string, modifiedAt: number): Promise<void> {
  await tx.run('UPDATE nodes SET modified_at = $m WHERE id = $id', { id, m: modifiedAt });
}
