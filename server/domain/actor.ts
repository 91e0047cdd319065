import type { UserRow, Via } from './types.js';

/** Where a request came from; written into activity rows. */
export interface Origin {
  via: Via;
  ip?: string | null;
  userAgent?: string | null;
}

/** What a public link lets its visitors do; `upload`: a file drop (add files, see nothing: file-drop.ts). */
export type LinkPermission = 'view' | 'edit' | 'upload';

export interface ShareRef {
  id: string;
  nodeId: string;
  ownerId: string;
  permission: LinkPermission;
  /** A file drop's cap on each file (null or absent: none). */
  maxUploadBytes?: number | null;
  /** How many downloads the link serves (null or absent: no limit, none counted; link-limits.ts). */
  maxDownloads?: number | null;
}

/** Every domain call takes the actor first. There is no ambient "current user". */
export type Actor =
  | { kind: 'user'; user: UserRow; origin: Origin }
  | { kind: 'link'; share: ShareRef; origin: Origin }
  | { kind: 'system'; origin: Origin };

export const systemActor: Actor = { kind: 'system', origin: { via: 'system' } };

export function userActor(user: UserRow, origin: Origin): Actor {
  return { kind: 'user', user, origin };
}

export function actorUserId(actor: Actor): string | null {
  return actor.kind === 'user' ? actor.user.id : null;
}

export function describeActor(actor: Actor): string {
  if (actor.kind === 'user') return `user:${actor.user.username}`;
  if (actor.kind === 'link') return `link:${actor.share.id}`;
  return 'system';
}

/**
 * Who holds a WebDAV lock this actor takes (locks.user_id): a user, or a public link for its
 * visitors (`link:<id>`: the column names no user row for them; revoking the link drops its locks).
 */
export function lockHolderOf(actor: Actor): string | null {
  if (actor.kind === 'user') return actor.user.id;
  return actor.kind === 'link' ? linkLockHolder(actor.share.id) : null;
}

export function linkLockHolder(linkId: string): string {
  return `link:${linkId}`;
}
