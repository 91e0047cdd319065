/**
 * Recycle bin actions: restore, delete forever, empty, and the retention purge (system job).
 * Purging frees quota and releases blob references; the blob GC deletes unreferenced files later.
 */
import type { Db, Q } from '../db/index.js';
import { releaseRefsOfTrash } from '../db/repos/blobs.js';
import { childByKey, getNode, pathOfNode, touchFolder } from '../db/repos/nodes.js';
import { propertyBytesInTrash } from '../db/repos/properties.js';
import {
  deleteTrashed,
  rehomeTrashedInside,
  restoreSubtree,
  trashBytesOfOwner,
  trashedFiles,
  trashRootsOfOwner,
  trashRootsToPurge,
  type TrashRow,
} from '../db/repos/trash.js';
import { systemActor, type Actor } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { forbidden, notFound } from './errors.js';
import { assertUnlocked } from './locks.js';
import { nameKey, nameKeys } from './names.js';
import { releaseBytes } from './quota.js';
import { isSharedFolderName } from './shared-folder.js';
import { requireUser } from './users.js';
import { dropVersions } from './versions.js';
import { versionsInTrash } from '../db/repos/versions.js';
import type { NodeRow, NodeView } from './types.js';

const DAY_MS = 24 * 3600 * 1000;
const PURGE_BATCH = 50;

type PurgeWhich = Parameters<typeof trashRootsToPurge>[1];
type PurgeTotal = { items: number; files: number; bytes: number };

export interface TrashItem extends TrashRow {
  originalPath: string;
}

