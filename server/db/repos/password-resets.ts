/** Outstanding password-reset links, found by the sha256 of their token (the token is only in the mail). */
import { num, type Q } from '../index.js';

export interface ResetRow {
  userId: string;
  expiresAt: number;
}

/** The user's earlier links end: only the newest one works. */
export async function replaceReset(
  tx: Q,
  r: { tokenHash: string; userId: string; createdAt: number; expiresAt: number },
): Promise<void> {
  await tx.run('DELETE FROM password_resets WHERE user_id = $userId', { userId: r.userId });
  await tx.run(
    `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
     VALUES ($hash, $userId, $createdAt, $expiresAt)`,
    { hash: r.tokenHash, userId: r.userId, createdAt: r.createdAt, expiresAt: r.expiresAt },
  );
}

export async function resetByHash(q: Q, tokenHash: string): Promise<ResetRow | undefined> {
  const r = await q.get<{ user_id: string; expires_at: unknown }>(
    'SELECT user_id, expires_at FROM password_resets WHERE token_hash = $hash',
    { hash: tokenHash },
  );
  return r && { userId: r.user_id, expiresAt: num(r.expires_at) };
}

/**
 * Uses up a link that has not expired by `now`, as ONE conditional delete: of two resets racing
 * with the same link only one removes the row. True when this call did.
 */
export async function consumeReset(tx: Q, tokenHash: string, now: number): Promise<boolean> {
  return (
    (await tx.run('DELETE FROM password_resets WHERE token_hash = $hash AND expires_at > $now', {
      hash: tokenHash,
      now,
    })) === 1
  );
}

export async function deleteResetsOf(tx: Q, userId: string): Promise<void> {
  await tx.run('DELETE FROM password_resets WHERE user_id = $userId', { userId });
}
