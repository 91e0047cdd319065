/**
 * Row types: what the repositories return, in the shapes the domain works with. They live here,
 * with the SQL that fills them, so server/db depends on nothing above it; the domain re-exports
 * the ones it hands on (server/domain/types.ts).
 */
export type Role = 'admin' | 'user';
export type NodeKind = 'file' | 'folder';

export interface UserRow {
  id: string;
  username: string;
  email: string;
  role: Role;
  quotaBytes: number;
  usedBytes: number;
  disabled: boolean;
  tokenVersion: number;
  rootId: string;
  createdAt: number;
  /** Moves when an app password is deleted or 2FA changes: ends cached WebDAV credentials, not sessions. */
  credentialsVersion: number;
  totpEnabled: boolean;
  /** Shown instead of the username where a person is shown; null: the username is shown. */
  displayName: string | null;
  /** The last sign-in through the API (not each WebDAV request); null: never. */
  lastLoginAt: number | null;
  /** Mail me when someone shares a file or folder with me (users.notify_shares). */
  notifyShares: boolean;
}

export interface NodeRow {
  id: string;
  ownerId: string;
  parentId: string | null;
  kind: NodeKind;
  name: string;
  size: number;
  mime: string | null;
  contentHash: string | null;
  etag: string;
  createdAt: number;
  modifiedAt: number;
  deletedAt: number | null;
  trashRootId: string | null;
  originalParentId: string | null;
}

/** A node with the other checksums of its blob (files), which sync clients compare. */
export interface ChecksummedNode extends NodeRow {
  sha1: string | null;
  md5: string | null;
}
