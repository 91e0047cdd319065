import type { LockJson, presentNode, presentVersion } from '../../../server/api/presenters';

/**
 * A file or folder as the API sends it; `permission` is the caller's own (owner, edit, view). Its wire
 * shape is the API's presenter's (a type-only import, like `Lock`), so the two cannot drift.
 */
export type Node = ReturnType<typeof presentNode>;

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  email: string;
  role: 'admin' | 'user';
  quotaBytes: number | null;
  usedBytes: number;
  trashBytes?: number;
  versionBytes?: number;
  disabled: boolean;
  rootId: string;
  createdAt: string | null;
  lastLoginAt?: string | null;
  /** Mail me when someone shares with me (only in /api/auth/me). */
  notifyShares?: boolean;
  /** Two-factor sign-in; `required` (REQUIRE_2FA) comes with the user's own session only. */
  twoFactor?: { enabled: boolean; required?: boolean };
}

/** A WebDAV credential of its own, per device (GET /api/auth/app-passwords); the password is shown once, on creation. */
export interface AppPassword {
  id: string;
  name: string;
  scope: 'full' | 'read';
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

export interface TrashItem {
  id: string;
  name: string;
  kind: 'file' | 'folder';
  size: number;
  originalPath: string;
  originalParentId: string | null;
  deletedAt: string;
  deletedBy: { id: string; username: string } | null;
}

export interface Activity {
  id: number;
  ownerId: string;
  actor: { id: string | null; username: string; displayName?: string | null };
  action: string;
  nodeId: string | null;
  path: string | null;
  details: unknown;
  via: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
}

/** A user in the share dialog's suggestions (GET /api/users/lookup); `email` only for admins or an address typed in full. */
export interface DirectoryEntry {
  id: string;
  username: string;
  displayName?: string | null;
  email?: string;
}

export interface Share {
  id: string;
  nodeId: string;
  node: Node;
  grantee: { id: string; username: string; email: string; displayName?: string | null };
  owner: { id: string; username: string; displayName?: string | null };
  permission: 'view' | 'edit';
  expiresAt: string | null;
  createdAt: string | null;
}

export interface Link {
  id: string;
  nodeId: string;
  node: Node;
  token: string;
  url: string;
  /** The same link over WebDAV: any username, the link's password. */
  davUrl: string;
  /** `upload`: a file drop — visitors add files and see nothing. */
  permission: 'view' | 'edit' | 'upload';
  hasPassword: boolean;
  expiresAt: string | null;
  createdAt: string | null;
  maxUploadBytes: number | null;
  maxDownloads: number | null;
  downloadCount: number;
}

export interface IncomingShare extends Node {
  shareId: string;
  /** Your stable name for it in "Shared with me" (you may rename it; the owner's name is `name`). */
  shareName: string;
  sharedBy: { id: string; username: string; displayName?: string | null };
}

export interface SearchHit extends Node {
  folderPath: string;
  ownerName: string;
}

/** An earlier content of a file, as GET /api/nodes/:id/versions lists it (the API's presenter's shape). */
export type Version = ReturnType<typeof presentVersion>;

/** A WebDAV lock, as GET /api/locks and GET /api/nodes/:id/locks list it; its wire shape is the API's. */
export type Lock = LockJson;
