/**
 * Path-addressed reads: a path of name keys walked down from a root, a folder's children and a
 * subtree, each with its files' checksums, in one query each.
 */
import { jsonRowsIndexed, perDialect, type Fragment } from '../dialect.js';
import { bool, num, type Q } from '../index.js';
import type { ChecksummedNode, UserRow } from '../rows.js';
import { liveSubtreeCte, NODE_COLS, toNode, type RawNode } from './nodes.js';
import type { PropertyRow } from './properties.js';
import { RECEIVED_CTE, TOP_RECEIVED, toReceivedRoot, type RawReceivedRoot, type ReceivedRoot } from './shares.js';
import { JOINED_USER_COLS, joinedUser } from './users.js';

export interface ChecksummedSubtreeNode extends ChecksummedNode {
  depth: number;
}

const COLS = `${NODE_COLS}, b.sha1 AS sha1, b.md5 AS md5`;
type Raw = RawNode & { sha1: string | null; md5: string | null };
const toChecksummed = (r: Raw): ChecksummedNode => ({ ...toNode(r), sha1: r.sha1 ?? null, md5: r.md5 ?? null });

/** `segs(i, k)` and `walk(id, depth)`: the name keys `$keys` walked down from `$rootId` (for WITH RECURSIVE). */
const walkCte: Fragment = (d) => `segs(i, k) AS (SELECT j.i, j.value FROM ${jsonRowsIndexed('$keys')(d)} j),
     walk(id, depth) AS (
       SELECT id, 0 FROM nodes WHERE id = $rootId AND deleted_at IS NULL
       UNION ALL
       SELECT c.id, walk.depth + 1 FROM walk JOIN segs ON segs.i = walk.depth
         JOIN nodes c ON c.parent_id = walk.id AND c.name_key = segs.k AND c.deleted_at IS NULL
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

/** The live subtree under `id` (inclusive) with checksums, parents before children, at most `limit` rows. */
export async function checksummedSubtree(q: Q, id: string, limit: number): Promise<ChecksummedSubtreeNode[]> {
  const rows = await q.all<Raw & { depth: unknown }>(
    `WITH RECURSIVE ${liveSubtreeCte('$id')}
     SELECT ${COLS}, sub.depth FROM sub CROSS JOIN nodes n ON n.id = sub.id LEFT JOIN blobs b ON b.hash = n.content_hash
     ORDER BY sub.depth, n.name_key LIMIT $limit`,
    { id, limit },
  );
  return rows.map((r) => ({ ...toChecksummed(r), depth: num(r.depth) }));
}

/** What a request's first query reads: the requesting user's row with the path it names. */
export interface WalkAs {
  user: UserRow;
  chain: ChecksummedNode[];
  /** The dead properties of the node at depth `detailDepth`, when the walk got there. */
  properties: PropertyRow[];
  /** Whether the owner of that node holds any unexpired lock. */
  ownerLocked: boolean;
}

// One row per node of the chain, the user's columns on each; the node at $detail adds one row per
// dead property (LEFT JOIN: at least one) and whether its owner holds a lock at all.
const walkAsSql = perDialect(
  (d) => `WITH RECURSIVE ${walkCte(d)}
     SELECT ${COLS}, walk.depth, ${JOINED_USER_COLS},
       p.namespace AS p_namespace, p.name AS p_name, p.value AS p_value,
       CASE WHEN walk.depth = $detail
         THEN EXISTS (SELECT 1 FROM locks l WHERE l.owner_id = n.owner_id AND l.expires_at > $now) END AS owner_locked
     FROM walk CROSS JOIN nodes n ON n.id = walk.id CROSS JOIN users u ON u.id = $userId
       LEFT JOIN blobs b ON b.hash = n.content_hash
       LEFT JOIN properties p ON walk.depth = $detail AND p.node_id = n.id
     ORDER BY walk.depth, p.namespace, p.name`,
);

/**
 * `walkKeys` with the row of user `userId` read in the same query (undefined when there is no such
 * user), and, for the node at depth `detailDepth` (-1: none), its dead properties and whether its
 * owner holds any lock: everything a small WebDAV request needs before it answers.
 */
export async function walkAs(
  q: Q,
  a: { userId: string; rootId: string; nameKeys: string[]; detailDepth: number; now: number },
): Promise<WalkAs | undefined> {
  const rows = await q.all<Raw & Record<string, unknown>>(walkAsSql(q), {
    userId: a.userId,
    rootId: a.rootId,
    keys: JSON.stringify(a.nameKeys),
    detail: a.detailDepth,
    now: a.now,
  });
  if (rows.length === 0) return undefined;
  const out: WalkAs = { user: joinedUser(rows[0]!), chain: [], properties: [], ownerLocked: false };
  for (const r of rows) {
    const depth = num(r.depth);
    if (depth === out.chain.length) out.chain.push(toChecksummed(r));
    if (depth !== a.detailDepth) continue;
    out.ownerLocked = bool(r.owner_locked);
    if (r.p_namespace !== null && r.p_namespace !== undefined)
      out.properties.push({
        nodeId: r.id,
        namespace: r.p_namespace as string,
        name: r.p_name as string,
        value: r.p_value as string,
      });
  }
  return out;
}

const sharedStartSql = perDialect(
  () => `WITH RECURSIVE ${RECEIVED_CTE}
     SELECT ${JOINED_USER_COLS}, ${COLS}, NULL AS share_name, 0 AS part, NULL AS share_key
       FROM users u CROSS JOIN nodes n ON n.id = u.root_id LEFT JOIN blobs b ON b.hash = n.content_hash
       WHERE u.id = $userId
     UNION ALL
     SELECT ${JOINED_USER_COLS}, ${COLS}, g.share_name, 1 AS part, g.share_key
       FROM users u CROSS JOIN ${TOP_RECEIVED.from} WHERE u.id = $userId AND ${TOP_RECEIVED.where}
     ORDER BY part, share_key`,
);

/**
 * The start of a path through "Shared with me", in one query: user `userId`'s row, their home
 * folder and the roots of what others share with them (receivedRoots); undefined when there is no
 * such user.
 */
export async function sharedStartAs(
  q: Q,
  userId: string,
  now: number,
): Promise<{ user: UserRow; root: ChecksummedNode; received: ReceivedRoot[] } | undefined> {
  const rows = await q.all<RawReceivedRoot & Record<string, unknown>>(sharedStartSql(q), { userId, now });
  const [first, ...rest] = rows;
  if (!first) return undefined;
  return { user: joinedUser(first), root: toChecksummed(first), received: rest.map(toReceivedRoot) };
}
