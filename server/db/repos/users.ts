/** SQL on users for credentials. */
import type { Q } from '../index.js';

export async function passwordHashOf(q: Q, userId: string): Promise<string | undefined> {
  return (await q.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $id', { id: userId }))?.password_hash;
}

/** Sets a new password hash and bumps token_version, which ends every session and cached WebDAV credential. */
export async function setPasswordHash(tx: Q, userId: string, hash: string): Promise<void> {
  await tx.run('UPDATE users SET password_hash = $hash, token_version = token_version + 1 WHERE id = $id', { hash, id: userId });
}