export class Bin {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly retentionDays: number,
  ) {}

  /** The actor's recycle bin: trashed roots, newest first, with the path each was trashed from. */
  async list(actor: Actor): Promise<TrashItem[]> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user has a recycle bin');
    const items: TrashItem[] = [];
    for (const row of await trashRootsOfOwner(this.db, actor.user.id)) {
      const parentPath = row.originalParentId ? await pathOfNode(this.db, row.originalParentId) : '/';
      items.push({ ...row, originalPath: `${parentPath === '/' ? '' : parentPath}/${row.name}` });
    }
    return items;
  }

  /** Bytes in the actor's bin (they count toward the quota until purged). */
  async bytes(actor: Actor): Promise<number> {
    return actor.kind === 'user' ? trashBytesOfOwner(this.db, actor.user.id) : 0;
  }

  /**
   * Puts a trashed item back where it was; to the home folder if that folder is gone;
   * with a " (restored)" suffix if the name is taken there now. Like every other write it adds a
   * member to a folder: a WebDAV lock on that folder refuses it (423; the API holds no tokens),
   * and the name reserved at the top of a drive counts as taken.
   */
  async restore(actor: Actor, id: string): Promise<NodeView> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const item = await this.trashRoot(tx, actor, id);
      const owner = await requireUser(tx, item.ownerId);
      const original = item.originalParentId ? await getNode(tx, item.originalParentId) : undefined;
      const parentId =
        original && original.deletedAt === null && original.ownerId === item.ownerId ? original.id : owner.rootId;
      const name = await freeName(tx, parentId, item.name, item.kind === 'file', parentId === owner.rootId);
      await assertUnlocked(tx, actor, item.ownerId, [{ parentId, name }], now);
      await restoreSubtree(tx, { id, parentId, name, ...nameKeys(name) });
      await touchFolder(tx, parentId, now);
      const restored: NodeRow = { ...item, parentId, name, deletedAt: null, trashRootId: null, originalParentId: null };
      await record(
        tx,
        actor,
        {
          ownerId: item.ownerId,
          action: 'node.restored',
          nodeId: id,
          path: await pathOfNode(tx, id),
          details: { name, toRoot: parentId === owner.rootId && parentId !== item.originalParentId },
        },
        now,
      );
      return { ...restored, permission: 'owner' };
    });
  }

  /** Deletes one trashed item forever. */
  async purge(actor: Actor, id: string): Promise<{ files: number; bytes: number }> {
    return this.db.tx(async (tx) => {
      const item = await this.trashRoot(tx, actor, id);
      return this.purgeIn(tx, actor, item);
    });
  }

  /** Deletes everything in the actor's bin forever. */
  async empty(actor: Actor): Promise<{ items: number; files: number; bytes: number }> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user has a recycle bin');
    return this.purgeWhere(actor, { ownerId: actor.user.id });
  }

  /** The retention job: purges items that have been in any bin longer than the retention period. */
  async purgeExpired(now = this.clock.now()): Promise<{ items: number; files: number; bytes: number }> {
    return this.purgeWhere(systemActor, { cutoff: now - this.retentionDays * DAY_MS });
  }

  /** Purges everything in one owner's bin inside the caller's transaction (an account being deleted). */
  async purgeAllOf(tx: Q, actor: Actor, ownerId: string): Promise<PurgeTotal> {
    const total = { items: 0, files: 0, bytes: 0 };
    while ((await this.purgeBatch(tx, actor, { ownerId }, total)) === PURGE_BATCH);
    return total;
  }

  private async purgeWhere(actor: Actor, which: PurgeWhich): Promise<PurgeTotal> {
    const total = { items: 0, files: 0, bytes: 0 };
    // Batches keep each write transaction short.
    while ((await this.db.tx((tx) => this.purgeBatch(tx, actor, which, total))) === PURGE_BATCH);
    return total;
  }

  /** Purges up to PURGE_BATCH trashed roots, adding to `total`; returns how many it found. */
  private async purgeBatch(tx: Q, actor: Actor, which: PurgeWhich, total: PurgeTotal): Promise<number> {
    const roots = await trashRootsToPurge(tx, which, PURGE_BATCH);
    for (const id of roots) {
      const r = await this.purgeIn(tx, actor, (await getNode(tx, id))!);
      total.items++;
      total.files += r.files;
      total.bytes += r.bytes;
    }
    return roots.length;
  }

  private async purgeIn(tx: Q, actor: Actor, item: NodeRow): Promise<{ files: number; bytes: number }> {
    const now = this.clock.now();
    const owner = await requireUser(tx, item.ownerId);
    const path = item.originalParentId
      ? `${(await pathOfNode(tx, item.originalParentId)).replace(/\/$/, '')}/${item.name}`
      : `/${item.name}`;
    // Items trashed earlier from inside this folder stay in the bin: re-home them under the root.
    await rehomeTrashedInside(tx, item.id, owner.rootId);
    const { files, bytes } = await trashedFiles(tx, item.id);
    // Dead properties go with their nodes (ON DELETE CASCADE): release their bytes too, counted first.
    const propertyBytes = await propertyBytesInTrash(tx, item.id);
    // Versions go with their files (they counted toward the quota too).
    const versions = await versionsInTrash(tx, item.id);
    await dropVersions(tx, versions, now);
    await releaseRefsOfTrash(tx, item.id, now);
    await deleteTrashed(tx, item.id);
    await releaseBytes(tx, item.ownerId, bytes + propertyBytes);
    await record(
      tx,
      actor,
      {
        ownerId: item.ownerId,
        action: 'node.purged',
        nodeId: item.id,
        path,
        details: { name: item.name, files, bytes, versions: versions.length },
      },
      now,
    );
    return { files, bytes };
  }

  /** A trashed root in the actor's own bin; anything else is not_found. */
  private async trashRoot(q: Q, actor: Actor, id: string): Promise<NodeRow> {
    const node = await getNode(q, id);
    const mine = actor.kind === 'system' || (actor.kind === 'user' && node?.ownerId === actor.user.id);
    if (!node || !mine || node.deletedAt === null || node.trashRootId !== node.id)
      throw notFound('Item in the recycle bin');
    return node;
  }
}

/** "name", else "name (restored)", else "name (restored 2)", … ("Shared with me" is taken at the top of a drive). */
async function freeName(q: Q, parentId: string, name: string, isFile: boolean, atRoot: boolean): Promise<string> {
  const taken = async (n: string) => (atRoot && isSharedFolderName(n)) || !!(await childByKey(q, parentId, nameKey(n)));
  if (!(await taken(name))) return name;
  const dot = isFile ? name.lastIndexOf('.') : -1;
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; ; n++) {
    const candidate = `${stem} (restored${n > 1 ? ` ${n}` : ''})${ext}`;
    if (!(await taken(candidate))) return candidate;
  }
}
