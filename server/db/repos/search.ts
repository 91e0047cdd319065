/**
 * Name search over what a user can see — their own nodes and the subtrees of unexpired shares with
 * them — in three bounded passes (exact name, prefix, substring), so the cost follows the limit,
 * not the number of files. On SQLite, substrings of three or more characters go through the FTS5
 * trigram index (and its backlog of names not indexed yet), shorter ones through LIKE; on PostgreSQL
 * every substring is a LIKE, which the pg_trgm index serves from three characters on.
 */
import { dialectOf, unindexed, type Dialect } from '../dialect.js';
import { SCAN, type Q } from '../index.js';
import type { NodeRow } from '../rows.js';
import { NODE_COLS, toNode, type RawNode } from './nodes.js';

export interface SearchFilter {
  userId: string;
  now: number;
  /** The name key searched for (NFC, lower case). */
  key: string;
  kind?: 'file' | 'folder';
  minSize?: number;
  maxSize?: number;
  modifiedAfter?: number;
  /** Something is shared with the user: look inside those subtrees too. */
  withShared: boolean;
}

export interface SearchRow extends NodeRow {
  nameKey: string;
  ownerName: string;
  /** 'owner', or the strongest permission a share gives on the node. */
  access: string | null;
}

type Raw = RawNode & { access: string | null; owner_name: string; name_key: string };

export type SearchPass = 'exact' | 'prefix' | 'substring';

function statement(d: Dialect, f: SearchFilter, pass: SearchPass, useFts: boolean): string {
  // The name indexes must drive, not (owner_id, deleted_at).
  const filters: string[] = [`${unindexed(d, 'n.deleted_at')} IS NULL`, 'n.parent_id IS NOT NULL'];
  if (f.kind) filters.push('n.kind = $kind');
  if (f.minSize !== undefined) filters.push('n.size >= $minSize');
  if (f.maxSize !== undefined) filters.push('n.size <= $maxSize');
  if (f.modifiedAfter !== undefined) filters.push('n.modified_at > $modifiedAfter');
  const own = `${unindexed(d, 'n.owner_id')} = $me`;
  const sharedCte = !f.withShared
    ? ''
    : `WITH RECURSIVE shared(id, permission) AS (
      SELECT s.node_id, MAX(s.permission) FROM shares s WHERE s.kind = 'user' AND s.grantee_id = $me AND (s.expires_at IS NULL OR s.expires_at > $now) GROUP BY s.node_id
      UNION
      SELECT c.id, shared.permission FROM shared JOIN nodes c ON c.parent_id = shared.id WHERE c.deleted_at IS NULL
    ) `;
  const visible = f.withShared ? `(${own} OR n.id IN (SELECT id FROM shared))` : own;
  const access = f.withShared
    ? "CASE WHEN n.owner_id = $me THEN 'owner' ELSE (SELECT MAX(permission) FROM shared WHERE shared.id = n.id) END"
    : "'owner'";
  const where = [...filters, visible].join(' AND ');
  const select = (from: string, extra: string, order: string) =>
    d === 'postgres' && f.withShared
      ? splitByOwner(sharedCte, filters, access, extra, order)
      : `${sharedCte}SELECT ${NODE_COLS}, u.username AS owner_name, ${access} AS access FROM ${from} JOIN users u ON u.id = n.owner_id
     WHERE ${where} AND ${extra} ${order} LIMIT $limit`;
  if (pass === 'exact') return select('nodes n', 'n.name_key = $key', 'ORDER BY n.name_key');
  if (pass === 'prefix') return select('nodes n', 'n.name_key > $key AND n.name_key < $keyEnd', 'ORDER BY n.name_key');
  // PostgreSQL: the pg_trgm index (002-search.ts) answers LIKE '%…%' itself, from three characters on.
  if (!useFts || d === 'postgres') return select('nodes n', "n.name_key LIKE $like ESCAPE '\\'", '');
  // The index covers the rows up to the mark; the backlog above it (at most a few seconds of new
  // names, 021-search-backlog.ts) is read as it is. LIKE checks both: trigrams only narrow.
  return select(
    `(SELECT rowid AS r FROM nodes_fts WHERE nodes_fts MATCH $match
      UNION ALL SELECT rowid FROM nodes WHERE rowid > ${INDEXED_TO}) f CROSS JOIN nodes n ON n.rowid = f.r`,
    "n.name_key LIKE $like ESCAPE '\\'",
    '',
  );
}

