/**
 * Sessions (the devices a user is signed in on): one row per signed token, keyed by the token's id.
 * A token is honoured only while its row exists and has not expired — read in the same query as
 * the user row (sessionUser) — so ending a session, on any instance, refuses it at its next request.
 */
import type { Db, Q } from '../db/index.js';
import { deleteExpiredSessions, deleteSession, insertSession, sessionsOf, touchSession } from '../db/repos/sessions.js';
import type { Actor, Origin } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { forbidden, notFound } from './errors.js';

/** last_seen_at moves at most this often per session: a write a minute, never a write per request. */
export const SEEN_RESOLUTION_MS = 60_000;

export interface SessionView {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** Records a new session for a token just signed (id = its jti), in the caller's transaction. */
export async function openSession(
  q: Q,
  s: { id: string; userId: string; origin: Origin; now: number; expiresAt: number },
): Promise<void> {
  await insertSession(q, {
    id: s.id,
    userId: s.userId,
    createdAt: s.now,
    lastSeenAt: s.now,
    expiresAt: s.expiresAt,
    ip: s.origin.ip ?? null,
    userAgent: s.origin.userAgent?.slice(0, 512) ?? null,
  });
}

/** Notes a request of the session, unless one was noted within SEEN_RESOLUTION_MS. */
export async function noteSeen(db: Db, id: string, lastSeenAt: number, now: number): Promise<void> {
  const since = now - SEEN_RESOLUTION_MS;
  if (lastSeenAt > since) return;
  await touchSession(db, id, now, since);
}

export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** The actor's live sessions, newest first; `currentId` marks the one making the request. */
  async list(actor: Actor, currentId: string | undefined): Promise<SessionView[]> {
    const rows = await sessionsOf(this.db, signedIn(actor).id, this.clock.now());
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.createdAt,
      lastSeenAt: r.lastSeenAt,
      ip: r.ip,
      userAgent: r.userAgent,
      current: r.id === currentId,
    }));
  }

  /** Ends one of the actor's sessions; someone else's (or an unknown) id is not found. */
  async end(actor: Actor, id: string): Promise<void> {
    const user = signedIn(actor);
    const now = this.clock.now();
    await this.db.tx(async (tx) => {
      if ((await deleteSession(tx, user.id, id)) === 0) throw notFound('Session');
      await record(tx, actor, { ownerId: user.id, action: 'auth.session_ended', details: { session: id } }, now);
    });
  }

  /** The daily clean-up: sessions past their expiry go. */
  async sweep(): Promise<number> {
    return deleteExpiredSessions(this.db, this.clock.now());
  }
}

function signedIn(actor: Actor) {
  if (actor.kind !== 'user') throw forbidden('Only a signed-in user has sessions');
  return actor.user;
}
