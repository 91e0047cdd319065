/**
 * Name search over the actor's own files and everything shared with them: substring,
 * case-insensitive, ranked (exact, then prefix, then the rest), trashed items excluded.
 * Uses the FTS5 trigram index for 3+ characters, so it stays fast at a million files.
 */
import type { Db } from '../db/index.js';
import { ancestorsOfMany } from '../db/repos/nodes.js';
import { searchNames, type SearchFilter, type SearchRow } from '../db/repos/search.js';
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
 * Three bounded passes (repos/search.ts), so the cost follows `limit`, not the number of files:
 * exact names, prefixes, then substrings, ranked in that order (substrings shortest first). Each
 * pass only looks at nodes the actor can see: their own, and the subtrees of unexpired shares with them.
 */
export async function searchNodes(db: Db, clock: Clock, actor: Actor, query: SearchQuery): Promise<SearchHit[]> {
  if (actor.kind !== 'user') throw forbidden('Sign in to search');
  const key = nameKey(query.q.trim());
  if (key.length === 0) throw invalidInput('Type something to search for', { field: 'q' });
  if (key.length > 255) throw invalidInput('The search text is too long', { field: 'q' });
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const now = clock.now();
  const granted = await grantedRoots(db, actor.user.id, now);
  const filter: SearchFilter = {
    userId: actor.user.id,
    now,
    key,
    kind: query.kind,
    minSize: query.minSize,
    maxSize: query.maxSize,
    modifiedAfter: query.modifiedAfter,
    withShared: granted.length > 0,
  };
  const exact = await searchNames(db, filter, 'exact', limit);
  const prefix = await searchNames(db, filter, 'prefix', limit);
  // The substring pass also finds the exact and prefix hits.
  const substring = await searchNames(db, filter, 'substring', limit + exact.length + prefix.length);

  const seen = new Set<string>();
  const rows: SearchRow[] = [];
  const rest = substring.sort((a, b) => a.nameKey.length - b.nameKey.length || (a.nameKey < b.nameKey ? -1 : 1));
  for (const r of [...exact, ...prefix, ...rest]) {
    if (seen.has(r.id) || rows.length >= limit) continue;
    seen.add(r.id);
    rows.push(r);
  }
  const shareNames = new Map(granted.map((g) => [g.rootId, g.shareName]));
  const folders = await folderPaths(
    db,
    rows.map((r) => r.parentId!),
    shareNames,
  );
  return rows.map(({ nameKey: _key, access, ...node }) => ({
    ...node,
    permission: (access ?? 'view') as NodeView['permission'],
    folderPath: node.ownerId === actor.user.id ? folders.get(node.parentId!)!.own : folders.get(node.parentId!)!.shared,
  }));
}

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
