/**
 * Who may remove a WebDAV lock they do not hold, and the locks that go away with their holder's
 * access. RFC 4918 §9.11 leaves the authority to unlock to the server; Coffer gives it to the
 * lock's holder, the owner of the locked resource and administrators, so that a grantee cannot
 * pin an owner's files (issue 9: an editor's Timeout: Infinite lock on a shared folder). A share
 * revoked or a user disabled takes the locks that access allowed with it. Every removal by
 * someone other than the holder writes a `lock.broken` row for the owner.
 */
import type { Q } from '../db/index.js';
import { inheritedShareLevel } from '../db/repos/nodes.js';
import {
  deleteLock,
  listLocks,
  within,
  type LockDepth,
  type LockListRow,
  type LockRow,
  type LockScope,
} from '../db/repos/locks.js';
import { lockHolderOf, type Actor } from './actor.js';
import { record } from './activity.js';
import { walkKeys } from '../db/repos/paths.js';

export interface LockView {
  token: string;
  /** The locked resource's path from its owner's root, in stored spelling ("/Plans/report.odt"). */
  path: string;
  /** The locked node, when the path still names one. */
  nodeId: string | null;
  owner: { id: string; username: string };
  holder: { id: string; username: string };
  scope: LockScope;
  depth: LockDepth;
  expiresAt: number;
  createdAt: number;
  /** The caller may break it (holder, owner, admin). */
  canBreak: boolean;
}

/** `unlocked`: the holder's own WebDAV UNLOCK (routine, not logged); the others are logged. */
export type RemovalReason = 'unlocked' | 'released' | 'broken' | 'share_revoked' | 'user_disabled';

/** The holder, the owner of the locked resource and any administrator. */
export function mayBreak(actor: Actor, lock: LockRow): boolean {
  if (actor.kind === 'link') return lock.userId === lockHolderOf(actor);
  if (actor.kind !== 'user') return actor.kind === 'system';
  return lock.userId === actor.user.id || lock.ownerId === actor.user.id || actor.user.role === 'admin';
}

/** The node a lock's name-key path names now, and its path in stored spelling. */
async function locate(q: Q, l: LockListRow): Promise<{ nodeId: string | null; path: string }> {
  const keys = l.path === '/' ? [] : l.path.slice(1).split('/');
  const chain = await walkKeys(q, l.ownerRootId, keys);
  if (chain.length !== keys.length + 1) return { nodeId: null, path: l.path };
  return {
    nodeId: chain[chain.length - 1]!.id,
    path:
      '/' +
      chain
        .slice(1)
        .map((n) => n.name)
        .join('/'),
  };
}

export async function lockViews(q: Q, actor: Actor, rows: LockListRow[]): Promise<LockView[]> {
  const out: LockView[] = [];
  for (const l of rows) {
    out.push({
      token: l.token,
      ...(await locate(q, l)),
      owner: { id: l.ownerId, username: l.ownerName },
      holder: { id: l.userId, username: l.holderName },
      scope: l.scope,
      depth: l.depth,
      expiresAt: l.expiresAt,
      createdAt: l.createdAt,
      canBreak: mayBreak(actor, l),
    });
  }
  return out;
}

/** Deletes a lock and, unless its holder unlocked it through WebDAV, logs it for the resource's owner. */
export async function removeLock(
  q: Q,
  actor: Actor,
  l: LockListRow,
  reason: RemovalReason,
  now: number,
): Promise<void> {
  await deleteLock(q, l.token);
  if (reason === 'unlocked') return;
  const { nodeId, path } = await locate(q, l);
  await record(
    q,
    actor,
    {
      ownerId: l.ownerId,
      action: 'lock.broken',
      nodeId,
      path,
      details: { holder: l.holderName, scope: l.scope, depth: l.depth, reason },
    },
    now,
  );
}

/**
 * After a share is revoked: the grantee's locks inside the shared subtree (`path` of `ownerId`)
 * on resources they can no longer edit (another share may still grant edit below or above).
 */
export async function dropLocksAfterRevoke(
  q: Q,
  actor: Actor,
  grantee: string,
  ownerId: string,
  path: string,
  now: number,
): Promise<number> {
  const held = (await listLocks(q, { ownerId, holderId: grantee }, now)).filter((l) => within(l.path, path));
  let dropped = 0;
  for (const l of held) {
    const { nodeId } = await locate(q, l);
    if (nodeId && (await inheritedShareLevel(q, nodeId, grantee, now)) >= 2) continue;
    await removeLock(q, actor, l, 'share_revoked', now);
    dropped++;
  }
  return dropped;
}

/** Every lock a user holds, on anyone's files (the user was disabled). */
export async function dropLocksOfUser(q: Q, actor: Actor, userId: string, now: number): Promise<number> {
  const held = await listLocks(q, { holderId: userId }, now);
  for (const l of held) await removeLock(q, actor, l, 'user_disabled', now);
  return held.length;
}
