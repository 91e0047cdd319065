/**
 * WebDAV write locks (RFC 4918 §6–7), in the `locks` table so they survive a restart and are shared
 * by every process. A lock is keyed by its owner and a path from the owner's root made of name keys
 * ("/docs/report.odt", NFC + lower case, like the tree lookup), so it names the same resource
 * whichever way a client spells it. The token is the key, not the user: a write to a locked
 * resource needs the lock's token, submitted by the user who took it. Tokens reach the domain on
 * the actor (`withLockTokens`), so Drive enforces one rule for both doors: the JSON API never submits
 * tokens, so it cannot change a locked resource (423 `locked`). Who may remove a lock without
 * holding it lives in lock-breaking.ts; the SQL in server/db/repos/locks.ts.
 */
import { randomUUID } from 'node:crypto';
import { SMALL_TX, type Db, type Q } from '../db/index.js';
import { ancestry } from '../db/repos/nodes.js';
import {
  deleteLocksUnder,
  insertLock,
  listLocks,
  lockByToken,
  locksAround,
  ownerHasLocks,
  refreshLock,
  sweepExpiredLocks,
  within,
  type LockDepth,
  type LockRow,
  type LockScope,
  countActiveLocks,
} from '../db/repos/locks.js';
import { requireNode } from './access.js';
import { lockHolderOf, type Actor } from './actor.js';
import type { Clock } from './clock.js';
import { lockViews, mayBreak, removeLock, type LockView } from './lock-breaking.js';
import { DomainError, forbidden, notFound } from './errors.js';
import { nameKey } from './names.js';

export type { LockDepth, LockScope } from '../db/repos/locks.js';
export { isLockScope, within } from '../db/repos/locks.js';
export type ActiveLock = LockRow;

// ── tokens submitted with a request ───────────────────────────────────────────────────────

const submitted = new WeakMap<Actor, readonly string[]>();

/** The same actor, carrying the lock tokens its request submitted (WebDAV `If:`). */
export function withLockTokens(actor: Actor, tokens: readonly string[]): Actor {
  const a = { ...actor } as Actor;
  submitted.set(a, tokens);
  return a;
}

export function lockTokensOf(actor: Actor): readonly string[] {
  return submitted.get(actor) ?? [];
}

export function newLockToken(): string {
  return `urn:uuid:${randomUUID()}`;
}

// ── paths ─────────────────────────────────────────────────────────────────────────────────

export function keyPath(names: readonly string[]): string {
  return '/' + names.map(nameKey).join('/');
}

export function childPath(parent: string, name: string): string {
  return (parent === '/' ? '' : parent) + '/' + nameKey(name);
}

