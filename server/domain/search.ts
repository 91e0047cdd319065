/**
 * Name search over the actor's own files and everything shared with them: substring,
 * case-insensitive, ranked (exact, then prefix, then the rest), trashed items excluded.
 * Uses the FTS5 trigram index for 3+ characters, so it stays fast at a million files.
 */
import type { Db } from '../db/index.js';
import { ancestorsOfMany, NODE_COLS, toNode, type RawNode } from '../db/repos/nodes.js';
import { grantedRoots } from '../db/repos/shares.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput } from './errors.js';
import { nameKey } from './names.js';
import { SHARED_FOLDER_NAME } from './shared-folder.js';
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
  /** The folder that holds the hit: "/Projects/2026" from the actor's root, or "/Shared with me/<share name>/…" for shared items (see folderPaths). */
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
  const params: Record<string, unknown> = {
    me: actor.user.id,
    now: clock.now(),
    key,
    keyEnd: `${key}\u{10FFFF}`,
    like: `%${escaped}%`,
    limit,
  };
  // Unary + keeps SQLite from walking every node of the owner through (owner_id, deleted_at): the name indexes must drive.
  const filters: string[] = ['+n.deleted_at IS NULL', 'n.parent_id IS NOT NULL'];
  if (query.kind) {
    filters.push('n.kind = $kind');
    params.kind = query.kind;
  }
  if (query.minSize !== undefined) {
    filters.push('n.size >= $minSize');
    params.minSize = query.minSize;
  }
  if (query.maxSize !== undefined) {
    filters.push('n.size <= $maxSize');
    params.maxSize = query.maxSize;
  }
  if (query.modifiedAfter !== undefined) {
    filters.push('n.modified_at > $modifiedAfter');
    params.modifiedAfter = query.modifiedAfter;
  }

  const granted = await grantedRoots(db, actor.user.id, params.now as number);
  // Shared subtrees (only computed when something is shared with the actor).
  const sharedCte =
    granted.length === 0
      ? ''
      : `WITH RECURSIVE shared(id, permission) AS (
      SELECT s.node_id, MAX(s.permission) FROM shares s WHERE s.kind = 'user' AND s.grantee_id = $me AND (s.expires_at IS NULL OR s.expires_at > $now) GROUP BY s.node_id
      UNION
      SELECT c.id, shared.permission FROM shared JOIN nodes c ON c.parent_id = shared.id WHERE c.deleted_at IS NULL
    ) `;
  const visible = granted.length === 0 ? '+n.owner_id = $me' : '(+n.owner_id = $me OR n.id IN (SELECT id FROM shared))';
  const access =
    granted.length === 0
      ? "'owner'"
      : "CASE WHEN n.owner_id = $me THEN 'owner' ELSE (SELECT MAX(permission) FROM shared WHERE shared.id = n.id) END";
  const where = [...filters, visible].join(' AND ');
  const select = (from: string, extra: string, order = '', limitParam = '$limit') =>
    `${sharedCte}SELECT ${NODE_COLS}, u.username AS owner_name, ${access} AS access FROM ${from} JOIN users u ON u.id = n.owner_id
     WHERE ${where} AND ${extra} ${order} LIMIT ${limitParam}`;

  // SQLite refuses bind parameters that a statement does not use: pass each query its own.
  const run = (sql: string) =>
    db.all<Row>(sql, Object.fromEntries(Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql))));
  const exact = await run(select('nodes n', 'n.name_key = $key', 'ORDER BY n.name_key'));
  const prefix = await run(select('nodes n', 'n.name_key > $key AND n.name_key < $keyEnd', 'ORDER BY n.name_key'));
  const useFts = [...key].length >= 3;
  if (useFts) params.match = `"${key.replace(/"/g, '""')}"`;
  params.sublimit = limit + exact.length + prefix.length; // the substring pass also finds the exact and prefix hits
  const substring = await run(
    useFts
      ? select(
          'nodes_fts f CROSS JOIN nodes n ON n.rowid = f.rowid',
          "nodes_fts MATCH $match AND n.name_key LIKE $like ESCAPE '\\'",
          '',
          '$sublimit',
        )
      : select('nodes n', "n.name_key LIKE $like ESCAPE '\\'", '', '$sublimit'),
  );

  const seen = new Set<string>();
  const rows: Row[] = [];
  const rest = substring.sort((a, b) => a.name_key.length - b.name_key.length || (a.name_key < b.name_key ? -1 : 1));
  for (const r of [...exact, ...prefix, ...rest]) {
    if (seen.has(r.id) || rows.length >= limit) continue;
    seen.add(r.id);
    rows.push(r);
  }
  const shareNames = new Map(granted.map((g) => [g.rootId, g.shareName]));
  const folders = await folderPaths(
    db,
    rows.map((r) => r.parent_id!),
    shareNames,
  );
  return rows.map((r) => ({
    ...toNode(r),
    permission: (r.access ?? 'view') as NodeView['permission'],
    ownerName: r.owner_name,
    folderPath: r.owner_id === actor.user.id ? folders.get(r.parent_id!)!.own : folders.get(r.parent_id!)!.shared,
  }));
}

type Row = RawNode & { access: string; owner_name: string; name_key: string };

/**
 * Paths of several folders in one recursive query: `own` from the owner's root ("/Projects/2026"),
 * and `shared` as a grantee sees it. A grantee must not learn the names above what was shared
 * with them (issue 9), so their path starts at the outermost share root they received, under its
 * stable share name, inside "Shared with me": "/Shared with me/Plans/2026". That is the folder's
 * WebDAV path, and what the console's breadcrumbs show for it (Shared with me › Plans › 2026);
 * the share root itself is in "/Shared with me".
 */
async function folderPaths(
  db: Db,
  ids: string[],
  shareNames: Map<string, string>,
): Promise<Map<string, { own: string; shared: string }>> {
  const unique = [...new Set(ids)];
  const parts = new Map<string, { id: string; name: string; depth: number }[]>();
  for (const r of await ancestorsOfMany(db, unique))
    (parts.get(r.start) ?? parts.set(r.start, []).get(r.start)!).push(r);
  return new Map(
    unique.map((id) => {
      const chain = (parts.get(id) ?? []).sort((a, b) => b.depth - a.depth); // top first
      const top = chain.findIndex((p) => shareNames.has(p.id));
      const shared =
        top < 0
          ? `/${SHARED_FOLDER_NAME}`
          : [
              `/${SHARED_FOLDER_NAME}`,
              shareNames.get(chain[top]!.id)!,
              ...chain.slice(top + 1).map((p) => p.name),
            ].join('/');
      return [id, { own: '/' + chain.map((p) => p.name).join('/'), shared }];
    }),
  );
}
