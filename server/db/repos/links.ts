/** Public links: created with a random token; looked up by token, or by id (content grants name the link, never its token). */
import { type Q } from '../index.js';

export interface LiveLinkRow {
  id: string;
  nodeId: string;
  ownerId: string;
  permission: 'view' | 'edit';
}

/**
 * A link that still opens, by id: not revoked (the row exists), not expired, its node not in the
 * bin and its owner not disabled — the same conditions as opening it by token.
 */
export async function liveLinkById(q: Q, id: string, now: number): Promise<LiveLinkRow | undefined> {
  return q.get<LiveLinkRow>(
    `SELECT s.id AS id, s.node_id AS "nodeId", n.owner_id AS "ownerId", s.permission AS permission
     FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id
     WHERE s.id = $id AND s.kind = 'link' AND n.deleted_at IS NULL AND o.disabled = FALSE
       AND (s.expires_at IS NULL OR s.expires_at > $now)`,
    { id, now },
  );
}

export async function insertLink(
  tx: Q,
  l: {
    id: string;
    nodeId: string;
    permission: 'view' | 'edit';
    token: string;
    passwordHash: string | null;
    expiresAt: number | null;
    createdBy: string;
    now: number;
  },
): Promise<void> {
  await tx.run(
    `INSERT INTO shares (id, node_id, kind, permission, token, password_hash, expires_at, created_by, created_at)
     VALUES ($id, $nodeId, 'link', $p, $token, $hash, $e, $by, $now)`,
    {
      id: l.id,
      nodeId: l.nodeId,
      p: l.permission,
      token: l.token,
      hash: l.passwordHash,
      e: l.expiresAt,
      by: l.createdBy,
      now: l.now,
    },
  );
}

/** The id of the link with this token, whatever its state. */
export async function linkIdByToken(q: Q, token: string): Promise<string | undefined> {
  return (await q.get<{ id: string }>("SELECT id FROM shares WHERE kind = 'link' AND token = $token", { token }))?.id;
}
