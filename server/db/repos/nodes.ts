/** SQL for the node tree. Recursive CTEs keep every ancestor/descendant question to one query. */
import { randomUUID } from 'node:crypto';
import { perDialect, type Fragment } from '../dialect.js';
import { num, numOrNull, type Q } from '../index.js';
import type { NodeKind, NodeRow } from '../rows.js';

export const NODE_COLS = `n.id, n.owner_id, n.parent_id, n.kind, n.name, n.name_key, n.size, n.mime, n.content_hash, n.etag,
  n.created_at, n.modified_at, n.deleted_at, n.trash_root_id, n.original_parent_id`;

export interface RawNode {
  id: string;
  owner_id: string;
  parent_id: string | null;
  kind: NodeKind;
  name: string;
  size: unknown;
  mime: string | null;
  content_hash: string | null;
  etag: string;
  created_at: unknown;
  modified_at: unknown;
  deleted_at: unknown;
  trash_root_id: string | null;
  original_parent_id: string | null;
}

export function toNode(r: RawNode): NodeRow {
  return {
    id: r.id,
    ownerId: r.owner_id,
    parentId: r.parent_id,
    kind: r.kind,
    name: r.name,
    size: num(r.size),
    mime: r.mime,
    contentHash: r.content_hash,
    etag: r.etag,
    createdAt: num(r.created_at),
    modifiedAt: num(r.modified_at),
    deletedAt: numOrNull(r.deleted_at),
    trashRootId: r.trash_root_id,
    originalParentId: r.original_parent_id,
  };
}

export async function getLiveNode(q: Q, id: string): Promise<NodeRow | undefined> {
  const r = await q.get<RawNode>(`SELECT ${NODE_COLS} FROM nodes n WHERE n.id = $id AND n.deleted_at IS NULL`, { id });
  return r && toNode(r);
}

export async function getNode(q: Q, id: string): Promise<NodeRow | undefined> {
  const r = await q.get<RawNode>(`SELECT ${NODE_COLS} FROM nodes n WHERE n.id = $id`, { id });
  return r && toNode(r);
}

export async function childByKey(q: Q, parentId: string, key: string): Promise<NodeRow | undefined> {
  const r = await q.get<RawNode>(
    `SELECT ${NODE_COLS} FROM nodes n WHERE n.parent_id = $parentId AND n.name_key = $key AND n.deleted_at IS NULL`,
    { parentId, key },
  );
  return r && toNode(r);
}

export type SortKey = 'name' | 'size' | 'modified';
// By name: natural order (sort_key: f2 before f10; domain/names.ts), then the name key for names it ties.
const ORDER: Record<SortKey, string> = { name: 'n.sort_key', size: 'n.size', modified: 'n.modified_at' };

/** Live children, folders first, then by the sort key (name as the tie-breaker). */
export async function listChildren(
  q: Q,
  parentId: string,
  opts: { sort: SortKey; order: 'asc' | 'desc'; offset: number; limit: number },
): Promise<{ rows: NodeRow[]; total: number }> {
  const dir = opts.order === 'desc' ? 'DESC' : 'ASC';
  const rows = await q.all<RawNode>(
    `SELECT ${NODE_COLS} FROM nodes n WHERE n.parent_id = $parentId AND n.deleted_at IS NULL
     ORDER BY (n.kind = 'folder') DESC, ${ORDER[opts.sort]} ${dir}, n.sort_key ${dir}, n.name_key ${dir}, n.id
     LIMIT $limit OFFSET $offset`,
    { parentId, limit: opts.limit, offset: opts.offset },
  );
  const count = await q.get<{ c: unknown }>(
    'SELECT COUNT(*) AS c FROM nodes WHERE parent_id = $parentId AND deleted_at IS NULL',
    { parentId },
  );
  return { rows: rows.map(toNode), total: num(count?.c) };
}

/** The node and its ancestors, root first. */
export async function ancestry(q: Q, id: string): Promise<NodeRow[]> {
  const rows = await q.all<RawNode & { depth: unknown }>(
    `WITH RECURSIVE anc(id, depth) AS (
       SELECT id, 0 FROM nodes WHERE id = $id
       UNION ALL
       SELECT p.parent_id, anc.depth + 1 FROM anc JOIN nodes p ON p.id = anc.id WHERE p.parent_id IS NOT NULL
     )
     SELECT ${NODE_COLS}, anc.depth FROM anc CROSS JOIN nodes n ON n.id = anc.id ORDER BY anc.depth DESC`,
    { id },
  );
  return rows.map(toNode);
}

