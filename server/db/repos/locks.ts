/**
 * The `locks` table (WebDAV write locks). A lock is keyed by the owner of the resource and a path
 * of name keys from that owner's root ("/docs/report.odt"); `user_id` is the holder.
 */
import { num, type Q } from '../index.js';

/** RFC 4918 §14.13: a write lock is exclusive or shared; a LOCK body naming anything else is refused. */
const LOCK_SCOPES: readonly string[] = ['exclusive', 'shared'] satisfies LockScope[];
export type LockScope = 'exclusive' | 'shared';
export const isLockScope = (name: string): name is LockScope => LOCK_SCOPES.includes(name);
/** RFC 4918 §9.10.3: a lock covers its resource alone (0) or a folder and all it holds (infinity). */
export type LockDepth = '0' | 'infinity';

export interface LockRow {
  token: string;
  /** Owner of the locked resource. */
  ownerId: string;
  /** Holder: the user who took the lock. */
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

/** A lock with the usernames a listing shows. */
export interface LockListRow extends LockRow {
  holderName: string;
  ownerName: string;
  ownerRootId: string;
}

interface RawLock {
  token: string;
  owner_id: string;
  user_id: string;
  path: string;
  depth: string;
  scope: string;
  owner_xml: string | null;
  timeout_seconds: unknown;
  expires_at: unknown;
  created_at: unknown;
}

const toLock = (r: RawLock): LockRow => ({
  token: r.token,
  ownerId: r.owner_id,
  userId: r.user_id,
  path: r.path,
  depth: r.depth === '0' ? '0' : 'infinity',
  scope: r.scope === 'shared' ? 'shared' : 'exclusive',
  ownerXml: r.owner_xml,
  timeoutSeconds: num(r.timeout_seconds),
  expiresAt: num(r.expires_at),
  createdAt: num(r.created_at),
});

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** True when `path` is `root` or inside it. */
export function within(path: string, root: string): boolean {
  return path === root || root === '/' || path.startsWith(root + '/');
}

/** True when the owner has any unexpired lock (the fast path: most writes pay only this). */
export async function ownerHasLocks(q: Q, ownerId: string, now: number): Promise<boolean> {
  return !!(await q.get('SELECT 1 AS hit FROM locks WHERE owner_id = $ownerId AND expires_at > $now LIMIT 1', {
    ownerId,
    now,
  }));
}

/** Unexpired locks of an owner that cover `path` (on it, or depth infinity on an ancestor) or, with `below`, lie inside it. */
export async function locksAround(q: Q, ownerId: string, path: string, now: number, below = false): Promise<LockRow[]> {
  const rows = await q.all<RawLock>(
    `SELECT * FROM locks WHERE owner_id = $ownerId AND expires_at > $now
       AND (path = $path OR (depth = 'infinity' AND ($path LIKE path || '/%' ESCAPE '\\' OR path = '/'))
            OR ($below = 1 AND (path LIKE $prefix ESCAPE '\\' OR $path = '/')))`,
    { ownerId, now, path, below: below ? 1 : 0, prefix: likeEscape(path === '/' ? '' : path) + '/%' },
  );
  // LIKE is case-insensitive for ASCII and the escape is approximate: confirm in code.
  return rows
    .map(toLock)
    .filter(
      (l) => l.path === path || (l.depth === 'infinity' && within(path, l.path)) || (below && within(l.path, path)),
    );
}

export async function lockByToken(q: Q, token: string, now: number): Promise<LockRow | undefined> {
  const r = await q.get<RawLock>('SELECT * FROM locks WHERE token = $token AND expires_at > $now', { token, now });
  return r ? toLock(r) : undefined;
}

/** Unexpired locks with holder and owner names: on one owner's resources, held by one user, or both (or the one with `token`); at most `limit` (default: all). */
export async function listLocks(
  q: Q,
  filter: { ownerId?: string; holderId?: string; token?: string; limit?: number },
  now: number,
): Promise<LockListRow[]> {
  const where = ['l.expires_at > $now'];
  const params: Record<string, unknown> = { now };
  if (filter.ownerId) {
    where.push('l.owner_id = $ownerId');
    params.ownerId = filter.ownerId;
  }
  if (filter.holderId) {
    where.push('l.user_id = $holderId');
    params.holderId = filter.holderId;
  }
  if (filter.token) {
    where.push('l.token = $token');
    params.token = filter.token;
  }
  if (filter.limit !== undefined) params.limit = filter.limit;
  const rows = await q.all<RawLock & { holder_name: string; owner_name: string; owner_root_id: string }>(
    // A link visitor's lock names no user (user_id is "link:<id>").
    `SELECT l.*, COALESCE(h.username, 'link visitor') AS holder_name, o.username AS owner_name, o.root_id AS owner_root_id
     FROM locks l LEFT JOIN users h ON h.id = l.user_id JOIN users o ON o.id = l.owner_id
     WHERE ${where.join(' AND ')} ORDER BY l.owner_id, l.path, l.created_at${filter.limit !== undefined ? ' LIMIT $limit' : ''}`,
    params,
  );
  return rows.map((r) => ({
    ...toLock(r),
    holderName: r.holder_name,
    ownerName: r.owner_name,
    ownerRootId: r.owner_root_id,
  }));
}

/** How many unexpired locks exist (the metrics gauge). */
export async function countActiveLocks(q: Q, now: number): Promise<number> {
  const r = await q.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM locks WHERE expires_at > $now', { now });
  return Number(r?.n ?? 0);
}

/** Deletes expired rows (lazily on LOCK and from the scheduler). */
export async function sweepExpiredLocks(q: Q, now: number): Promise<number> {
  return q.run('DELETE FROM locks WHERE expires_at <= $now', { now });
}

export async function insertLock(q: Q, l: LockRow): Promise<void> {
  await q.run(
    `INSERT INTO locks (token, owner_id, user_id, path, depth, scope, owner_xml, timeout_seconds, expires_at, created_at)
     VALUES ($token, $ownerId, $userId, $path, $depth, $scope, $ownerXml, $timeoutSeconds, $expiresAt, $createdAt)`,
    { ...l },
  );
}

export async function refreshLock(q: Q, token: string, timeoutSeconds: number, now: number): Promise<void> {
  await q.run('UPDATE locks SET timeout_seconds = $t, expires_at = $e WHERE token = $token', {
    token,
    t: timeoutSeconds,
    e: now + timeoutSeconds * 1000,
  });
}

export async function deleteLock(q: Q, token: string): Promise<void> {
  await q.run('DELETE FROM locks WHERE token = $token', { token });
}

/** Removes the owner's locks on `path` and inside it (the resource moved or went to the bin). */
export async function deleteLocksUnder(q: Q, ownerId: string, path: string): Promise<void> {
  await q.run(`DELETE FROM locks WHERE owner_id = $ownerId AND (path = $path OR path LIKE $prefix ESCAPE '\\')`, {
    ownerId,
    path,
    prefix: likeEscape(path) + '/%',
  });
}
