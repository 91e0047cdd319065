/**
 * Shares and links read whole: the share row with its node, the owner's username and the grantee's
 * (user shares), for listings and for the checks that precede a change.
 */
import { num, numOrNull, type Q } from '../index.js';
import type { NodeRow } from '../rows.js';
import { NODE_COLS, toNode, type RawNode } from './nodes.js';

export interface ShareRow {
  id: string;
  kind: 'user' | 'link';
  node: NodeRow;
  granteeId: string | null;
  /** `upload` only on links (a file drop; the table's CHECK). */
  permission: 'view' | 'edit' | 'upload';
  token: string | null;
  passwordHash: string | null;
  expiresAt: number | null;
  createdAt: number;
  /** Links: the largest file a visitor may upload, and how many downloads the link serves (null: no limit). */
  maxUploadBytes: number | null;
  maxDownloads: number | null;
  downloadCount: number;
  granteeUsername: string | null;
  granteeEmail: string | null;
  ownerUsername: string;
  granteeDisplayName: string | null;
  ownerDisplayName: string | null;
  /** The grantee's stable name for a user share in their "Shared with me". */
  granteeName: string | null;
}

interface RawShare extends RawNode {
  share_id: string;
  share_kind: 'user' | 'link';
  grantee_id: string | null;
  permission: 'view' | 'edit' | 'upload';
  token: string | null;
  password_hash: string | null;
  expires_at: unknown;
  max_upload_bytes: unknown;
  max_downloads: unknown;
  download_count: unknown;
  share_created_at: unknown;
  grantee_username: string | null;
  grantee_email: string | null;
  owner_username: string;
  grantee_name: string | null;
  grantee_display_name: string | null;
  owner_display_name: string | null;
}

const SHARE_SELECT = `SELECT ${NODE_COLS}, s.id AS share_id, s.kind AS share_kind, s.grantee_id, s.permission, s.token, s.password_hash,
    s.expires_at, s.max_upload_bytes, s.max_downloads, s.download_count, s.created_at AS share_created_at,
    g.username AS grantee_username, g.email AS grantee_email, o.username AS owner_username,
    s.grantee_name, g.display_name AS grantee_display_name, o.display_name AS owner_display_name
  FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id LEFT JOIN users g ON g.id = s.grantee_id`;

const toShare = (r: RawShare): ShareRow => ({
  id: r.share_id,
  kind: r.share_kind,
  node: toNode(r),
  granteeId: r.grantee_id,
  permission: r.permission,
  token: r.token,
  passwordHash: r.password_hash,
  expiresAt: numOrNull(r.expires_at),
  createdAt: num(r.share_created_at),
  maxUploadBytes: numOrNull(r.max_upload_bytes),
  maxDownloads: numOrNull(r.max_downloads),
  downloadCount: num(r.download_count),
  granteeUsername: r.grantee_username,
  granteeEmail: r.grantee_email,
  ownerUsername: r.owner_username,
  granteeDisplayName: r.grantee_display_name,
  ownerDisplayName: r.owner_display_name,
  granteeName: r.grantee_name,
});

async function select(q: Q, where: string, params: Record<string, unknown>): Promise<ShareRow[]> {
  return (await q.all<RawShare>(`${SHARE_SELECT} WHERE ${where}`, params)).map(toShare);
}

/** Every share and link of one node, oldest first. */
export function sharesOfNode(q: Q, nodeId: string): Promise<ShareRow[]> {
  return select(q, 's.node_id = $nodeId ORDER BY s.created_at', { nodeId });
}

/** Everything an owner has shared (user shares and links) on live nodes, newest first. */
export function sharesByOwner(q: Q, ownerId: string): Promise<ShareRow[]> {
  return select(q, 'n.owner_id = $me AND n.deleted_at IS NULL ORDER BY s.created_at DESC', { me: ownerId });
}

/** The unexpired user shares a user has received on live nodes of enabled owners, newest first. */
export function sharesReceived(q: Q, granteeId: string, now: number): Promise<ShareRow[]> {
  return select(
    q,
    `s.kind = 'user' AND s.grantee_id = $me AND n.deleted_at IS NULL AND o.disabled = FALSE
       AND (s.expires_at IS NULL OR s.expires_at > $now) ORDER BY s.created_at DESC`,
    { me: granteeId, now },
  );
}

export async function shareById(q: Q, id: string, kind: 'user' | 'link'): Promise<ShareRow | undefined> {
  return (await select(q, 's.id = $id AND s.kind = $kind', { id, kind }))[0];
}

/** A link by its token, if its node is live and its owner enabled (expiry is the caller's to judge). */
export async function linkByToken(q: Q, token: string): Promise<ShareRow | undefined> {
  return (
    await select(q, "s.kind = 'link' AND s.token = $token AND n.deleted_at IS NULL AND o.disabled = FALSE", { token })
  )[0];
}
