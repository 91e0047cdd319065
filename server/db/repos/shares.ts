/**
 * User shares: their rows, and as the grantee sees them — the stable names of received shares
 * (`grantee_name`, unique per grantee case-insensitively through `grantee_name_key`) and the share
 * roots listed in "Shared with me".
 */
import { jsonRows, perDialect } from '../dialect.js';
import { type Q } from '../index.js';
import { NODE_COLS, toNode, type RawNode } from './nodes.js';
import type { NodeRow } from '../rows.js';

/** The name keys of every user share the grantee has received (expired or on a trashed item too: the name stays theirs). */
export async function receivedNameKeys(q: Q, granteeId: string, exceptShareId?: string): Promise<Set<string>> {
  const rows = await q.all<{ k: string | null }>(
    "SELECT grantee_name_key AS k FROM shares WHERE kind = 'user' AND grantee_id = $granteeId AND id <> $except",
    { granteeId, except: exceptShareId ?? '' },
  );
  return new Set(rows.map((r) => r.k).filter((k): k is string => k !== null));
}

export async function setGranteeName(q: Q, shareId: string, name: string, key: string): Promise<void> {
  await q.run('UPDATE shares SET grantee_name = $name, grantee_name_key = $key WHERE id = $id', {
    id: shareId,
    name,
    key,
  });
}

export async function userShareId(q: Q, nodeId: string, granteeId: string): Promise<string | undefined> {
  return (
    await q.get<{ id: string }>(
      "SELECT id FROM shares WHERE node_id = $nodeId AND kind = 'user' AND grantee_id = $granteeId",
      { nodeId, granteeId },
    )
  )?.id;
}

export async function insertUserShare(
  q: Q,
  s: {
    id: string;
    nodeId: string;
    granteeId: string;
    permission: string;
    expiresAt: number | null;
    createdBy: string;
    now: number;
    name: string;
    nameKey: string;
  },
): Promise<void> {
  await q.run(
    `INSERT INTO shares (id, node_id, kind, grantee_id, permission, expires_at, created_by, created_at, grantee_name, grantee_name_key)
     VALUES ($id, $nodeId, 'user', $granteeId, $permission, $expiresAt, $createdBy, $now, $name, $nameKey)`,
    { ...s },
  );
}

/** A new permission, and (when given) a new expiry; the grantee's name for it stays. */
export async function updateUserShare(
  q: Q,
  id: string,
  change: { permission: string; expiresAt?: number | null },
): Promise<void> {
  if (change.expiresAt === undefined)
    await q.run('UPDATE shares SET permission = $p WHERE id = $id', { id, p: change.permission });
  else
    await q.run('UPDATE shares SET permission = $p, expires_at = $e WHERE id = $id', {
      id,
      p: change.permission,
      e: change.expiresAt,
    });
}

export async function deleteShare(q: Q, id: string): Promise<void> {
  await q.run('DELETE FROM shares WHERE id = $id', { id });
}

/** Every user share, oldest first, with what its stable name is made of (the migration's backfill). */
export async function userSharesOldestFirst(
  q: Q,
): Promise<{ id: string; grantee_id: string; node_name: string; kind: 'file' | 'folder'; owner_name: string }[]> {
  return q.all(
    `SELECT s.id, s.grantee_id, n.name AS node_name, n.kind, o.username AS owner_name
     FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id
     WHERE s.kind = 'user' ORDER BY s.created_at, s.id`,
  );
}

export interface ReceivedRoot extends NodeRow {
  shareName: string;
  sha1: string | null;
  md5: string | null;
}

/**
 * For a WITH RECURSIVE clause: `granted(id, share_name, share_key)`, the live, unexpired shares the
 * user `$userId` has received from enabled owners at `$now`, and `up(start, id)`, the ancestors of
 * each of them. A received root with another received root above it is reachable through that one.
 */
export const RECEIVED_CTE = `granted(id, share_name, share_key) AS (
       SELECT s.node_id, s.grantee_name, s.grantee_name_key
       FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id
       WHERE s.kind = 'user' AND s.grantee_id = $userId AND n.deleted_at IS NULL AND o.disabled = FALSE
         AND (s.expires_at IS NULL OR s.expires_at > $now)
     ),
     up(start, id) AS (
       SELECT g.id, n.parent_id FROM granted g JOIN nodes n ON n.id = g.id
       UNION ALL
       SELECT up.start, p.parent_id FROM up JOIN nodes p ON p.id = up.id WHERE p.parent_id IS NOT NULL
     )`;

/** The received roots (`granted g`, RECEIVED_CTE) with their nodes `n` and blobs `b`, and the filter that keeps the outermost. */
export const TOP_RECEIVED = {
  from: 'granted g CROSS JOIN nodes n ON n.id = g.id LEFT JOIN blobs b ON b.hash = n.content_hash',
  where: 'g.id NOT IN (SELECT start FROM up WHERE id IN (SELECT id FROM granted))',
};

export type RawReceivedRoot = RawNode & { share_name: string | null; sha1: string | null; md5: string | null };

export const toReceivedRoot = (r: RawReceivedRoot): ReceivedRoot => ({
  ...toNode(r),
  shareName: r.share_name ?? r.name,
  sha1: r.sha1 ?? null,
  md5: r.md5 ?? null,
});

/**
 * The live, unexpired shares a user has received from enabled owners, with their stable names, in
 * name order; a share inside another share of the same user is left out (it is reached through the
 * outer one).
 */
export async function receivedRoots(q: Q, userId: string, now: number): Promise<ReceivedRoot[]> {
  const rows = await q.all<RawReceivedRoot>(
    `WITH RECURSIVE ${RECEIVED_CTE}
     SELECT ${NODE_COLS}, g.share_name, b.sha1, b.md5 FROM ${TOP_RECEIVED.from} WHERE ${TOP_RECEIVED.where}
     ORDER BY g.share_key`,
    { userId, now },
  );
  return rows.map(toReceivedRoot);
}

/** The roots of the unexpired shares a user has received on live nodes: strongest permission and stable name per node. */
export async function grantedRoots(
  q: Q,
  userId: string,
  now: number,
): Promise<{ rootId: string; permission: 'view' | 'edit'; shareName: string }[]> {
  const rows = await q.all<{
    root_id: string;
    permission: 'view' | 'edit';
    share_name: string | null;
    node_name: string;
  }>(
    `SELECT s.node_id AS root_id, MAX(s.permission) AS permission, MIN(s.grantee_name) AS share_name, MIN(r.name) AS node_name
     FROM shares s JOIN nodes r ON r.id = s.node_id
     WHERE s.kind = 'user' AND s.grantee_id = $userId AND (s.expires_at IS NULL OR s.expires_at > $now) AND r.deleted_at IS NULL
     GROUP BY s.node_id`,
    { userId, now },
  );
  return rows.map((r) => ({ rootId: r.root_id, permission: r.permission, shareName: r.share_name ?? r.node_name }));
}

const editSharedSql = perDialect(
  (d) => `SELECT node_id FROM shares WHERE kind = 'user' AND grantee_id = $userId AND permission = 'edit'
     AND (expires_at IS NULL OR expires_at > $now) AND node_id IN ${jsonRows('$ids')(d)}`,
);

/** The nodes among `ids` that carry an unexpired edit share for the user (one query for a listing page). */
export async function editSharedAmong(q: Q, ids: string[], userId: string, now: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await q.all<{ node_id: string }>(editSharedSql(q), { userId, now, ids: JSON.stringify(ids) });
  return new Set(rows.map((r) => r.node_id));
}
