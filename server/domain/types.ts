import type { NodeRow } from '../db/rows.js';

export type { NodeKind, NodeRow, Role, UserRow } from '../db/rows.js';
export type Permission = 'view' | 'edit';
/** The caller's effective permission on a node. */
export type Access = 'none' | 'view' | 'edit' | 'owner';
export type Via = 'api' | 'dav' | 'link' | 'system';

export interface NodeView extends NodeRow {
  permission: Access;
}

export interface Page<T> {
  items: T[];
  total: number;
}
