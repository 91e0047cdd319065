/**
 * A user's profile: display name and email, changed by the user (PATCH /api/auth/me) or an admin
 * (PATCH /api/admin/users/:id) under the same rules, in the caller's transaction.
 */
import type { Db, Q } from '../db/index.js';
import { emailKeyTaken, setDisplayName, setEmail } from '../db/repos/users.js';
import type { Actor } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { DomainError, forbidden, invalidInput } from './errors.js';
import { requireUser, validateEmail } from './users.js';
import type { UserRow } from './types.js';

export interface ProfilePatch {
  /** null or blank: no display name (the username is shown). */
  displayName?: string | null;
  email?: string;
}

/** Checks the actor's own password (Accounts.confirmPassword): throttled, throws when wrong. */
export type ConfirmPassword = (actor: Actor, currentPassword: unknown) => Promise<void>;

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

/** The signed-in user's own profile. */
export class Profiles {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly confirmPassword: ConfirmPassword,
  ) {}

  /**
   * Changes the actor's display name and/or email (logged as user.updated, old email beside the
   * new). A new email needs the current password: password reset links go to it, so a stolen
   * session could otherwise turn itself into the account.
   */
  async update(actor: Actor, patch: ProfilePatch & { currentPassword?: string }): Promise<UserRow> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user has a profile');
    const me = actor.user;
    const { currentPassword, ...fields } = patch;
    if (fields.email !== undefined && fields.email.trim().toLowerCase() !== me.email.toLowerCase()) {
      await this.confirmPassword(actor, currentPassword);
    }
    return this.db.tx(async (tx) => {
      const changed = await applyProfile(tx, me.id, fields);
      if (changed.email !== undefined) changed.previousEmail = me.email;
      if (Object.keys(changed).length > 0) {
        await record(tx, actor, { ownerId: me.id, action: 'user.updated', details: changed }, this.clock.now());
      }
      return requireUser(tx, me.id);
    });
  }
}
