/** Sessions (signed-in devices): one row per signed token, keyed by the token's id (jti). */
import { num, type Q } from '../index.js';
import type { UserRow } from '../rows.js';
import { JOINED_USER_COLS, joinedUser } from './users.js';

export interface SessionRow {
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
}

interface RawSession {
  id: string;
  user_id: string;
  created_at: unknown;
  last_seen_at: unknown;
  expires_at: unknown;
  ip: string | null;
  user_agent: string | null;
}

const SESSION_COLS = 'id, user_id, created_at, last_seen_at, expires_at, ip, user_agent';

const toSession = (r: RawSession): SessionRow => ({
  id: r.id,
  userId: r.user_id,
  createdAt: num(r.created_at),
  lastSeenAt: num(r.last_seen_at),
  expiresAt: num(r.expires_at),
  ip: r.ip,
  userAgent: r.user_agent,
});

/**
 * What a signed session token is checked against, in one query: its user's row and, when the
 * session row exists, belongs to that user and has not expired by `now`, when it was last seen.
 */
export async function sessionUser(
  q: Q,
  userId: string,
  jti: string,
  now: number,
): Promise<{ user: UserRow; session: { lastSeenAt: number } | null } | undefined> {
  const r = await q.get<Record<string, unknown>>(
    `SELECT ${JOINED_USER_COLS}, s.last_seen_at AS s_last_seen_at
     FROM users u LEFT JOIN sessions s ON s.id = $jti AND s.user_id = u.id AND s.expires_at > $now
     WHERE u.id = $userId`,
    { userId, jti, now },
  );
  if (!r) return undefined;
  const seen = r.s_last_seen_at;
  return { user: joinedUser(r), session: seen === null || seen === undefined ? null : { lastSeenAt: num(seen) } };
}

export async function insertSession(q: Q, s: SessionRow): Promise<void> {
  await q.run(
    `INSERT INTO sessions (${SESSION_COLS}) VALUES ($id, $userId, $createdAt, $lastSeenAt, $expiresAt, $ip, $userAgent)`,
    { ...s },
  );
}

/** Moves last_seen_at to `now` unless another request (on any instance) already did since `since`. */
export async function touchSession(q: Q, id: string, now: number, since: number): Promise<void> {
  await q.run('UPDATE sessions SET last_seen_at = $now WHERE id = $id AND last_seen_at <= $since', { id, now, since });
}

/** The user's sessions that have not expired by `now`, newest first. */
export async function sessionsOf(q: Q, userId: string, now: number): Promise<SessionRow[]> {
  const rows = await q.all<RawSession>(
    `SELECT ${SESSION_COLS} FROM sessions WHERE user_id = $userId AND expires_at > $now ORDER BY created_at DESC, id`,
    { userId, now },
  );
  return rows.map(toSession);
}

/** Deletes one session of the user; 0 when the user has no session with that id. */
export async function deleteSession(q: Q, userId: string, id: string): Promise<number> {
  return q.run('DELETE FROM sessions WHERE id = $id AND user_id = $userId', { id, userId });
}

/** Forgets sessions that have expired by `now` (they are refused for their expiry alone). */
export async function deleteExpiredSessions(q: Q, now: number): Promise<number> {
  return q.run('DELETE FROM sessions WHERE expires_at <= $now', { now });
}
