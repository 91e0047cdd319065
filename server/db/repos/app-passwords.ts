/** SQL on app passwords (WebDAV credentials of their own, one per device) and the users' credentials version. */
import { num, numOrNull, type Q } from '../index.js';

export type AppPasswordScope = 'full' | 'read';

export interface AppPasswordRow {
  id: string;
  userId: string;
  name: string;
  scope: AppPasswordScope;
  createdAt: number;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
}

interface Raw {
  id: string;
  user_id: string;
  name: string;
  scope: AppPasswordScope;
  created_at: unknown;
  last_used_at: unknown;
  last_used_ip: string | null;
}

const COLS = 'id, user_id, name, scope, created_at, last_used_at, last_used_ip';
const toRow = (r: Raw): AppPasswordRow => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  scope: r.scope,
  createdAt: num(r.created_at),
  lastUsedAt: numOrNull(r.last_used_at),
  lastUsedIp: r.last_used_ip ?? null,
});

export async function appPasswordsOf(q: Q, userId: string): Promise<AppPasswordRow[]> {
  const rows = await q.all<Raw>(`SELECT ${COLS} FROM app_passwords WHERE user_id = $userId ORDER BY created_at, id`, {
    userId,
  });
  return rows.map(toRow);
}

/** The user's app password whose secret hashes to `hash` (unique), found by index. */
export async function appPasswordByHash(q: Q, userId: string, hash: string): Promise<AppPasswordRow | undefined> {
  const r = await q.get<Raw>(`SELECT ${COLS} FROM app_passwords WHERE hash = $hash AND user_id = $userId`, {
    hash,
    userId,
  });
  return r && toRow(r);
}

export async function insertAppPassword(tx: Q, row: AppPasswordRow & { hash: string }): Promise<void> {
  await tx.run(
    `INSERT INTO app_passwords (id, user_id, name, scope, hash, created_at)
     VALUES ($id, $userId, $name, $scope, $hash, $createdAt)`,
    { id: row.id, userId: row.userId, name: row.name, scope: row.scope, hash: row.hash, createdAt: row.createdAt },
  );
}

/** Deletes the user's app password `id`; the row as it was, or undefined when the user has no such one. */
export async function deleteAppPassword(tx: Q, userId: string, id: string): Promise<AppPasswordRow | undefined> {
  const r = await tx.get<Raw>(`SELECT ${COLS} FROM app_passwords WHERE id = $id AND user_id = $userId`, {
    id,
    userId,
  });
  if (r) await tx.run('DELETE FROM app_passwords WHERE id = $id', { id });
  return r && toRow(r);
}

/**
 * Notes a use at `now` from `ip` unless one was noted in the last `everyMs`: one conditional UPDATE,
 * so a busy client writes at most once a minute. Answers whether this was the first use ever
 * (`first`), or whether anything was written at all (`noted`).
 */
export async function noteAppPasswordUse(
  q: Q,
  id: string,
  now: number,
  ip: string | null,
  everyMs: number,
): Promise<{ noted: boolean; first: boolean }> {
  const first = await q.run(
    'UPDATE app_passwords SET last_used_at = $now, last_used_ip = $ip WHERE id = $id AND last_used_at IS NULL',
    { id, now, ip },
  );
  if (first > 0) return { noted: true, first: true };
  const later = await q.run(
    'UPDATE app_passwords SET last_used_at = $now, last_used_ip = $ip WHERE id = $id AND last_used_at <= $before',
    { id, now, ip, before: now - everyMs },
  );
  return { noted: later > 0, first: false };
}

/** Ends every cached WebDAV credential of the user (not their sessions): see migration 015. */
export async function bumpCredentialsVersion(q: Q, userId: string): Promise<void> {
  await q.run('UPDATE users SET credentials_version = credentials_version + 1 WHERE id = $id', { id: userId });
}