const INDEXED_TO = '(SELECT indexed_to FROM search_mark WHERE id = 1)';

/**
 * SQLite: adds up to `limit` names of the backlog (the rows above the mark, oldest first) to the
 * FTS5 index as one segment and moves the mark past them; answers how many it added. Run inside a
 * write transaction, which keeps the mark and the index in step. PostgreSQL has no backlog: 0.
 */
export async function indexSearchBacklog(q: Q, limit: number): Promise<number> {
  if (dialectOf(q) !== 'sqlite') return 0;
  const next = await q.get<{ upto: unknown; n: unknown }>(
    `SELECT MAX(rowid) AS upto, COUNT(*) AS n FROM (SELECT rowid FROM nodes WHERE rowid > ${INDEXED_TO} ORDER BY rowid LIMIT $limit)`,
    { limit },
  );
  const n = Number(next?.n ?? 0);
  if (n === 0) return 0;
  const upto = Number(next!.upto);
  await q.run(
    `INSERT INTO nodes_fts (rowid, name_key) SELECT rowid, name_key FROM nodes WHERE rowid > ${INDEXED_TO} AND rowid <= $upto`,
    { upto },
  );
  await q.run('UPDATE search_mark SET indexed_to = $upto WHERE id = 1', { upto });
  return n;
}

/** SQLite: whether rows wait above the mark (a read, no transaction needed). */
export async function hasSearchBacklog(q: Q): Promise<boolean> {
  if (dialectOf(q) !== 'sqlite') return false;
  const row = await q.get<{ waiting: unknown }>(
    `SELECT EXISTS (SELECT 1 FROM nodes WHERE rowid > ${INDEXED_TO}) AS waiting`,
  );
  return Number(row?.waiting ?? 0) === 1;
}

/**
 * PostgreSQL, for a user others share with: the user's own matches and those in shared subtrees as
 * two queries, each bounded by the limit. Asked together ("owner is me OR the node is shared"), the
 * planner cannot use the owner-led trigram index and reads every owner's matches: a common word
 * took 33 ms at a million names (bench:scale:pg), each half alone a few.
 */
function splitByOwner(sharedCte: string, filters: string[], access: string, extra: string, order: string): string {
  const branch = (visible: string) =>
    `(SELECT ${NODE_COLS}, ${access} AS access FROM nodes n
      WHERE ${[...filters, visible].join(' AND ')} AND ${extra} ${order} LIMIT $limit)`;
  return `${sharedCte}SELECT n.*, u.username AS owner_name FROM (
       ${branch('n.owner_id = $me')}
       UNION ALL
       ${branch('n.owner_id <> $me AND n.id IN (SELECT id FROM shared)')}
     ) n JOIN users u ON u.id = n.owner_id ${order} LIMIT $limit`;
}

/** One pass of the search, at most `limit` rows (in name order for exact and prefix, unordered for substring). */
export async function searchNames(q: Q, f: SearchFilter, pass: SearchPass, limit: number): Promise<SearchRow[]> {
  const useFts = [...f.key].length >= 3;
  const sql = statement(dialectOf(q), f, pass, useFts);
  const params: Record<string, unknown> = {
    me: f.userId,
    now: f.now,
    key: f.key,
    keyEnd: `${f.key}\u{10FFFF}`,
    like: `%${f.key.replace(/[\\%_]/g, '\\$&')}%`,
    match: `"${f.key.replace(/"/g, '""')}"`,
    kind: f.kind,
    minSize: f.minSize,
    maxSize: f.maxSize,
    modifiedAfter: f.modifiedAfter,
    limit,
  };
  // SQLite refuses bind parameters that a statement does not use: pass each query its own.
  const used = Object.fromEntries(Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql)));
  const rows = await q.all<Raw>(sql, used, SCAN);
  return rows.map((r) => ({ ...toNode(r), nameKey: r.name_key, ownerName: r.owner_name, access: r.access }));
}
