/**
 * Throttling of password guesses: sign-in (per account and per IP), link passwords (per link and
 * per IP) and the current-password check of a password change (per account). Counters live in the
 * database, so every instance sees the same counts.
 *
 * Reserve, then settle. An attempt is counted BEFORE the expensive check (bcrypt), atomically, and
 * refused with rate_limited when a key is already at its limit; after the check a success clears
 * or refunds its keys and a failure leaves them counted. Counting after the check would let a
 * burst of parallel guesses all pass the "under the limit?" test before any of them was recorded.
 */
import { SMALL_TX, type Db, type Q } from '../db/index.js';
import { clearAttempts, countAttempt, deleteFinishedWindows, uncountAttempt } from '../db/repos/throttle.js';
import { rateLimited } from './errors.js';

export interface ThrottleRule {
  key: string;
  /** Attempts allowed in one window. */
  max: number;
  /**
   * What a successful check does to this key: `clear` forgets its earlier failures (the account
   * or link whose secret was just proven); `refund` only gives this attempt back (an IP shared by
   * many people keeps the failures of others).
   */
  onSuccess: 'clear' | 'refund';
}

export interface Reservation {
  readonly rules: readonly ThrottleRule[];
  /** The window each key's attempt was counted in, for a refund. */
  readonly windows: ReadonlyMap<string, number>;
}

/** One budget per account, whatever login (username or email, any case) names it. */
export const accountKey = (userId: string) => `account:${userId}`;
/** A login that names no account: keyed on its text, so unknown and known names are limited alike. */
export const unknownLoginKey = (login: string) => `login:${login.normalize('NFC').toLowerCase()}`;
export const ipKey = (ip: string | null | undefined) => `ip:${ip ?? 'unknown'}`;
export const linkKey = (linkId: string) => `link:${linkId}`;

/**
 * Counts one attempt against every rule in one write transaction, or none: when any key is at its
 * limit the transaction rolls back and the caller gets rate_limited with the seconds until that
 * key's window ends.
 */
export async function reserveAttempt(
  db: Db,
  rules: readonly ThrottleRule[],
  windowMs: number,
  now: number,
): Promise<Reservation> {
  const windows = new Map<string, number>();
  await db.tx(async (tx) => {
    for (const rule of rules) {
      const w = await countAttempt(tx, rule.key, rule.max, windowMs, now);
      if (!w.counted) throw rateLimited(Math.max(1, Math.ceil((w.windowStart + windowMs - now) / 1000)));
      windows.set(rule.key, w.windowStart);
    }
  }, SMALL_TX);
  return { rules, windows };
}

/** After a successful check, in the caller's transaction. A failed check needs no settling. */
export async function settleSuccess(tx: Q, reservation: Reservation): Promise<void> {
  for (const rule of reservation.rules) {
    if (rule.onSuccess === 'clear') await clearAttempts(tx, rule.key);
    else await uncountAttempt(tx, rule.key, reservation.windows.get(rule.key)!);
  }
}

/**
 * Gives the attempt back on every key without clearing earlier failures: a check that proved the
 * password but did not sign in (a second factor still to come, a door the account has closed).
 */
export async function refundAttempt(tx: Q, reservation: Reservation): Promise<void> {
  for (const rule of reservation.rules) await uncountAttempt(tx, rule.key, reservation.windows.get(rule.key)!);
}

/** Forgets counters whose window has ended (the daily cleanup job). */
export async function sweepThrottle(db: Db, windowMs: number, now: number): Promise<number> {
  return deleteFinishedWindows(db, now - windowMs);
}
