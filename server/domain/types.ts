export type Role = 'admin' | 'user';
export type NodeKind = 'file' | 'folder';
export type Permission = 'view' | 'edit';
/** The caller's effective permission on a node. */
export type Access = 'none' | 'view' | 'edit' | 'owner';
export type Via = 'api' | 'dav' | 'link' | 'system';

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

export interface NodeView extends NodeRow {
  permission: Access;
}

export interface Page<T> {
  items: T[];
  total: number;
}
