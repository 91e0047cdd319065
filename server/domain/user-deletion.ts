/**
 * Deleting a user (issue 12). With `transferTo`, their files and folders (with versions and dead
 * properties) move into a new folder "From <username>" in the target's home folder, charged to the
 * target's quota — 507 and nothing changes if they do not fit; without it they are deleted for good
 * through the bin's own purge path (blob references released; the GC frees the bytes). Either way
 * their bin is purged, every share and link they made or were given ends, their WebDAV locks go and
 * their sessions end.
 *
 * The user row is kept and marked deleted rather than removed. nodes, shares and sessions point at
 * users(id) with foreign keys on both SQLite and PostgreSQL, and other tables of the accounts work
 * (app passwords, two-factor secrets) will too; activity rows name owners and actors by id with a
 * username snapshot. Keeping the row keeps every one of those references valid on both databases
 * without a cascade that could delete the log, and the account's home folder (empty now) stays its
 * root. The row is disabled, its sessions and credentials end, and its username and email keys are
 * freed (server/db/repos/user-deletion.ts), so no sign-in can reach it and the names can be reused.
 */
import type { Db, Q } from '../db/index.js';
import { childByKey, touchFolder } from '../db/repos/nodes.js';
import { trashSubtree } from '../db/repos/trash.js';
import {
  deleteLocksOnTreeOf,
  deleteNodeProperties,
  deleteSharesAround,
  isDeleted,
  liveChildIds,
  liveHoldings,
  markUserDeleted,
  otherAdminCount,
  sharesAround,
  transferLiveTree,
} from '../db/repos/user-deletion.js';
import type { Actor } from './actor.js';
import { record, recordOn } from './activity.js';
import { requireAdmin } from './admin.js';
import type { Bin } from './bin.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput, notFound } from './errors.js';
import { dropLocksOfUser } from './lock-breaking.js';
import { nameKey } from './names.js';
import { releaseBytes, reserveBytes } from './quota.js';
import { insertNode } from './tree-rules.js';
import { requireUser } from './users.js';
import type { UserRow } from './types.js';

export interface DeletionResult {
  /** The folder the files went to, in the target's home folder; null when they were deleted. */
  folderId: string | null;
  files: number;
  bytes: number;
}

export class UserDeletion {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly bin: Bin,
  ) {}

  /**
   * One transaction, so a refusal (quota, last admin) changes nothing and a crash leaves the
   * account whole. It holds the write lock for as long as the account's rows take to change: an
   * administrator's rare action, traded for never leaving an account half deleted.
   */
  async delete(actor: Actor, id: string, transferTo?: string): Promise<DeletionResult> {
    requireAdmin(actor);
    if (actor.kind === 'user' && actor.user.id === id) throw forbidden('You cannot delete your own account');
    if (transferTo === id) throw invalidInput('Transfer the files to another user', { field: 'transferTo' });
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const user = await liveUser(tx, id, 'User');
      if (user.role === 'admin' && (await otherAdminCount(tx, id)) === 0) {
        throw forbidden('This is the last administrator; make someone else an administrator first');
      }
      const target = transferTo === undefined ? null : await liveUser(tx, transferTo, 'Transfer target');
      // Shares end first, so each is logged for the owner of its folder before anything moves.
      await endAccess(tx, actor, id, now);
      const held = await liveHoldings(tx, id);
      let folderId: string | null = null;
      if (target) {
        await reserveBytes(tx, target.id, held.bytes); // 507 here rolls everything back
        await this.bin.purgeAllOf(tx, actor, id);
        folderId = await this.moveInto(tx, actor, user, target, held.bytes, now);
      } else {
        for (const child of await liveChildIds(tx, user.rootId)) {
          await trashSubtree(tx, { id: child, now, by: actor.kind === 'user' ? actor.user.id : null });
        }
        await this.bin.purgeAllOf(tx, actor, id);
      }
      await releaseBytes(tx, id, await deleteNodeProperties(tx, user.rootId));
      await markUserDeleted(tx, id, now);
      await record(
        tx,
        actor,
        {
          ownerId: id,
          action: 'user.deleted',
          details: { username: user.username, transferredTo: target?.username ?? null, files: held.files },
        },
        now,
      );
      return { folderId, files: held.files, bytes: held.bytes };
    });
  }

  /** Moves the live tree into a new "From <username>" folder of the target; returns its id. */
  private async moveInto(tx: Q, actor: Actor, user: UserRow, target: UserRow, bytes: number, now: number) {
    const name = await freeFolderName(tx, target.rootId, `From ${user.username}`);
    const folder = await insertNode(tx, { ownerId: target.id, parentId: target.rootId, kind: 'folder', name, now });
    await transferLiveTree(tx, { fromId: user.id, fromRootId: user.rootId, toId: target.id, folderId: folder.id });
    await releaseBytes(tx, user.id, bytes);
    await touchFolder(tx, target.rootId, now);
    await recordOn(tx, actor, folder, 'folder.created', now, { transferredFrom: user.username });
    return folder.id;
  }
}

/** A user that exists and is not deleted; anything else is not_found. */
async function liveUser(q: Q, id: string, what: string): Promise<UserRow> {
  const user = await requireUser(q, id).catch(() => undefined);
  if (!user || (await isDeleted(q, id))) throw notFound(what);
  return user;
}

/** Shares and links around the user end (logged for the owner of each), and their WebDAV locks go. */
async function endAccess(tx: Q, actor: Actor, userId: string, now: number): Promise<void> {
  for (const s of await sharesAround(tx, userId)) {
    const action = s.kind === 'link' ? 'link.revoked' : 'share.revoked';
    await recordOn(tx, actor, { id: s.nodeId, ownerId: s.ownerId }, action, now, { reason: 'user_deleted' });
  }
  await deleteSharesAround(tx, userId);
  await dropLocksOfUser(tx, actor, userId, now);
  await deleteLocksOnTreeOf(tx, userId);
}

/** "From alice", else "From alice (2)", "From alice (3)", … */
async function freeFolderName(q: Q, parentId: string, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base} (${n})`;
    if (!(await childByKey(q, parentId, nameKey(name)))) return name;
  }
}
