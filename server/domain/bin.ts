/**
 * Recycle bin actions: restore, delete forever, empty, and the retention purge (system job).
 * Purging frees quota and releases blob references; the blob GC deletes unreferenced files later.
 */
import { num, type Db, type Q } from '../db/index.js';
import { childByKey, getNode, pathOfNode, touchFolder } from '../db/repos/nodes.js';
import { propertyBytesInTrash } from '../db/repos/properties.js';
import { systemActor, type Actor } from './actor.js';
import { record } from './activity.js';
import { releaseBlobRefs } from './blobs.js';
import type { Clock } from './clock.js';
import { forbidden, notFound } from './errors.js';
import { assertUnlocked } from './locks.js';
import { nameKey } from './names.js';
import { releaseBytes } from './quota.js';
import { isSharedFolderName } from './shared-folder.js';
import { requireUser } from './users.js';
import { dropVersions } from './versions.js';
import { versionsInTrash } from '../db/repos/versions.js';
import type { NodeRow, NodeView } from './types.js';

const DAY_MS = 24 * 3600 * 1000;

export class Bin {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly retentionDays: number,
  ) {}

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
      await tx.run(
        `UPDATE nodes SET deleted_at = NULL, trash_root_id = NULL, deleted_by = NULL, original_parent_id = NULL
         WHERE trash_root_id = $id AND id <> $id`,
        { id },
      );
      await tx.run(
        `UPDATE nodes SET deleted_at = NULL, trash_root_id = NULL, deleted_by = NULL, original_parent_id = NULL,
           parent_id = $parentId, name = $name, name_key = $key WHERE id = $id`,
        { id, parentId, name, key: nameKey(name) },
      );
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
    return this.purgeWhere(actor, 'n.owner_id = $ownerId', { ownerId: actor.user.id });
  }

  /** The retention job: purges items that have been in any bin longer than the retention period. */
  async purgeExpired(now = this.clock.now()): Promise<{ items: number; files: number; bytes: number }> {
    return this.purgeWhere(systemActor, 'n.deleted_at <= $cutoff', { cutoff: now - this.retentionDays * DAY_MS });
  }

  private async purgeWhere(actor: Actor, where: string, params: Record<string, unknown>) {
    const total = { items: 0, files: 0, bytes: 0 };
    // Batches keep each write transaction short.
    for (;;) {
      const done = await this.db.tx(async (tx) => {
        const roots = await tx.all<{ id: string }>(
          `SELECT n.id FROM nodes n WHERE n.deleted_at IS NOT NULL AND n.trash_root_id = n.id AND ${where} ORDER BY n.deleted_at LIMIT 50`,
          params,
        );
        for (const { id } of roots) {
          const r = await this.purgeIn(tx, actor, (await getNode(tx, id))!);
          total.items++;
          total.files += r.files;
          total.bytes += r.bytes;
        }
        return roots.length;
      });
      if (done < 50) return total;
    }
  }

  private async purgeIn(tx: Q, actor: Actor, item: NodeRow): Promise<{ files: number; bytes: number }> {
    const now = this.clock.now();
    const owner = await requireUser(tx, item.ownerId);
    const path = item.originalParentId
      ? `${(await pathOfNode(tx, item.originalParentId)).replace(/\/$/, '')}/${item.name}`
      : `/${item.name}`;
    // Items trashed earlier from inside this folder stay in the bin: re-home them under the root.
    await tx.run(
      `WITH RECURSIVE sub(id) AS (
         SELECT $id UNION ALL SELECT c.id FROM sub JOIN nodes c ON c.parent_id = sub.id AND c.trash_root_id = $id
       )
       UPDATE nodes SET parent_id = $rootId WHERE parent_id IN (SELECT id FROM sub) AND trash_root_id IS NOT NULL AND trash_root_id <> $id`,
      { id: item.id, rootId: owner.rootId },
    );
    const files = await tx.all<{ content_hash: string | null; size: unknown }>(
      "SELECT content_hash, size FROM nodes WHERE trash_root_id = $id AND kind = 'file'",
      { id: item.id },
    );
    const bytes = files.reduce((s, f) => s + num(f.size), 0);
    // Dead properties go with their nodes (ON DELETE CASCADE): release their bytes too, counted first.
    const propertyBytes = await propertyBytesInTrash(tx, item.id);
    // Versions go with their files (they counted toward the quota too).
    const versions = await versionsInTrash(tx, item.id);
    await dropVersions(tx, versions, now);
    await tx.run('DELETE FROM nodes WHERE trash_root_id = $id', { id: item.id });
    await releaseBytes(tx, item.ownerId, bytes + propertyBytes);
    await releaseBlobRefs(
      tx,
      files.filter((f) => f.content_hash).map((f) => f.content_hash!),
      now,
    );
    await record(
      tx,
      actor,
      {
        ownerId: item.ownerId,
        action: 'node.purged',
        nodeId: item.id,
        path,
        details: { name: item.name, files: files.length, bytes, versions: versions.length },
      },
      now,
    );
    return { files: files.length, bytes };
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
