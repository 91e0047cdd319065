/** Shares and links as the domain hands them out, and the checks every change to one starts with. */
import type { Q } from '../db/index.js';
import { getLiveNode } from '../db/repos/nodes.js';
import { shareById, type ShareRow } from '../db/repos/share-rows.js';
import type { Actor, LinkPermission } from './actor.js';
import { forbidden, notFound, unauthenticated } from './errors.js';
import type { NodeRow, Permission, UserRow } from './types.js';

export interface UserShareView {
  id: string;
  node: NodeRow;
  /** The grantee's stable name for it in their "Shared with me" (share-names.ts). */
  shareName: string;
  grantee: { id: string; username: string; email: string; displayName: string | null };
  owner: { id: string; username: string; displayName: string | null };
  permission: Permission;
  expiresAt: number | null;
  createdAt: number;
}

export interface LinkView {
  id: string;
  node: NodeRow;
  token: string;
  permission: LinkPermission;
  hasPassword: boolean;
  expiresAt: number | null;
  createdAt: number;
  /** File drops: the largest file a visitor may upload (null: only the owner's quota limits it). */
  maxUploadBytes: number | null;
  /** View and edit links: how many downloads the link serves, and how many it has (link-limits.ts). */
  maxDownloads: number | null;
  downloadCount: number;
}

/** A user share's permission (the table allows `upload` on links only). */
export function userPermission(r: ShareRow): Permission {
  return r.permission === 'edit' ? 'edit' : 'view';
}

export function toUserShare(r: ShareRow): UserShareView {
  return {
    id: r.id,
    node: r.node,
    shareName: r.granteeName ?? r.node.name,
    permission: userPermission(r),
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    grantee: {
      id: r.granteeId!,
      username: r.granteeUsername!,
      email: r.granteeEmail!,
      displayName: r.granteeDisplayName,
    },
    owner: { id: r.node.ownerId, username: r.ownerUsername, displayName: r.ownerDisplayName },
  };
}

export function toLink(r: ShareRow): LinkView {
  return {
    id: r.id,
    node: r.node,
    token: r.token!,
    permission: r.permission,
    hasPassword: r.passwordHash !== null,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    maxUploadBytes: r.maxUploadBytes,
    maxDownloads: r.maxDownloads,
    downloadCount: r.downloadCount,
  };
}

/** User shares and links, each kind in its own list. */
export function byKind(rows: ShareRow[]): { shares: UserShareView[]; links: LinkView[] } {
  return {
    shares: rows.filter((r) => r.kind === 'user').map(toUserShare),
    links: rows.filter((r) => r.kind === 'link').map(toLink),
  };
}

/** Only a signed-in user shares, or sees what was shared. */
export function signedInUser(actor: Actor): UserRow {
  if (actor.kind !== 'user') throw unauthenticated();
  return actor.user;
}

/**
 * A share or link of a live node the actor owns (or, with `granteeMayAct`, was granted); a grantee
 * without that right is forbidden, anyone else gets not_found.
 */
export async function ownedShare(
  q: Q,
  actor: Actor,
  id: string,
  kind: 'user' | 'link',
  granteeMayAct = false,
): Promise<ShareRow> {
  const me = signedInUser(actor);
  const r = await shareById(q, id, kind);
  const live = r ? await getLiveNode(q, r.node.id) : undefined;
  if (r && live && granteeMayAct && r.granteeId === me.id) return r;
  if (!r || r.node.ownerId !== me.id || !live) {
    if (r && live && r.granteeId === me.id) throw forbidden('Only the owner can change this share');
    throw notFound(kind === 'user' ? 'Share' : 'Link');
  }
  return r;
}
