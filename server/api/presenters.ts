/** Domain views → JSON. Only what the client needs leaves the server. */
import type { ActivityView } from '../domain/activity.js';
import type { AppPasswordRow } from '../domain/app-passwords.js';
import type { SearchHit } from '../domain/search.js';
import type { LockView } from '../domain/lock-breaking.js';
import type { SessionView } from '../domain/sessions.js';
import type { IncomingShare, LinkView, UserShareView } from '../domain/sharing.js';
import type { TrashItem } from '../domain/bin.js';
import type { NodeView, UserRow } from '../domain/types.js';
import type { VersionView } from '../domain/versions.js';

function iso(t: number): string;
function iso(t: number | null): string | null;
function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

export function presentNode(n: NodeView) {
  return {
    id: n.id,
    name: n.name,
    kind: n.kind,
    size: n.size,
    mime: n.mime,
    parentId: n.parentId,
    ownerId: n.ownerId,
    createdAt: iso(n.createdAt),
    modifiedAt: iso(n.modifiedAt),
    etag: n.etag,
    permission: n.permission,
  };
}

export function presentUser(
  u: UserRow,
  extra: { trashBytes?: number; versionBytes?: number; twoFactorRequired?: boolean } = {},
) {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    email: u.email,
    role: u.role,
    quotaBytes: u.quotaBytes,
    usedBytes: u.usedBytes,
    ...(extra.trashBytes !== undefined ? { trashBytes: extra.trashBytes } : {}),
    ...(extra.versionBytes !== undefined ? { versionBytes: extra.versionBytes } : {}),
    disabled: u.disabled,
    rootId: u.rootId,
    createdAt: iso(u.createdAt),
    lastLoginAt: iso(u.lastLoginAt),
    // `required`: REQUIRE_2FA is on, where the caller knows it (a user's own session: sign-in and /me).
    twoFactor: {
      enabled: u.totpEnabled,
      ...(extra.twoFactorRequired !== undefined ? { required: extra.twoFactorRequired } : {}),
    },
  };
}

export function presentAppPassword(a: AppPasswordRow) {
  return {
    id: a.id,
    name: a.name,
    scope: a.scope,
    createdAt: iso(a.createdAt),
    lastUsedAt: iso(a.lastUsedAt),
    lastUsedIp: a.lastUsedIp,
  };
}

export function presentTrashItem(t: TrashItem) {
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    size: t.kind === 'file' ? t.size : t.totalSize,
    originalPath: t.originalPath,
    originalParentId: t.originalParentId,
    deletedAt: iso(t.deletedAt),
    deletedBy: t.deletedBy ? { id: t.deletedBy, username: t.deletedByName } : null,
  };
}

export function presentActivity(a: ActivityView) {
  return {
    id: a.id,
    ownerId: a.ownerId,
    actor: { id: a.actorId, username: a.actorName, displayName: a.actorDisplayName },
    action: a.action,
    nodeId: a.nodeId,
    path: a.path,
    details: a.details,
    via: a.via,
    ip: a.ip,
    userAgent: a.userAgent,
    createdAt: iso(a.createdAt),
  };
}

/** `shareName` (the grantee's own name for it) is shown only to the grantee. */
export function presentShare(s: UserShareView, forGrantee = false) {
  return {
    id: s.id,
    nodeId: s.node.id,
    node: presentNode({ ...s.node, permission: 'owner' }),
    permission: s.permission,
    grantee: s.grantee,
    owner: s.owner,
    expiresAt: iso(s.expiresAt),
    createdAt: iso(s.createdAt),
    ...(forGrantee ? { shareName: s.shareName } : {}),
  };
}

export function presentLink(l: LinkView, origin: string) {
  return {
    id: l.id,
    nodeId: l.node.id,
    node: presentNode({ ...l.node, permission: 'owner' }),
    token: l.token,
    url: `${origin}/s/${l.token}`,
    // The same link over WebDAV (dav/public.ts): any username, the link's password.
    davUrl: `${origin}/public-dav/${l.token}/`,
    permission: l.permission,
    hasPassword: l.hasPassword,
    expiresAt: iso(l.expiresAt),
    createdAt: iso(l.createdAt),
    maxUploadBytes: l.maxUploadBytes,
    maxDownloads: l.maxDownloads,
    downloadCount: l.downloadCount,
  };
}

export function presentIncoming(s: IncomingShare) {
  return { ...presentNode(s), shareId: s.shareId, shareName: s.shareName, sharedBy: s.sharedBy };
}

export function presentHit(h: SearchHit) {
  return { ...presentNode(h), folderPath: h.folderPath, ownerName: h.ownerName };
}

/**
 * A WebDAV lock as GET /api/locks and GET /api/nodes/:id/locks send it: the view with its times in
 * ISO 8601. The console reads its `Lock` from here (a type-only import), so the two cannot drift.
 */
export type LockJson = Omit<LockView, 'expiresAt' | 'createdAt'> & { expiresAt: string; createdAt: string };

export function presentLock(l: LockView): LockJson {
  return {
    token: l.token,
    path: l.path,
    nodeId: l.nodeId,
    owner: l.owner,
    holder: l.holder,
    scope: l.scope,
    depth: l.depth,
    expiresAt: iso(l.expiresAt),
    createdAt: iso(l.createdAt),
    canBreak: l.canBreak,
  };
}

export function presentSession(s: SessionView) {
  return {
    id: s.id,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    ip: s.ip,
    userAgent: s.userAgent,
    current: s.current,
  };
}

export function presentVersion(v: VersionView) {
  return {
    id: v.id,
    size: v.size,
    etag: v.etag,
    modifiedAt: iso(v.modifiedAt),
    createdAt: iso(v.createdAt),
    author: v.authorName === null && v.authorId === null ? null : { id: v.authorId, username: v.authorName },
    via: v.via,
  };
}
