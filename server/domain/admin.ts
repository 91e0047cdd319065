/** Administration: users, quotas, roles. Every call needs an admin actor. */
import { num, type Db } from '../db/index.js';
import type { Actor } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput } from './errors.js';
import { dropLocksOfUser } from './lock-breaking.js';
import { listUsers, requireUser } from './users.js';
import type { Role, UserRow } from './types.js';

export function requireAdmin(actor: Actor): void {
  if (actor.kind !== 'user' || actor.user.role !== 'admin') throw forbidden('Administrators only');
}

export interface UserPatch {
  quotaBytes?: number;
  disabled?: boolean;
  role?: Role;
}

export interface AdminStats {
  users: number;
  disabledUsers: number;
  files: number;
  folders: number;
  logicalBytes: number;
  trashBytes: number;
  trashItems: number;
  storedBytes: number;
  blobs: number;
  quotaBytes: number;
  userShares: number;
  links: number;
}

export class Admin {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async listUsers(actor: Actor): Promise<UserRow[]> {
    requireAdmin(actor);
    return listUsers(this.db);
  }

  /** System-wide counts: users, files, folders, logical bytes, bytes stored after dedup, bytes in bins. */
  async stats(actor: Actor): Promise<AdminStats> {
    requireAdmin(actor);
    const r = await this.db.get<Record<string, unknown>>(
      `SELECT
         (SELECT COUNT(*) FROM users) AS users,
         (SELECT COUNT(*) FROM users WHERE disabled = 1) AS disabled_users,
         (SELECT COUNT(*) FROM nodes WHERE kind = 'file' AND deleted_at IS NULL) AS files,
         (SELECT COUNT(*) FROM nodes WHERE kind = 'folder' AND deleted_at IS NULL AND parent_id IS NOT NULL) AS folders,
         (SELECT COALESCE(SUM(size), 0) FROM nodes WHERE kind = 'file' AND deleted_at IS NULL) AS logical_bytes,
         (SELECT COALESCE(SUM(size), 0) FROM nodes WHERE kind = 'file' AND deleted_at IS NOT NULL) AS trash_bytes,
         (SELECT COUNT(*) FROM nodes WHERE deleted_at IS NOT NULL AND trash_root_id = id) AS trash_items,
         (SELECT COALESCE(SUM(size), 0) FROM blobs) AS stored_bytes,
         (SELECT COUNT(*) FROM blobs) AS blobs,
         (SELECT COALESCE(SUM(quota_bytes), 0) FROM users) AS quota_bytes,
         (SELECT COUNT(*) FROM shares WHERE kind = 'user') AS user_shares,
         (SELECT COUNT(*) FROM shares WHERE kind = 'link') AS links`,
    );
    const n = (k: string) => num(r?.[k]);
    return {
      users: n('users'),
      disabledUsers: n('disabled_users'),
      files: n('files'),
      folders: n('folders'),
      logicalBytes: n('logical_bytes'),
      trashBytes: n('trash_bytes'),
      trashItems: n('trash_items'),
      storedBytes: n('stored_bytes'),
      blobs: n('blobs'),
      quotaBytes: n('quota_bytes'),
      userShares: n('user_shares'),
      links: n('links'),
    };
  }

  /** Changes quota, role or disabled state. Disabling bumps token_version, which ends the user's sessions at once, and drops their locks. */
  async updateUser(actor: Actor, id: string, patch: UserPatch): Promise<UserRow> {
    requireAdmin(actor);
    if (patch.quotaBytes !== undefined && (!Number.isSafeInteger(patch.quotaBytes) || patch.quotaBytes < 0)) {
      throw invalidInput('quotaBytes must be a whole number of bytes, 0 or more', { field: 'quotaBytes' });
    }
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const user = await requireUser(tx, id);
      if (actor.kind === 'user' && actor.user.id === id && (patch.disabled === true || patch.role === 'user')) {
        throw forbidden('You cannot disable or demote yourself');
      }
      if (patch.quotaBytes !== undefined)
        await tx.run('UPDATE users SET quota_bytes = $q WHERE id = $id', { q: patch.quotaBytes, id });
      if (patch.role !== undefined) await tx.run('UPDATE users SET role = $r WHERE id = $id', { r: patch.role, id });
      if (patch.disabled !== undefined && patch.disabled !== user.disabled) {
        await tx.run('UPDATE users SET disabled = $d, token_version = token_version + 1 WHERE id = $id', {
          d: patch.disabled ? 1 : 0,
          id,
        });
        // A disabled user's locks would pin other people's files until they time out: they go now.
        if (patch.disabled) await dropLocksOfUser(tx, actor, id, now);
      }
      await record(tx, actor, { ownerId: id, action: 'user.updated', details: { ...patch } }, now);
      return requireUser(tx, id);
    });
  }
}
