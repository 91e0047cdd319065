/** SQL on users for credentials and the user directory (share-dialog lookup). */
import type { Q } from '../index.js';

export interface DirectoryRow {
  id: string;
  username: string;
  email: string;
}

export async function passwordHashOf(q: Q, userId: string): Promise<string | undefined> {
  return (await q.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $id', { id: userId }))
    ?.password_hash;
}

/** Sets a new password hash and bumps token_version, which ends every session and cached WebDAV credential. */
export async function setPasswordHash(tx: Q, userId: string, hash: string): Promise<void> {
  await tx.run('UPDATE users SET password_hash = $hash, token_version = token_version + 1 WHERE id = $id', {
    hash,
    id: userId,
  });
}

const escapeLike = (key: string) => key.replace(/[\\%_]/g, '\\$&');

/**
 * Enabled users other than `exceptId` whose username (and, with `byEmail`, email) starts with
 * `keyPrefix` (already lower-cased), by username.
 */
export async function usersByPrefix(
  q: Q,
  keyPrefix: string,
  opts: { byEmail: boolean; exceptId: string; limit: number },
): Promise<DirectoryRow[]> {
  const emailClause = opts.byEmail ? " OR email_key LIKE $p ESCAPE '\\'" : '';
  return q.all<DirectoryRow>(
    `SELECT id, username, email FROM users
     WHERE (username_key LIKE $p ESCAPE '\\'${emailClause}) AND id <> $except AND disabled = 0
     ORDER BY username_key LIMIT $limit`,
    { p: `${escapeLike(keyPrefix)}%`, except: opts.exceptId, limit: opts.limit },
  );
}

/** Enabled users other than `exceptId` whose username or email is exactly `key` (already lower-cased). */
export async function usersByExactKey(
  q: Q,
  key: string,
  exceptId: string,
): Promise<(DirectoryRow & { byEmail: boolean })[]> {
  const rows = await q.all<DirectoryRow & { email_key: string }>(
    `SELECT id, username, email, email_key FROM users
     WHERE (username_key = $key OR email_key = $key) AND id <> $except AND disabled = 0
     ORDER BY username_key`,
    { key, except: exceptId },
  );
  return rows.map(({ email_key, ...r }) => ({ ...r, byEmail: email_key === key }));
}
