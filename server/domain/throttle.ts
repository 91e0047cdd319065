/**
 * Failed sign-in throttling, per username and per IP, kept in the database so that every
 * instance sees the same counts. A key is blocked once it has `max` failures inside the window.
 */
import { num, type Q } from '../db/index.js';
import { rateLimited } from './errors.js';

export interface ThrottleRule {
  key: string;
  max: number;
}

export async function checkThrottle(q: Q, rules: ThrottleRule[], windowMs: number, now: number): Promise<void> {
  for (const rule of rules) {
    const r = await q.get<{ failures: unknown; window_start: unknown }>('SELECT failures, window_start FROM login_failures WHERE key = $key', { key: rule.key });
    if (!r) continue;
    const start = num(r.window_start);
    if (now - start < windowMs && num(r.failures) >= rule.max) {
      throw rateLimited(Math.max(1, Math.ceil((start + windowMs - now) / 1000)));
    }
  }
}

export async function recordFailure(tx: Q, keys: string[], windowMs: number, now: number): Promise<void> {
  for (const key of keys) {
    await tx.run(
      `INSERT INTO login_failures (key, failures, window_start) VALUES ($key, 1, $now)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN $now - login_failures.window_start >= $window THEN 1 ELSE login_failures.failures + 1 END,
         window_start = CASE WHEN $now - login_failures.window_start >= $window THEN $now ELSE login_failures.window_start END`,
      { key, now, window: windowMs },
    );
  }
}

export async function clearFailures(tx: Q, key: string): Promise<void> {
  await tx.run('DELETE FROM login_failures WHERE key = $key', { key });
}