export function parentPath(path: string): string | null {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The owner and name-key path of a node. */
export async function nodeKeyPath(q: Q, nodeId: string): Promise<{ ownerId: string; path: string }> {
  const chain = await ancestry(q, nodeId);
  const node = chain[chain.length - 1];
  if (!node) throw new DomainError('not_found', 'Item not found');
  return { ownerId: node.ownerId, path: keyPath(chain.slice(1).map((n) => n.name)) };
}

export function covers(lock: ActiveLock, path: string): boolean {
  return lock.path === path || (lock.depth === 'infinity' && within(path, lock.path));
}

// ── the write rule shared by every mutation ─────────────────────────────────────────────

/**
 * One resource a mutation affects. `nodeId` names an existing node; `parentId` + `name` a member
 * being created. `recursive`: the whole subtree changes (delete, move away). `membership`: the
 * parent collection's membership changes (create, delete, move), which a lock on the parent protects.
 * `release`: once allowed, the locks on the resource and inside it are removed (it moved or went
 * to the bin: RFC 4918 §7.3, locks do not follow a MOVE).
 */
export type LockCheck =
  { nodeId: string; recursive?: boolean; membership?: boolean; release?: boolean } | { parentId: string; name: string };

/** Throws `locked` (423) when a check touches a lock whose token the actor did not submit. */
export async function assertUnlocked(
  q: Q,
  actor: Actor,
  ownerId: string,
  checks: LockCheck[],
  now: number,
): Promise<void> {
  if (!(await ownerHasLocks(q, ownerId, now))) return;
  const tokens = new Set(lockTokensOf(actor));
  const userId = lockHolderOf(actor);
  const held = (l: ActiveLock) => tokens.has(l.token) && l.userId === userId;
  for (const c of checks) {
    let path: string;
    let recursive = false;
    let membership = false;
    if ('nodeId' in c) {
      path = (await nodeKeyPath(q, c.nodeId)).path;
      recursive = !!c.recursive;
      membership = !!c.membership;
    } else {
      path = childPath((await nodeKeyPath(q, c.parentId)).path, c.name);
      membership = true;
    }
    const around = await locksAround(q, ownerId, path, now, recursive);
    // Each lock covering the resource (or inside a subtree that changes) needs its token; among
    // shared locks on the same resource any one of them will do.
    const onTarget = around.filter((l) => covers(l, path));
    if (onTarget.length > 0 && !onTarget.some(held)) throw lockedError(path);
    for (const l of around) if (!covers(l, path) && !held(l)) throw lockedError(l.path);
    const parent = parentPath(path);
    if (membership && parent !== null) {
      const direct = (await locksAround(q, ownerId, parent, now)).filter((l) => l.path === parent);
      if (direct.length > 0 && !direct.some(held)) throw lockedError(parent);
    }
    if ('nodeId' in c && c.release) await deleteLocksUnder(q, ownerId, path);
  }
}

export function lockedError(path: string): DomainError {
  return new DomainError('locked', 'The item is locked (WebDAV); unlock it first', { path });
}

// ── the use cases (WebDAV LOCK / UNLOCK / lockdiscovery; listing and breaking) ─────────────

export interface LockRequest {
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string | null;
  /** The requested timeout in seconds (`Infinity` for `Infinite`); undefined when the client asked for none. */
  timeoutSeconds?: number;
}

export interface LockLimits {
  /** The longest lock granted to the owner of the resource. */
  maxTimeoutSeconds: number;
  /** The longest lock granted to anyone else (a grantee editing through a share). */
  granteeMaxTimeoutSeconds: number;
}

/**
 * The timeout actually granted. RFC 4918 §10.7 lets a server grant less than asked; a grantee
 * gets a shorter cap than the owner, on a new lock and on every refresh, so a lock left by an
 * editor's client on the owner's folder lapses within the hour (issue 9).
 */
export function grantedTimeout(requested: number | undefined, grantee: boolean, limits: LockLimits): number {
  const cap = grantee ? Math.min(limits.granteeMaxTimeoutSeconds, limits.maxTimeoutSeconds) : limits.maxTimeoutSeconds;
  if (requested === undefined || Number.isNaN(requested)) return Math.min(3600, cap);
  return Math.max(1, Math.min(cap, requested));
}

export class Locks {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly limits: LockLimits,
  ) {}

  /** Takes a new lock on an existing node the actor may edit; a conflicting lock → `locked`. */
  async lock(actor: Actor, nodeId: string, req: LockRequest): Promise<ActiveLock> {
    const holder = lockHolderOf(actor);
    if (holder === null) throw new DomainError('forbidden', 'Only a signed-in user or a link visitor can lock');
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      await requireNode(tx, actor, nodeId, 'edit', now);
      await sweepExpiredLocks(tx, now);
      const { ownerId, path } = await nodeKeyPath(tx, nodeId);
      const around = await locksAround(tx, ownerId, path, now, req.depth === 'infinity');
      for (const l of around) {
        if (l.scope === 'exclusive' || req.scope === 'exclusive') throw lockedError(l.path);
      }
      const timeoutSeconds = grantedTimeout(req.timeoutSeconds, ownerId !== holder, this.limits);
      const lock: ActiveLock = {
        token: newLockToken(),
        ownerId,
        userId: holder,
        path,
        depth: req.depth,
        scope: req.scope,
        ownerXml: req.ownerXml,
        timeoutSeconds,
        expiresAt: now + timeoutSeconds * 1000,
        createdAt: now,
      };
      await insertLock(tx, lock);
      return lock;
    }, SMALL_TX);
  }

  /** Refreshes a lock covering the node, by its token and only by its holder; `undefined` when no such lock (412). */
  async refresh(
    actor: Actor,
    nodeId: string,
    token: string,
    requestedSeconds: number | undefined,
  ): Promise<ActiveLock | undefined> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const l = await this.covering(tx, nodeId, token, now);
      if (!l || l.userId !== lockHolderOf(actor)) return undefined;
      const timeoutSeconds = grantedTimeout(requestedSeconds, l.ownerId !== l.userId, this.limits);
      await refreshLock(tx, token, timeoutSeconds, now);
      return { ...l, timeoutSeconds, expiresAt: now + timeoutSeconds * 1000 };
    }, SMALL_TX);
  }

  /**
   * Removes the lock with this token if it covers the node (WebDAV UNLOCK): by its holder, or
   * broken by the resource's owner or an admin. False when no such lock covers it (409); someone
   * else holding the token gets `forbidden` (403, RFC 4918 §9.11.1).
   */
  async unlock(actor: Actor, nodeId: string, token: string): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      if (!(await this.covering(tx, nodeId, token, now))) return false;
      const [l] = await listLocks(tx, { token }, now);
      if (!l || !mayBreak(actor, l))
        throw forbidden('Only the holder of this lock, the owner of the item or an administrator can remove it');
      await removeLock(tx, actor, l, lockHolderOf(actor) === l.userId ? 'unlocked' : 'broken', now);
      return true;
    }, SMALL_TX);
  }

  /** Locks on the actor's own files; administrators may ask for one owner's (`ownerId`) or everyone's (`null`). */
  async list(actor: Actor, ownerId?: string | null): Promise<LockView[]> {
    if (actor.kind !== 'user') throw forbidden('Sign in to see locks');
    const other = ownerId !== undefined && ownerId !== actor.user.id;
    if (other && actor.user.role !== 'admin')
      throw forbidden("Only administrators can see locks on other users' files");
    const rows = await listLocks(
      this.db,
      { ownerId: ownerId === undefined ? actor.user.id : (ownerId ?? undefined), limit: 1000 },
      this.clock.now(),
    );
    return lockViews(this.db, actor, rows);
  }

  /** Locks that cover a node (on it, or depth infinity above it) or lie inside it; anyone who can see the node may ask. */
  async onNode(actor: Actor, nodeId: string): Promise<LockView[]> {
    const now = this.clock.now();
    await requireNode(this.db, actor, nodeId, 'view', now);
    const { ownerId, path } = await nodeKeyPath(this.db, nodeId);
    if (!(await ownerHasLocks(this.db, ownerId, now))) return [];
    const rows = (await listLocks(this.db, { ownerId }, now)).filter((l) => covers(l, path) || within(l.path, path));
    return lockViews(this.db, actor, rows);
  }

  /** Breaks a lock by its token (the JSON API): its holder, the resource's owner or an admin; anyone else → not_found. */
  async break(actor: Actor, token: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const [l] = await listLocks(tx, { token }, now);
      if (!l || actor.kind !== 'user' || !mayBreak(actor, l)) throw notFound('Lock');
      // Through the API even the holder's own removal is logged: it is not a client finishing an edit.
      await removeLock(tx, actor, l, actor.user.id === l.userId ? 'released' : 'broken', now);
    }, SMALL_TX);
  }

  /** The owner and name-key path of a node (for `If:` evaluation and lockdiscovery). */
  async pathOf(nodeId: string): Promise<{ ownerId: string; path: string }> {
    return nodeKeyPath(this.db, nodeId);
  }

  /** Unexpired locks covering the path, or (with `below`) inside it (one query on the owner's locks). */
  async around(ownerId: string, path: string, below: boolean): Promise<ActiveLock[]> {
    return locksAround(this.db, ownerId, path, this.clock.now(), below);
  }

  now(): number {
    return this.clock.now();
  }

  async byToken(token: string): Promise<ActiveLock | undefined> {
    return lockByToken(this.db, token, this.clock.now());
  }

  /** Unexpired locks, everyone's (what /metrics shows). */
  async countActive(): Promise<number> {
    return countActiveLocks(this.db, this.clock.now());
  }

  async sweep(): Promise<{ expired: number }> {
    return { expired: await sweepExpiredLocks(this.db, this.clock.now()) };
  }

  /** The unexpired lock with this token, if it covers the node. */
  private async covering(tx: Q, nodeId: string, token: string, now: number): Promise<ActiveLock | undefined> {
    const l = await lockByToken(tx, token, now);
    if (!l) return undefined;
    const { ownerId, path } = await nodeKeyPath(tx, nodeId);
    return l.ownerId === ownerId && covers(l, path) ? l : undefined;
  }
}
