/**
 * A user's profile: display name and email, changed by the user (PATCH /api/auth/me) or an admin
 * (PATCH /api/admin/users/:id) under the same rules, in the caller's transaction.
 */
import type { Q } from '../db/index.js';
import { emailKeyTaken, setDisplayName, setEmail } from '../db/repos/users.js';
import { DomainError, invalidInput } from './errors.js';
import { validateEmail } from './users.js';

export interface ProfilePatch {
  /** null or blank: no display name (the username is shown). */
  displayName?: string | null;
  email?: string;
}

const MAX_DISPLAY_NAME = 100;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A display name as stored: NFC, trimmed, at most 100 characters, no control characters; blank is none. */
export function validateDisplayName(name: unknown): string | null {
  if (name === null) return null;
  if (typeof name !== 'string') throw invalidInput('displayName must be a string', { field: 'displayName' });
  const clean = name.normalize('NFC').trim();
  if (clean === '') return null;
  if ([...clean].length > MAX_DISPLAY_NAME || CONTROL.test(clean)) {
    throw invalidInput(`A display name has at most ${MAX_DISPLAY_NAME} characters and no control characters`, {
      field: 'displayName',
    });
  }
  return clean;
}

/** Applies the fields present; returns what changed (for the activity log). */
export async function applyProfile(tx: Q, userId: string, patch: ProfilePatch): Promise<Record<string, unknown>> {
  const changed: Record<string, unknown> = {};
  if (patch.displayName !== undefined) {
    const displayName = validateDisplayName(patch.displayName);
    await setDisplayName(tx, userId, displayName);
    changed.displayName = displayName;
  }
  if (patch.email !== undefined) {
    const email = validateEmail(patch.email);
    const key = email.toLowerCase();
    if (await emailKeyTaken(tx, key, userId)) {
      throw new DomainError('already_exists', 'That email is already taken', { field: 'email' });
    }
    await setEmail(tx, userId, email, key);
    changed.email = email;
  }
  return changed;
}
