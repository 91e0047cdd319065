/** Ended sessions: the ids (jti) of signed tokens refused until they would have expired anyway. */
import type { Q } from '../index.js';

export async function isRevoked(q: Q, jti: string): Promise<boolean> {
  return (await q.get('SELECT 1 AS r FROM revoked_tokens WHERE jti = $jti', { jti })) !== undefined;
}

export async function revokeToken(tx: Q, jti: string, expiresAt: number): Promise<void> {
  await tx.run('INSERT INTO revoked_tokens (jti, expires_at) VALUES ($jti, $exp) ON CONFLICT (jti) DO NOTHING', {
    jti,
    exp: expiresAt,
  });
}

/** Forgets revocations of tokens that have expired by `now` (they are refused for their expiry alone). */
export async function deleteExpiredRevocations(q: Q, now: number): Promise<number> {
  return q.run('DELETE FROM revoked_tokens WHERE expires_at < $now', { now });
}
