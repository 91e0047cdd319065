/** SQL on users: rows, credentials, administration and the user directory (share-dialog lookup). */
import { bool, num, type Q } from '../index.js';
import type { Role, UserRow } from '../rows.js';

export const USER_COLS =
  'id, username, email, role, quota_bytes, used_bytes, disabled, token_version, root_id, created_at, credentials_version, totp_enabled, display_name, last_login_at, notify_shares';

export interface RawUser {
  id: string;
  username: string;
  email: string;
  role: Role;
  quota_bytes: unknown;
  used_bytes: unknown;
  disabled: unknown;
  token_version: unknown;
  root_id: string;
  created_at: unknown;
  credentials_version: unknown;
  totp_enabled: unknown;
  display_name: string | null;
  last_login_at: unknown;
  notify_shares: unknown;
}

export function toUser(r: RawUser): UserRow {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    role: r.role,
    quotaBytes: num(r.quota_bytes),
    usedBytes: num(r.used_bytes),
    disabled: bool(r.disabled),
    tokenVersion: num(r.token_version),
    rootId: r.root_id,
    createdAt: num(r.created_at),
    credentialsVersion: num(r.credentials_version),
    totpEnabled: bool(r.totp_enabled),
    displayName: r.display_name ?? null,
    lastLoginAt: r.last_login_at === null || r.last_login_at === undefined ? null : num(r.last_login_at),
    notifyShares: bool(r.notify_shares),
  };
}

/**
 * The user columns as `u_<column>`, for a query that reads the user row (alias `u`) beside other
 * rows, e.g. with the path a request names (paths.ts); `joinedUser` reads them back.
 */
export const JOINED_USER_COLS = USER_COLS.split(', ')
  .map((c) => `u.${c} AS u_${c}`)
  .join(', ');

export function joinedUser(r: Record<string, unknown>): UserRow {
  return toUser(Object.fromEntries(USER_COLS.split(', ').map((c) => [c, r[`u_${c}`]])) as unknown as RawUser);
}

export async function getUser(q: Q, id: string): Promise<UserRow | undefined> {
  const r = await q.get<RawUser>(`SELECT ${USER_COLS} FROM users WHERE id = $id`, { id });
  return r && toUser(r);
}

/** The user whose username or email has this key (already lower-cased), with the password hash. */
export async function userByLoginKey(q: Q, key: string): Promise<(UserRow & { passwordHash: string }) | undefined> {
  const r = await q.get<RawUser & { password_hash: string }>(
    `SELECT ${USER_COLS}, password_hash FROM users WHERE username_key = $key OR email_key = $key LIMIT 1`,
    { key },
  );
  return r && { ...toUser(r), passwordHash: r.password_hash };
}

/** Which of a new user's keys is taken already: the username's, the email's, or neither. */
export async function takenUserKey(q: Q, usernameKey: string, emailKey: string): Promise<'username' | 'email' | null> {
  const clash = await q.get<{ username_key: string }>(
    'SELECT username_key FROM users WHERE username_key = $u OR email_key = $e LIMIT 1',
    { u: usernameKey, e: emailKey },
  );
  return clash === undefined ? null : clash.username_key === usernameKey ? 'username' : 'email';
}

export async function insertUserRow(
  tx: Q,
  u: UserRow & { usernameKey: string; emailKey: string; passwordHash: string },
): Promise<void> {
  await tx.run(
    `INSERT INTO users (id, username, username_key, email, email_key, password_hash, role, quota_bytes, root_id, created_at)
     VALUES ($id, $username, $ukey, $email, $ekey, $hash, $role, $quota, $rootId, $now)`,
    {
      id: u.id,
      username: u.username,
      ukey: u.usernameKey,
      email: u.email,
      ekey: u.emailKey,
      hash: u.passwordHash,
      role: u.role,
      quota: u.quotaBytes,
      rootId: u.rootId,
      now: u.createdAt,
    },
  );
}

export async function listUsers(q: Q): Promise<UserRow[]> {
  return (await q.all<RawUser>(`SELECT ${USER_COLS} FROM users WHERE deleted_at IS NULL ORDER BY username_key`)).map(
    toUser,
  );
}

export async function anyAdminId(q: Q): Promise<string | undefined> {
  return (await q.get<{ id: string }>("SELECT id FROM users WHERE role = 'admin' LIMIT 1"))?.id;
}

/** When the user last signed in through the API (WebDAV requests do not count: they are not sign-ins). */
export async function setLastLogin(tx: Q, id: string, now: number): Promise<void> {
  await tx.run('UPDATE users SET last_login_at = $now WHERE id = $id', { now, id });
}

/** Whether another user (not `exceptId`) has this email key (already lower-cased). */
export async function emailKeyTaken(q: Q, emailKey: string, exceptId: string): Promise<boolean> {
  return (
    (await q.get('SELECT id FROM users WHERE email_key = $e AND id <> $id', { e: emailKey, id: exceptId })) !==
    undefined
  );
}

export async function setEmail(tx: Q, id: string, email: string, emailKey: string): Promise<void> {
  await tx.run('UPDATE users SET email = $email, email_key = $key WHERE id = $id', { email, key: emailKey, id });
}

export async function setDisplayName(tx: Q, id: string, displayName: string | null): Promise<void> {
  await tx.run('UPDATE users SET display_name = $name WHERE id = $id', { name: displayName, id });
}

export async function setQuota(tx: Q, id: string, quotaBytes: number): Promise<void> {
  await tx.run('UPDATE users SET quota_bytes = $q WHERE id = $id', { q: quotaBytes, id });
}

export async function setRole(tx: Q, id: string, role: Role): Promise<void> {
  await tx.run('UPDATE users SET role = $r WHERE id = $id', { r: role, id });
}

/**
 * A token_version bump ends every session; the user's session rows go with it, so the devices list
 * never shows a session that can no longer be used. (Here rather than in sessions.ts, which reads
 * users and so cannot be imported back.)
 */
const DELETE_SESSIONS = 'DELETE FROM sessions WHERE user_id = $id';

/** Enables or disables a user; token_version moves too, which ends their sessions at once. */
export async function setDisabled(tx: Q, id: string, disabled: boolean): Promise<void> {
  await tx.run('UPDATE users SET disabled = $d, token_version = token_version + 1 WHERE id = $id', {
    d: disabled ? 1 : 0,
    id,
  });
  await tx.run(DELETE_SESSIONS, { id });
}

/** Ends every session and cached WebDAV credential of the user. */
export async function bumpTokenVersion(q: Q, id: string): Promise<void> {
  await q.run('UPDATE users SET token_version = token_version + 1 WHERE id = $id', { id });
  await q.run(DELETE_SESSIONS, { id });
}

export interface DirectoryRow {
  id: string;
  username: string;
  email: string;
  displayName: string | null;
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
  await tx.run(DELETE_SESSIONS, { id: userId });
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
    `SELECT id, username, email, display_name AS "displayName" FROM users
     WHERE (username_key LIKE $p ESCAPE '\\'${emailClause}) AND id <> $except AND disabled = FALSE
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
    `SELECT id, username, email, display_name AS "displayName", email_key FROM users
     WHERE (username_key = $key OR email_key = $key) AND id <> $except AND disabled = FALSE
     ORDER BY username_key`,
    { key, except: exceptId },
  );
  return rows.map(({ email_key, ...r }) => ({ ...r, byEmail: email_key === key }));
}
