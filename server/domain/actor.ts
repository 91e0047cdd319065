import type { UserRow, Via } from './types.js';

/** Where a request came from; written into activity rows. */
export interface Origin {
  via: Via;
  ip?: string | null;
  userAgent?: string | null;
}

export interface ShareRef {
  id: string;
  nodeId: string;
  ownerId: string;
  permission: 'view' | 'edit';
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
