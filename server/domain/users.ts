/** Users: rows, validation, creation together with the home folder. */
import { randomUUID } from 'node:crypto';
import type { Q } from '../db/index.js';
import { insertRootFolder, newNodeId } from '../db/repos/nodes.js';
import { getUser, insertUserRow, takenUserKey, userByLoginKey } from '../db/repos/users.js';
import { DomainError, invalidInput, notFound } from './errors.js';
import type { Role, UserRow } from './types.js';

export { getUser, listUsers } from '../db/repos/users.js';

/** By username or email, case-insensitively. */
export async function findUserByLogin(q: Q, login: string): Promise<(UserRow & { passwordHash: string }) | undefined> {
  return userByLoginKey(q, login.normalize('NFC').toLowerCase());
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
  const field = await takenUserKey(tx, username.toLowerCase(), email.toLowerCase());
  if (field) throw new DomainError('already_exists', `That ${field} is already taken`, { field });
  const user: UserRow = {
    id: randomUUID(),
    username,
    email,
    role: u.role,
    quotaBytes: u.quotaBytes,
    usedBytes: 0,
    disabled: false,
    tokenVersion: 0,
    rootId: newNodeId(),
    createdAt: now,
    credentialsVersion: 0,
    totpEnabled: false,
    displayName: null,
    lastLoginAt: null,
    notifyShares: true,
  };
  await insertUserRow(tx, {
    ...user,
    usernameKey: username.toLowerCase(),
    emailKey: email.toLowerCase(),
    passwordHash: u.passwordHash,
  });
  await insertRootFolder(tx, { id: user.rootId, ownerId: user.id, now });
  return user;
}
