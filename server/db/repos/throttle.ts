/**
 * Attempt counters for throttling (sign-in, link passwords, password change), one row per key
 * with a fixed window. The domain decides keys, limits and when to count (server/domain/throttle.ts).
 */
import { num, type Q } from '../index.js';

export interface ThrottleWindow {
  /** False when the key already had `max` attempts in its current window: nothing was counted. */
  counted: boolean;
  attempts: number;
  windowStart: number;
}

/**
 * Counts one attempt on `key` unless it is already at `max` inside its window, as ONE conditional
 * upsert: two racing attempts cannot both slip under the limit. A finished window starts afresh.
 * Run it in a write transaction (the read of the result must see this statement's row).
 */
export async function countAttempt(
  tx: Q,
  key: string,
  max: number,
  windowMs: number,
  now: number,
): Promise<ThrottleWindow> {
  const changed = await tx.run(
    `INSERT INTO throttle_counts (key, attempts, window_start) VALUES ($key, 1, $now)
     ON CONFLICT (key) DO UPDATE SET
       attempts = CASE WHEN $now - throttle_counts.window_start >= $window THEN 1 ELSE throttle_counts.attempts + 1 END,
       window_start = CASE WHEN $now - throttle_counts.window_start >= $window THEN $now ELSE throttle_counts.window_start END
     WHERE $now - throttle_counts.window_start >= $window OR throttle_counts.attempts < $max`,
    { key, now, window: windowMs, max },
  );
  const row = await tx.get<{ attempts: unknown; window_start: unknown }>(
    'SELECT attempts, window_start FROM throttle_counts WHERE key = $key',
    { key },
  );
  return { counted: changed > 0, attempts: num(row?.attempts), windowStart: num(row?.window_start) };
}

/** Takes back one attempt counted in the window that started at `windowStart` (a later window never owed it). */
export async function uncountAttempt(tx: Q, key: string, windowStart: number): Promise<void> {
  await tx.run(
    'UPDATE throttle_counts SET attempts = attempts - 1 WHERE key = $key AND window_start = $windowStart AND attempts > 0',
    { key, windowStart },
  );
}

export async function clearAttempts(tx: Q, key: string): Promise<void> {
  await tx.run('DELETE FROM throttle_counts WHERE key = $key', { key });
}

/** Drops counters whose window started before `before` (they no longer limit anything). */
export async function deleteFinishedWindows(q: Q, before: number): Promise<number> {
  return q.run('DELETE FROM throttle_counts WHERE window_start < $before', { before });
}
