/**
 * Path-addressed reads: a path of name keys walked down from a root, a folder's children and a
 * subtree, each with its files' checksums, in one query each.
 */
import { jsonRowsIndexed, perDialect, type Fragment } from '../dialect.js';
import { num, type Q } from '../index.js';
import type { ChecksummedNode } from '../rows.js';
import { liveSubtreeCte, NODE_COLS, subtreeRows, toNode, type RawNode } from './nodes.js';

export interface ChecksummedSubtreeNode extends ChecksummedNode {
  depth: number;
}

const COLS = `${NODE_COLS}, b.sha1 AS sha1, b.md5 AS md5`;
export type RawChecksummed = RawNode & { sha1: string | null; md5: string | null };
type Raw = RawChecksummed;
export const toChecksummed = (r: Raw): ChecksummedNode => ({ ...toNode(r), sha1: r.sha1 ?? null, md5: r.md5 ?? null });

/** `segs(i, k)` and `walk(id, depth)`: the name keys `$keys` walked down from `$rootId` (for WITH RECURSIVE). */
// CROSS JOIN fixes the order walk → segs → child: the child is then found by (parent, name key) in
// nodes_live_name. Left to itself SQLite 3.52 read the child before the name it must have, so it
// took every live child of the folder (nodes_parent_sort) and kept the one with that name: the cost
// grew with the size of each folder on the path. Resolving /Big/<name> (a home folder of 1,163
// entries, Big of 1,000) took 593 µs, now 56; a WebDAV MOVE within Big 2.9 → 2.1 ms of server CPU.
// test/db/query-plans.test.ts checks the plan.
export const walkCte: Fragment = (d) => `segs(i, k) AS (SELECT j.i, j.value FROM ${jsonRowsIndexed('$keys')(d)} j),
     walk(id, depth) AS (
       SELECT id, 0 FROM nodes WHERE id = $rootId AND deleted_at IS NULL
       UNION ALL
       SELECT c.id, walk.depth + 1 FROM walk CROSS JOIN segs ON segs.i = walk.depth
         CROSS JOIN nodes c ON c.parent_id = walk.id AND c.name_key = segs.k AND c.deleted_at IS NULL
     )`;

// CROSS JOIN fixes the join order (SQLite honours it): left to itself, SQLite 3.52 scans every node
// and probes the walk with an automatic index, which made each request O(nodes) — 35 ms at 200k.
const walkSql = perDialect(
  (d) => `WITH RECURSIVE ${walkCte(d)}
     SELECT ${COLS}, walk.depth FROM walk CROSS JOIN nodes n ON n.id = walk.id
       LEFT JOIN blobs b ON b.hash = n.content_hash
     ORDER BY walk.depth`,
);

/**
 * Walks name keys down from `rootId` in one recursive query: the chain of live nodes that exist,
 * root first (`chain.length === nameKeys.length + 1` when the whole path exists).
 */
export async function walkKeys(q: Q, rootId: string, nameKeys: string[]): Promise<ChecksummedNode[]> {
  const rows = await q.all<Raw & { depth: unknown }>(walkSql(q), { rootId, keys: JSON.stringify(nameKeys) });
  return rows.map(toChecksummed);
}

/** The live children of a folder with their checksums, in name order. */
export async function checksummedChildren(q: Q, folderId: string): Promise<ChecksummedNode[]> {
  const rows = await q.all<Raw>(
    `SELECT ${COLS} FROM nodes n LEFT JOIN blobs b ON b.hash = n.content_hash
     WHERE n.parent_id = $folderId AND n.deleted_at IS NULL ORDER BY n.name_key`,
    { folderId },
  );
  return rows.map(toChecksummed);
}

const checksummedSubtreeSql = perDialect(
  (d) => `WITH RECURSIVE ${liveSubtreeCte('$id')(d)}
     SELECT ${COLS}, sub.depth FROM ${subtreeRows('n')(d)} LEFT JOIN blobs b ON b.hash = n.content_hash
     ORDER BY sub.depth, n.name_key LIMIT $limit`,
);

/** The live subtree under `id` (inclusive) with checksums, parents before children, at most `limit` rows. */
export async function checksummedSubtree(q: Q, id: string, limit: number): Promise<ChecksummedSubtreeNode[]> {
  const rows = await q.all<Raw & { depth: unknown }>(checksummedSubtreeSql(q), { id, limit });
  return rows.map((r) => ({ ...toChecksummed(r), depth: num(r.depth) }));
}