/** The ancestors of several nodes (each node included, the owners' roots not), in one recursive query; depth 0 is the node. */
export async function ancestorsOfMany(
  q: Q,
  ids: string[],
): Promise<{ start: string; id: string; name: string; depth: number }[]> {
  if (ids.length === 0) return [];
  const params = Object.fromEntries(ids.map((id, i) => [`f${i}`, id]));
  const rows = await q.all<{ start: string; id: string; name: string; depth: unknown }>(
    // Each step carries the name and the parent it read, so no join back to nodes at the end: on
    // PostgreSQL that join hashed the whole table (46 ms of a search at 100,000 names, bench:scale:pg).
    `WITH RECURSIVE up(start, id, name, parent, depth) AS (
       SELECT id, id, name, parent_id, 0 FROM nodes WHERE id IN (${ids.map((_, i) => `$f${i}`).join(',')})
       UNION ALL
       SELECT up.start, p.id, p.name, p.parent_id, up.depth + 1 FROM up CROSS JOIN nodes p ON p.id = up.parent
     )
     SELECT start, id, name, depth FROM up WHERE parent IS NOT NULL`,
    params,
  );
  return rows.map((r) => ({ start: r.start, id: r.id, name: r.name, depth: num(r.depth) }));
}

/** True when `ancestorId` is `id` or one of its ancestors. */
export async function isSelfOrAncestor(q: Q, ancestorId: string, id: string): Promise<boolean> {
  const r = await q.get(
    `WITH RECURSIVE anc(id) AS (
       SELECT id FROM nodes WHERE id = $id
       UNION ALL
       SELECT p.parent_id FROM anc JOIN nodes p ON p.id = anc.id WHERE p.parent_id IS NOT NULL
     )
     SELECT 1 AS hit FROM anc WHERE id = $ancestorId LIMIT 1`,
    { id, ancestorId },
  );
  return r !== undefined;
}

/** The strongest unexpired user share on the node or any ancestor: 2 = edit, 1 = view, 0 = none. */
export async function inheritedShareLevel(q: Q, id: string, userId: string, now: number): Promise<number> {
  const r = await q.get<{ level: unknown }>(
    `WITH RECURSIVE anc(id) AS (
       SELECT id FROM nodes WHERE id = $id
       UNION ALL
       SELECT p.parent_id FROM anc JOIN nodes p ON p.id = anc.id WHERE p.parent_id IS NOT NULL
     )
     SELECT MAX(CASE s.permission WHEN 'edit' THEN 2 ELSE 1 END) AS level
     FROM anc CROSS JOIN shares s ON s.node_id = anc.id
     WHERE s.kind = 'user' AND s.grantee_id = $userId AND (s.expires_at IS NULL OR s.expires_at > $now)`,
    { id, userId, now },
  );
  return num(r?.level);
}

export interface SubtreeRow extends NodeRow {
  depth: number;
}

/**
 * What finds a node's row again within one statement. SQLite's rowid is one descent of the table's
 * own b-tree; the id is a descent of the id index first, whose pages are as scattered as the ids
 * (random ones were made before ids followed time). Reading a subtree of 1,000 files: 2.3 → 1.2 ms
 * in a store of a million such ids, 1.2 → 0.75 ms in one of 10,000; its copy's INSERT 29 → 26 ms.
 * test/db/query-plans.test.ts checks that each subtree statement joins by it. PostgreSQL has no
 * rowid: the id.
 */
export const rowKey: Fragment = (d) => (d === 'sqlite' ? 'rowid' : 'id');

/**
 * `sub(id, rid, depth)`: the live subtree under the node `param` names (inclusive, depth 0), for a
 * WITH RECURSIVE clause, `rid` each node's row key. The one definition of "a folder and everything
 * in it" for every query.
 */
export const liveSubtreeCte =
  (param: string): Fragment =>
  (d) => `sub(id, rid, depth) AS (
       SELECT id, ${rowKey(d)}, 0 FROM nodes WHERE id = ${param} AND deleted_at IS NULL
       UNION ALL
       SELECT c.id, c.${rowKey(d)}, sub.depth + 1 FROM sub JOIN nodes c ON c.parent_id = sub.id WHERE c.deleted_at IS NULL
     )`;

/** `sub` (liveSubtreeCte) with each of its nodes' rows as `alias`. */
export const subtreeRows =
  (alias: string): Fragment =>
  (d) =>
    `sub CROSS JOIN nodes ${alias} ON ${alias}.${rowKey(d)} = sub.rid`;

const liveSubtreeSql = perDialect(
  (d) => `WITH RECURSIVE ${liveSubtreeCte('$id')(d)}
     SELECT ${NODE_COLS}, sub.depth FROM ${subtreeRows('n')(d)} ORDER BY sub.depth, n.name_key`,
);

/** The live subtree under `id` (inclusive), parents before children. */
export async function liveSubtree(q: Q, id: string): Promise<SubtreeRow[]> {
  const rows = await q.all<RawNode & { depth: unknown }>(liveSubtreeSql(q), { id });
  return rows.map((r) => ({ ...toNode(r), depth: num(r.depth) }));
}

/** Relative paths ("a/b.txt") for a subtree listing, keyed by node id; the root maps to its own name. */
export function relativePaths(rows: SubtreeRow[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const r of rows) {
    const parentPath = r.parentId !== null ? paths.get(r.parentId) : undefined;
    paths.set(r.id, parentPath === undefined ? r.name : `${parentPath}/${r.name}`);
  }
  return paths;
}

