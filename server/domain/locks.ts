/**
 * WebDAV write locks (RFC 4918 §6–7), in the `locks` table so they survive a restart and are shared
 * by every process. A lock is keyed by its owner and a path from the owner's root made of name keys
 * ("/docs/report.odt", NFC + lower case, like the tree lookup), so it names the same resource
 * whichever way a client spells it. The token is the key, not the user: a write to a locked
 * resource needs the lock's token, submitted by the user who took it. Tokens reach the domain on
 * the actor (`withLockTokens`), so Drive enforces one rule for both doors: the JSON API never submits
 * tokens, so it cannot change a locked resource (423 `locked`).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Q } from '../db/index.js';
import { num } from '../db/index.js';
import { ancestry } from '../db/queries/nodes.js';
import { requireNode } from './access.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { DomainError } from './errors.js';
import { nameKey } from './names.js';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = '0' | 'infinity';

export interface ActiveLock {
  token: string;
  ownerId: string;
  userId: string;
  /** Name-key path from the owner's root ("/a/b"; "/" is the root). */
  path: string;
  depth: LockDepth;
  scope: LockScope;
  ownerXml: string | null;
  timeoutSeconds: number;
  expiresAt: number;
  createdAt: number;
}

interface RawLock {
  token: string; owner_id: string; user_id: string; path: string; depth: string; scope: string;
  owner_xml: string | null; timeout_seconds: unknown; expires_at: unknown; created_at: unknown;
}

const toLock = (r: RawLock): ActiveLock => ({
  token: r.token, ownerId: r.owner_id, userId: r.user_id, path: r.path, depth: r.depth === '0' ? '0' : 'infinity',
  scope: r.scope === 'shared' ? 'shared' : 'exclusive', ownerXml: r.owner_xml, timeoutSeconds: num(r.timeout_seconds),
  expiresAt: num(r.expires_at), createdAt: num(r.created_at),
});

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

