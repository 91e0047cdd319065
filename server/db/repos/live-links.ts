/** Public links looked up by id (content grants name the link, never its token). */
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
     WHERE s.id = $id AND s.kind = 'link' AND n.deleted_at IS NULL AND o.disabled = 0
       AND (s.expires_at IS NULL OR s.expires_at > $now)`,
    { id, now },
  );
}