/** The node's path from its owner's root ("/a/b.txt"). */
export async function pathOfNode(q: Q, id: string): Promise<string> {
  // Names only, each step carrying its parent: one lookup per level and no join back, where
  // ancestry() reads every column twice (31 µs of each upload's activity entry; ~16 like this).
  const rows = await q.all<{ name: string }>(
    `WITH RECURSIVE up(name, parent, depth) AS (
       SELECT name, parent_id, 0 FROM nodes WHERE id = $id
       UNION ALL
       SELECT n.name, n.parent_id, up.depth + 1 FROM up JOIN nodes n ON n.id = up.parent
     )
     SELECT name FROM up WHERE parent IS NOT NULL ORDER BY depth DESC`,
    { id },
  );
  return '/' + rows.map((r) => r.name).join('/');
}

/** A fresh opaque ETag for a folder (files use their content hash). */
export const newEtag = (): string => randomUUID().replace(/-/g, '');

/**
 * A new node's id: a version 7 UUID (RFC 9562 §5.7), its first 48 bits the time in milliseconds.
 * Nodes are found by id through the primary key's index; with random (version 4) ids each new row
 * landed on a random page of it, so a commit of a hundred new rows dirtied a hundred pages (and
 * wrote them to the WAL), more the larger the drive: a 100-file COPY on a store of a million files
 * took ~11.5 ms, ~8.5 ms with ids that follow one another. The other 74 bits are random.
 */
export function newNodeId(now = Date.now()): string {
  // A version 4 UUID from Node's pooled generator (a fresh randomBytes(16) per id cost an upload ~1%
  // of its CPU), its first 48 bits replaced by the time and its version nibble by 7; the variant bits
  // stay, and 74 of its random bits.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

/** Bumps a folder's ETag and modification time when its direct children change (clients and live views poll it). */
export async function touchFolder(q: Q, folderId: string, now: number): Promise<void> {
  await q.run('UPDATE nodes SET modified_at = $now, etag = $etag WHERE id = $id', {
    id: folderId,
    now,
    etag: newEtag(),
  });
}

/** Who wrote a file's current content (recorded since versions exist; null for older files). */
export async function contentAuthor(
  q: Q,
  id: string,
): Promise<{ by: string | null; byName: string | null; via: string | null }> {
  const r = await q.get<{ content_by: string | null; content_by_name: string | null; content_via: string | null }>(
    'SELECT content_by, content_by_name, content_via FROM nodes WHERE id = $id',
    { id },
  );
  return { by: r?.content_by ?? null, byName: r?.content_by_name ?? null, via: r?.content_via ?? null };
}

/** Points a file node at new content (the caller moves blob references and quota). */
export async function replaceContent(
  tx: Q,
  c: {
    id: string;
    size: number;
    hash: string;
    mime: string | null;
    modifiedAt: number;
    author: { id: string | null; name: string | null; via: string };
  },
): Promise<void> {
  await tx.run(
    `UPDATE nodes SET size = $size, content_hash = $hash, etag = $hash, mime = $mime, modified_at = $mtime,
       content_by = $by, content_by_name = $byName, content_via = $via
     WHERE id = $id`,
    {
      id: c.id,
      size: c.size,
      hash: c.hash,
      mime: c.mime,
      mtime: c.modifiedAt,
      by: c.author.id,
      byName: c.author.name,
      via: c.author.via,
    },
  );
}

/** Inserts a node row (its name key computed by the caller's rules). */
export async function insertNodeRow(
  tx: Q,
  row: NodeRow & { nameKey: string; sortKey: string; author?: { id: string | null; name: string | null; via: string } },
): Promise<void> {
  await tx.run(
    `INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, sort_key, size, mime, content_hash, etag, created_at,
       modified_at, content_by, content_by_name, content_via)
     VALUES ($id, $ownerId, $parentId, $kind, $name, $key, $sortKey, $size, $mime, $hash, $etag, $createdAt, $modifiedAt,
       $by, $byName, $via)`,
    {
      id: row.id,
      ownerId: row.ownerId,
      parentId: row.parentId,
      kind: row.kind,
      name: row.name,
      key: row.nameKey,
      sortKey: row.sortKey,
      size: row.size,
      mime: row.mime,
      hash: row.contentHash,
      etag: row.etag,
      createdAt: row.createdAt,
      modifiedAt: row.modifiedAt,
      by: row.author?.id ?? null,
      byName: row.author?.name ?? null,
      via: row.author?.via ?? null,
    },
  );
}

/** A user's home folder: the root of their tree (no parent, no name). */
export async function insertRootFolder(tx: Q, r: { id: string; ownerId: string; now: number }): Promise<void> {
  await tx.run(
    `INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, sort_key, size, etag, created_at, modified_at)
     VALUES ($rootId, $ownerId, NULL, 'folder', '', '', '', 0, $etag, $now, $now)`,
    { rootId: r.id, ownerId: r.ownerId, etag: newEtag(), now: r.now },
  );
}