/** True when `path` is `root` or inside it. */
export function within(path: string, root: string): boolean {
  return path === root || root === '/' || path.startsWith(root + '/');
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

// ── queries ───────────────────────────────────────────────────────────────────────────────

/** True when the owner has any unexpired lock (the fast path: most writes pay only this). */
export async function ownerHasLocks(q: Q, ownerId: string, now: number): Promise<boolean> {
  return !!(await q.get('SELECT 1 AS hit FROM locks WHERE owner_id = $ownerId AND expires_at > $now LIMIT 1', { ownerId, now }));
}

/** Unexpired locks of an owner that cover `path` (on it, or depth infinity on an ancestor) or, with `below`, lie inside it. */
export async function locksAround(q: Q, ownerId: string, path: string, now: number, below = false): Promise<ActiveLock[]> {
  const rows = await q.all<RawLock>(
    `SELECT * FROM locks WHERE owner_id = $ownerId AND expires_at > $now
       AND (path = $path OR (depth = 'infinity' AND ($path LIKE path || '/%' ESCAPE '\\' OR path = '/'))
            OR ($below = 1 AND (path LIKE $prefix ESCAPE '\\' OR $path = '/')))`,
    { ownerId, now, path, below: below ? 1 : 0, prefix: likeEscape(path === '/' ? '' : path) + '/%' },
  );
  // LIKE is case-insensitive for ASCII and the escape is approximate: confirm in code.
  return rows.map(toLock).filter((l) => l.path === path || (l.depth === 'infinity' && within(path, l.path)) || (below && within(l.path, path)));
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

export function covers(lock: ActiveLock, path: string): boolean {
  return lock.path === path || (lock.depth === 'infinity' && within(path, lock.path));
}

export async function lockByToken(q: Q, token: string, now: number): Promise<ActiveLock | undefined> {
  const r = await q.get<RawLock>('SELECT * FROM locks WHERE token = $token AND expires_at > $now', { token, now });
  return r ? toLock(r) : undefined;
}

/** Deletes expired rows (lazily on LOCK and from the scheduler). */
export async function sweepExpiredLocks(q: Q, now: number): Promise<number> {
  return q.run('DELETE FROM locks WHERE expires_at <= $now', { now });
}

export async function insertLock(q: Q, l: ActiveLock): Promise<void> {
  await q.run(
    `INSERT INTO locks (token, owner_id, user_id, path, depth, scope, owner_xml, timeout_seconds, expires_at, created_at)
     VALUES ($token, $ownerId, $userId, $path, $depth, $scope, $ownerXml, $timeoutSeconds, $expiresAt, $createdAt)`,
    { ...l },
  );
}

export async function refreshLock(q: Q, token: string, timeoutSeconds: number, now: number): Promise<void> {
  await q.run('UPDATE locks SET timeout_seconds = $t, expires_at = $e WHERE token = $token', { token, t: timeoutSeconds, e: now + timeoutSeconds * 1000 });
}

export async function deleteLock(q: Q, token: string): Promise<void> {
  await q.run('DELETE FROM locks WHERE token = $token', { token });
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
  | { nodeId: string; recursive?: boolean; membership?: boolean; release?: boolean }
  | { parentId: string; name: string };

/** Throws `locked` (423) when a check touches a lock whose token the actor did not submit. */
export async function assertUnlocked(q: Q, actor: Actor, ownerId: string, checks: LockCheck[], now: number): Promise<void> {
  if (!(await ownerHasLocks(q, ownerId, now))) return;
  const tokens = new Set(lockTokensOf(actor));
  const userId = actor.kind === 'user' ? actor.user.id : null;
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
    if ('nodeId' in c && c.release) {
      await q.run(`DELETE FROM locks WHERE owner_id = $ownerId AND (path = $path OR path LIKE $prefix ESCAPE '\\')`,
        { ownerId, path, prefix: likeEscape(path) + '/%' });
    }
  }
}

export function lockedError(path: string): DomainError {
  return new DomainError('locked', 'The item is locked (WebDAV); unlock it first', { path });
}

// ── the use cases (WebDAV LOCK / UNLOCK / lockdiscovery) ─────────────────────────────────

export interface LockRequest {
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string | null;
  timeoutSeconds: number;
}

export class Locks {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Takes a new lock on an existing node the actor may edit; a conflicting lock → `locked`. */
  async lock(actor: Actor, nodeId: string, req: LockRequest): Promise<ActiveLock> {
    if (actor.kind !== 'user') throw new DomainError('forbidden', 'Only a signed-in user can lock');
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      await requireNode(tx, actor, nodeId, 'edit', now);
      await sweepExpiredLocks(tx, now);
      const { ownerId, path } = await nodeKeyPath(tx, nodeId);
      const around = await locksAround(tx, ownerId, path, now, req.depth === 'infinity');
      for (const l of around) {
        if (l.scope === 'exclusive' || req.scope === 'exclusive') throw lockedError(l.path);
      }
      const lock: ActiveLock = {
        token: newLockToken(), ownerId, userId: actor.user.id, path, depth: req.depth, scope: req.scope, ownerXml: req.ownerXml,
        timeoutSeconds: req.timeoutSeconds, expiresAt: now + req.timeoutSeconds * 1000, createdAt: now,
      };
      await insertLock(tx, lock);
      return lock;
    });
  }

  /** Refreshes a lock covering the node, by its token; `undefined` when no such lock (412). */
  async refresh(actor: Actor, nodeId: string, token: string, timeoutSeconds: number): Promise<ActiveLock | undefined> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const l = await this.held(tx, actor, nodeId, token, now);
      if (!l) return undefined;
      await refreshLock(tx, token, timeoutSeconds, now);
      return { ...l, timeoutSeconds, expiresAt: now + timeoutSeconds * 1000 };
    });
  }

  /** Removes the lock with this token if it covers the node; false when there is none (409). */
  async unlock(actor: Actor, nodeId: string, token: string): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const l = await this.held(tx, actor, nodeId, token, now);
      if (!l) return false;
      await deleteLock(tx, token);
      return true;
    });
  }

  /** The owner and name-key path of a node (for `If:` evaluation and lockdiscovery). */
  async pathOf(nodeId: string): Promise<{ ownerId: string; path: string }> {
    return nodeKeyPath(this.db, nodeId);
  }

  /** Unexpired locks covering the path, or (with `below`) inside it; nothing when the owner has none. */
  async around(ownerId: string, path: string, below: boolean): Promise<ActiveLock[]> {
    const now = this.clock.now();
    if (!(await ownerHasLocks(this.db, ownerId, now))) return [];
    return locksAround(this.db, ownerId, path, now, below);
  }

  now(): number {
    return this.clock.now();
  }

  async byToken(token: string): Promise<ActiveLock | undefined> {
    return lockByToken(this.db, token, this.clock.now());
  }

  async sweep(): Promise<{ expired: number }> {
    return { expired: await sweepExpiredLocks(this.db, this.clock.now()) };
  }

  private async held(tx: Q, actor: Actor, nodeId: string, token: string, now: number): Promise<ActiveLock | undefined> {
    const l = await lockByToken(tx, token, now);
    if (!l || actor.kind !== 'user' || l.userId !== actor.user.id) return undefined;
    const { ownerId, path } = await nodeKeyPath(tx, nodeId);
    return l.ownerId === ownerId && covers(l, path) ? l : undefined;
  }
}
