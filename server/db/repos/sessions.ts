/** Ended sessions: the ids (jti) of signed tokens refused until they would have expired anyway. */
import { bool, type Q } from '../index.js';
import type { UserRow } from '../rows.js';
import { JOINED_USER_COLS, joinedUser } from './users.js';

/** What a signed session token is checked against, in one query: its user's row and whether its id was revoked. */
export async function sessionUser(
  q: Q,
  userId: string,
  jti: string,
): Promise<{ user: UserRow; revoked: boolean } | undefined> {
  const r = await q.get<Record<string, unknown>>(
    `SELECT ${JOINED_USER_COLS}, EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $jti) AS revoked
     FROM users u WHERE u.id = $userId`,
    { userId, jti },
  );
  return r && { user: joinedUser(r), revoked: bool(r.revoked) };
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
