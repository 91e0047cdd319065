/** Users: rows, validation, creation together with the home folder. */
import { randomUUID } from 'node:crypto';
import { bool, num, type Q } from '../db/index.js';
import { newEtag } from '../db/repos/nodes.js';
import { DomainError, invalidInput, notFound } from './errors.js';
import type { Role, UserRow } from './types.js';

export const USER_COLS =
  'id, username, email, role, quota_bytes, used_bytes, disabled, token_version, root_id, created_at';

interface RawUser {
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
  };
}

export async function getUser(q: Q, id: string): Promise<UserRow | undefined> {
  const r = await q.get<RawUser>(`SELECT ${USER_COLS} FROM users WHERE id = $id`, { id });
  return r && toUser(r);
}

/** By username or email, case-insensitively. */
export async function findUserByLogin(q: Q, login: string): Promise<(UserRow & { passwordHash: string }) | undefined> {
  const key = login.normalize('NFC').toLowerCase();
  const r = await q.get<RawUser & { password_hash: string }>(
    `SELECT ${USER_COLS}, password_hash FROM users WHERE username_key = $key OR email_key = $key LIMIT 1`,
    { key },
  );
  return r && { ...toUser(r), passwordHash: r.password_hash };
}

export async function requireUser(q: Q, id: string): Promise<UserRow> {
  const u = await getUser(q, id);
  if (!u) throw notFound('User');
  return u;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function validateUsername(username: unknown): string {
  if (typeof username !== 'string' || !USERNAME.test(username)) {
    throw invalidInput('A username has 1–64 letters, digits, ".", "_" or "-", and starts with a letter or digit', {
      field: 'username',
    });
  }
  return username;
}

export function validateEmail(email: unknown): string {
  if (typeof email !== 'string' || !EMAIL.test(email.trim()))
    throw invalidInput('Enter a valid email address', { field: 'email' });
  return email.trim();
}

export function validatePassword(password: unknown, field = 'password'): string {
  if (typeof password !== 'string' || password.length < 8)
    throw invalidInput('A password needs at least 8 characters', { field });
  if (password.length > 1024) throw invalidInput('A password can have at most 1024 characters', { field });
  return password;
}

/** Inserts the user and their home folder in the caller's transaction. */
export async function insertUser(
  tx: Q,
  u: { username: string; email: string; passwordHash: string; role: Role; quotaBytes: number },
  now: number,
): Promise<UserRow> {
  const username = validateUsername(u.username);
  const email = validateEmail(u.email);
  const clash = await tx.get<{ username_key: string }>(
    'SELECT username_key FROM users WHERE username_key = $u OR email_key = $e LIMIT 1',
    { u: username.toLowerCase(), e: email.toLowerCase() },
  );
  if (clash) {
    const field = clash.username_key === username.toLowerCase() ? 'username' : 'email';
    throw new DomainError('already_exists', `That ${field} is already taken`, { field });
  }
  const id = randomUUID();
  const rootId = randomUUID();
  await tx.run(
    `INSERT INTO users (id, username, username_key, email, email_key, password_hash, role, quota_bytes, root_id, created_at)
     VALUES ($id, $username, $ukey, $email, $ekey, $hash, $role, $quota, $rootId, $now)`,
    {
      id,
      username,
      ukey: username.toLowerCase(),
      email,
      ekey: email.toLowerCase(),
      hash: u.passwordHash,
      role: u.role,
      quota: u.quotaBytes,
      rootId,
      now,
    },
  );
  await tx.run(
    `INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, size, etag, created_at, modified_at)
     VALUES ($rootId, $id, NULL, 'folder', '', '', 0, $etag, $now, $now)`,
    { rootId, id, etag: newEtag(), now },
  );
  return {
    id,
    username,
    email,
    role: u.role,
    quotaBytes: u.quotaBytes,
    usedBytes: 0,
    disabled: false,
    tokenVersion: 0,
    rootId,
    createdAt: now,
  };
}

export async function listUsers(q: Q): Promise<UserRow[]> {
  return (await q.all<RawUser>(`SELECT ${USER_COLS} FROM users ORDER BY username_key`)).map(toUser);
}
