/**
 * Name search over the actor's own files and everything shared with them: substring,
 * case-insensitive, ranked (exact, then prefix, then the rest), trashed items excluded.
 * Uses the FTS5 trigram index for 3+ characters, so it stays fast at a million files.
 */
import { num, type Db } from '../db/index.js';
import { NODE_COLS, toNode, type RawNode } from '../db/queries/nodes.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput } from './errors.js';
import { nameKey } from './names.js';
import type { NodeView } from './types.js';

export interface SearchQuery {
  q: string;
  kind?: 'file' | 'folder';
  minSize?: number;
  maxSize?: number;
  modifiedAfter?: number;
  limit?: number;
}

export interface SearchHit extends NodeView {
  /** "/Projects/2026" — the folder that holds the hit, from the owner's root (or the share's root for shared items). */
  folderPath: string;
  ownerName: string;
}

/**
 * Three bounded passes, so the cost follows `limit`, not the number of files: exact names and
 * prefixes through the name_key index, then substrings through the trigram index (or LIKE for
 * one- and two-character queries). Each pass only looks at nodes the actor can see: their own,
 * and the subtrees of unexpired shares with them.
 */
export async function searchNodes(db: Db, clock: Clock, actor: Actor, query: SearchQuery): Promise<SearchHit[]> {
  if (actor.kind !== 'user') throw forbidden('Sign in to search');
  const key = nameKey(query.q.trim());
  if (key.length === 0) throw invalidInput('Type something to search for', { field: 'q' });
  if (key.length > 255) throw invalidInput('The search text is too long', { field: 'q' });
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const escaped = key.replace(/[\\%_]/g, '\\$&');
  const params: Record<string, unknown> = { me: actor.user.id, now: clock.now(), key, keyEnd: `${key}\u{10FFFF}`, like: `%${escaped}%`, limit };
  // Unary + keeps SQLite from walking every node of the owner through (owner_id, deleted_at): the name indexes must drive.
  const filters: string[] = ['+n.deleted_at IS NULL', 'n.parent_id IS NOT NULL'];
  if (query.kind) { filters.push('n.kind = $kind'); params.kind = query.kind; }
  if (query.minSize !== undefined) { filters.push('n.size >= $minSize'); params.minSize = query.minSize; }
  if (query.maxSize !== undefined) { filters.push('n.size <= $maxSize'); params.maxSize = query.maxSize; }
  if (query.modifiedAfter !== undefined) { filters.push('n.modified_at > $modifiedAfter'); params.modifiedAfter = query.modifiedAfter; }

  const granted = await db.all<{ root_id: string; permission: 'view' | 'edit' }>(
    `SELECT s.node_id AS root_id, MAX(s.permission) AS permission FROM shares s JOIN nodes r ON r.id = s.node_id
     WHERE s.kind = 'user' AND s.grantee_id = $me AND (s.expires_at IS NULL OR s.expires_at > $now) AND r.deleted_at IS NULL
     GROUP BY s.node_id`,
    { me: actor.user.id, now: params.now },
  );
  // Shared subtrees (only computed when something is shared with the actor).
  const sharedCte = granted.length === 0 ? '' : `WITH RECURSIVE shared(id, permission) AS (
      SELECT s.node_id, MAX(s.permission) FROM shares s WHERE s.kind = 'user' AND s.grantee_id = $me AND (s.expires_at IS NULL OR s.expires_at > $now) GROUP BY s.node_id
      UNION
      SELECT c.id, shared.permission FROM shared JOIN nodes c ON c.parent_id = shared.id WHERE c.deleted_at IS NULL
    ) `;
  const visible = granted.length === 0 ? '+n.owner_id = $me' : '(+n.owner_id = $me OR n.id IN (SELECT id FROM shared))';
  const access = granted.length === 0 ? "'owner'" : "CASE WHEN n.owner_id = $me THEN 'owner' ELSE (SELECT MAX(permission) FROM shared WHERE shared.id = n.id) END";
  const where = [...filters, visible].join(' AND ');
  const select = (from: string, extra: string, order = '', limitParam = '$limit') =>
    `${sharedCte}SELECT ${NODE_COLS}, u.username AS owner_name, ${access} AS access FROM ${from} JOIN users u ON u.id = n.owner_id
     WHERE ${where} AND ${extra} ${order} LIMIT ${limitParam}`;

  // SQLite refuses bind parameters that a statement does not use: pass each query its own.
  const run = (sql: string) => db.all<Row>(sql, Object.fromEntries(Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql))));
  const exact = await run(select('nodes n', 'n.name_key = $key', 'ORDER BY n.name_key'));
  const prefix = await run(select('nodes n', 'n.name_key > $key AND n.name_key < $keyEnd', 'ORDER BY n.name_key'));
  const useFts = [...key].length >= 3;
  if (useFts) params.match = `"${key.replace(/"/g, '""')}"`;
  params.sublimit = limit + exact.length + prefix.length; // the substring pass also finds the exact and prefix hits
  const substring = await run(useFts
    ? select('nodes_fts f CROSS JOIN nodes n ON n.rowid = f.rowid', "nodes_fts MATCH $match AND n.name_key LIKE $like ESCAPE '\\'", '', '$sublimit')
    : select('nodes n', "n.name_key LIKE $like ESCAPE '\\'", '', '$sublimit'));

  const seen = new Set<string>();
  const rows: Row[] = [];
  const rest = substring.sort((a, b) => a.name_key.length - b.name_key.length || (a.name_key < b.name_key ? -1 : 1));
  for (const r of [...exact, ...prefix, ...rest]) {
    if (seen.has(r.id) || rows.length >= limit) continue;
    seen.add(r.id);
    rows.push(r);
  }
  const folders = await folderPaths(db, rows.map((r) => r.parent_id!));
  return rows.map((r) => ({
    ...toNode(r),
    permission: (r.access ?? 'view') as NodeView['permission'],
    ownerName: r.owner_name,
    folderPath: folders.get(r.parent_id!) ?? '/',
  }));
}

type Row = RawNode & { access: string; owner_name: string; name_key: string };

/** Paths of several folders in one recursive query. */
async function folderPaths(db: Db, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const params = Object.fromEntries(unique.map((id, i) => [`f${i}`, id]));
  const rows = await db.all<{ start: string; name: string; depth: unknown }>(
    `WITH RECURSIVE up(start, id, depth) AS (
       SELECT id, id, 0 FROM nodes WHERE id IN (${unique.map((_, i) => `$f${i}`).join(',')})
       UNION ALL
       SELECT up.start, p.parent_id, up.depth + 1 FROM up JOIN nodes p ON p.id = up.id WHERE p.parent_id IS NOT NULL
     )
     SELECT up.start, n.name, up.depth FROM up JOIN nodes n ON n.id = up.id WHERE n.parent_id IS NOT NULL`,
    params,
  );
  const parts = new Map<string, { name: string; depth: number }[]>();
  for (const r of rows) {
    const list = parts.get(r.start) ?? [];
    list.push({ name: r.name, depth: num(r.depth) });
    parts.set(r.start, list);
  }
  return new Map(unique.map((id) => [id, '/' + (parts.get(id) ?? []).sort((a, b) => b.depth - a.depth).map((p) => p.name).join('/')]));
}
