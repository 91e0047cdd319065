/** Administration: users, quotas, roles. Every call needs an admin actor. */
import type { Db } from '../db/index.js';
import { systemStats, type SystemStats } from '../db/repos/stats.js';
import { isDeleted } from '../db/repos/user-deletion.js';
import { setDisabled, setPasswordHash, setQuota, setRole } from '../db/repos/users.js';
import type { Actor } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput, notFound } from './errors.js';
import { dropLocksOfUser } from './lock-breaking.js';
import { applyProfile, type ProfilePatch } from './profile.js';
import { listUsers, requireUser, validatePassword } from './users.js';
import type { Role, UserRow } from './types.js';

/** An admin, or the system itself (the offline `npm run user` tool, run by whoever holds the database). */
export function requireAdmin(actor: Actor): void {
  if (actor.kind === 'system') return;
  if (actor.kind !== 'user' || actor.user.role !== 'admin') throw forbidden('Administrators only');
}

export interface UserPatch extends ProfilePatch {
  quotaBytes?: number;
  disabled?: boolean;
  role?: Role;
  /** A new password: validated like registration's; it ends the user's sessions (token_version). */
  password?: string;
}

export type AdminStats = SystemStats;

export class Admin {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** The accounts' password hashing (bcrypt off the event loop), for a password an admin sets. */
    private readonly hashPassword: (password: string) => Promise<string>,
  ) {}

  async listUsers(actor: Actor): Promise<UserRow[]> {
    requireAdmin(actor);
    return listUsers(this.db);
  }

  /** System-wide counts: users, files, folders, logical bytes, bytes stored after dedup, bytes in bins. */
  async stats(actor: Actor): Promise<AdminStats> {
    requireAdmin(actor);
    return systemStats(this.db);
  }

  /**
   * Changes quota, role, disabled state, profile (display name, email) or password. Disabling and a
   * new password bump token_version, which ends the user's sessions at once; disabling drops their locks.
   */
  async updateUser(actor: Actor, id: string, patch: UserPatch): Promise<UserRow> {
    requireAdmin(actor);
    if (patch.quotaBytes !== undefined && (!Number.isSafeInteger(patch.quotaBytes) || patch.quotaBytes < 0)) {
      throw invalidInput('quotaBytes must be a whole number of bytes, 0 or more', { field: 'quotaBytes' });
    }
    const { password, displayName: _d, email: _e, ...settings } = patch;
    const hash = password === undefined ? undefined : await this.hashPassword(validatePassword(password));
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const user = await requireUser(tx, id);
      if (await isDeleted(tx, id)) throw notFound('User');
      if (actor.kind === 'user' && actor.user.id === id && (patch.disabled === true || patch.role === 'user')) {
        throw forbidden('You cannot disable or demote yourself');
      }
      if (patch.quotaBytes !== undefined) await setQuota(tx, id, patch.quotaBytes);
      if (patch.role !== undefined) await setRole(tx, id, patch.role);
      if (patch.disabled !== undefined && patch.disabled !== user.disabled) {
        await setDisabled(tx, id, patch.disabled);
        // A disabled user's locks would pin other people's files until they time out: they go now.
        if (patch.disabled) await dropLocksOfUser(tx, actor, id, now);
      }
      const profile = await applyProfile(tx, id, patch);
      if (Object.keys(settings).length > 0 || Object.keys(profile).length > 0) {
        await record(tx, actor, { ownerId: id, action: 'user.updated', details: { ...settings, ...profile } }, now);
      }
      if (hash !== undefined) {
        await setPasswordHash(tx, id, hash);
        await record(
          tx,
          actor,
          { ownerId: id, action: 'user.password_set', details: { username: user.username } },
          now,
        );
      }
      return requireUser(tx, id);
    });
  }
}
