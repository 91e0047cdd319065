/** Public links: created with a random token; looked up by token, or by id (content grants name the link, never its token). */
import { numOrNull, type Q } from '../index.js';

export interface LiveLinkRow {
  id: string;
  nodeId: string;
  ownerId: string;
  permission: 'view' | 'edit' | 'upload';
  maxDownloads: number | null;
}

/**
 * A link that still opens, by id: not revoked (the row exists), not expired, not out of downloads,
 * its node not in the bin and its owner not disabled — the same conditions as opening it by token.
 */
export async function liveLinkById(q: Q, id: string, now: number): Promise<LiveLinkRow | undefined> {
  const r = await q.get<Omit<LiveLinkRow, 'maxDownloads'> & { maxDownloads: unknown }>(
    `SELECT s.id AS id, s.node_id AS "nodeId", n.owner_id AS "ownerId", s.permission AS permission,
       s.max_downloads AS "maxDownloads"
     FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id
     WHERE s.id = $id AND s.kind = 'link' AND n.deleted_at IS NULL AND o.disabled = FALSE
       AND (s.expires_at IS NULL OR s.expires_at > $now)
       AND (s.max_downloads IS NULL OR s.download_count < s.max_downloads)`,
    { id, now },
  );
  return r && { ...r, maxDownloads: numOrNull(r.maxDownloads) };
}

/**
 * Counts one download on a link, atomically: false (nothing counted) when the link has served its
 * `max_downloads` already, so parallel downloads can never pass the limit.
 */
export async function claimDownload(q: Q, id: string): Promise<boolean> {
  const changed = await q.run(
    `UPDATE shares SET download_count = download_count + 1
     WHERE id = $id AND (max_downloads IS NULL OR download_count < max_downloads)`,
    { id },
  );
  return changed > 0;
}

export async function insertLink(
  tx: Q,
  l: {
    id: string;
    nodeId: string;
    permission: 'view' | 'edit' | 'upload';
    token: string;
    passwordHash: string | null;
    expiresAt: number | null;
    createdBy: string;
    now: number;
    maxUploadBytes?: number | null;
    maxDownloads?: number | null;
  },
): Promise<void> {
  await tx.run(
    `INSERT INTO shares (id, node_id, kind, permission, token, password_hash, expires_at, created_by, created_at,
       max_upload_bytes, max_downloads)
     VALUES ($id, $nodeId, 'link', $p, $token, $hash, $e, $by, $now, $maxUpload, $maxDownloads)`,
    {
      id: l.id,
      nodeId: l.nodeId,
      p: l.permission,
      token: l.token,
      hash: l.passwordHash,
      e: l.expiresAt,
      by: l.createdBy,
      now: l.now,
      maxUpload: l.maxUploadBytes ?? null,
      maxDownloads: l.maxDownloads ?? null,
    },
  );
}

/** The id of the link with this token, whatever its state. */
export async function linkIdByToken(q: Q, token: string): Promise<string | undefined> {
  return (await q.get<{ id: string }>("SELECT id FROM shares WHERE kind = 'link' AND token = $token", { token }))?.id;
}
