/**
 * Drive: the tree addressed by node id — what the API browses (stat, list, breadcrumbs) and every
 * change to it (create, upload, rename, move, copy, trash, bulk, modification times, dead
 * properties), actor first. Each mutation is one short IMMEDIATE transaction that checks access,
 * reserves quota, changes the tree and writes one activity row. The transaction bodies live in
 * tree-changes.ts and uploads.ts; path-addressed reads in namespace.ts, bytes in content.ts.
 */
import { SMALL_TX, type Db } from '../db/index.js';
import { ancestry, listChildren, touchFolder, type SortKey } from '../db/repos/nodes.js';
import { editSharedAmong } from '../db/repos/shares.js';
import { trashRootOf } from '../db/repos/trash.js';
import { setModifiedAt } from '../db/repos/tree.js';
import type { BlobStore } from '../../storage/index.js';
import { requireNode, resolveAccess } from './access.js';
import type { Actor } from './actor.js';
import { recordOn } from './activity.js';
import type { Clock } from './clock.js';
import { DomainError, invalidInput } from './errors.js';
import { assertUnlocked } from './locks.js';
import { validateName } from './names.js';
import { applyPropertyChanges, copyProperties, type PropertyChange } from './properties.js';
import { clearTarget, copyFolderAlone, copyIn, moveIn, trashIn } from './tree-changes.js';
import { ensureFree, insertNode, writableFolder } from './tree-rules.js';
import type { NodeView, Page } from './types.js';
import { Uploads } from './uploads.js';
import type { VersionPolicy } from './versions.js';

export interface ListOptions {
  sort?: SortKey;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

export type BulkAction = 'move' | 'copy' | 'trash';

export interface DriveLimits {
  /** Dead-property bytes one resource may hold (DAV_MAX_PROPERTY_BYTES). */
  maxPropertyBytes: number;
}

export class Drive {
  /**
   * Streams a body into a new file, or replaces an existing one when `overwrite` (same node id,
   * new content and ETag). Throws already_exists, quota_exceeded (before reading when the size is
   * known, or as soon as the body passes the remaining quota), precondition_failed (uploads.ts).
   */
  readonly upload: Uploads['upload'];
  /** Counts a body a transport spools before handing its files to `upload` among the uploads in flight (uploads.ts). */
  readonly reserveUpload: Uploads['reserve'];
  readonly uploadsInFlight: Uploads['inFlightCount'];
  /** The upload rules themselves, for the resumable uploads that commit through them (resumable-uploads.ts). */
  readonly uploads: Uploads;

  constructor(
    private readonly db: Db,
    blobs: BlobStore,
    private readonly clock: Clock,
    versionPolicy: VersionPolicy,
    private readonly limits: DriveLimits = { maxPropertyBytes: 64 * 1024 },
  ) {
    const uploads = new Uploads(db, blobs, clock, versionPolicy);
    this.upload = uploads.upload.bind(uploads);
    this.reserveUpload = uploads.reserve.bind(uploads);
    this.uploadsInFlight = uploads.inFlightCount.bind(uploads);
    this.uploads = uploads;
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────

  async stat(actor: Actor, id: string): Promise<NodeView> {
    const { node, access } = await requireNode(this.db, actor, id, 'view', this.clock.now());
    return { ...node, permission: access };
  }

  async list(actor: Actor, folderId: string, opts: ListOptions = {}): Promise<Page<NodeView>> {
    const { node, access } = await requireNode(this.db, actor, folderId, 'view', this.clock.now());
    if (node.kind !== 'folder') throw new DomainError('not_a_folder', 'This item is not a folder');
    const { rows, total } = await listChildren(this.db, folderId, {
      sort: opts.sort ?? 'name',
      order: opts.order ?? 'asc',
      offset: opts.offset ?? 0,
      limit: opts.limit ?? 1000,
    });
    // Access inherits downwards: a child has the folder's access, or more if it is shared itself.
    const upgraded =
      actor.kind === 'user' && access === 'view'
        ? await editSharedAmong(
            this.db,
            rows.map((r) => r.id),
            actor.user.id,
            this.clock.now(),
          )
        : new Set<string>();
    return { items: rows.map((r) => ({ ...r, permission: upgraded.has(r.id) ? 'edit' : access })), total };
  }

  /** Breadcrumbs: the ancestors the actor can see, root first, ending with the node itself. */
  async path(actor: Actor, id: string): Promise<NodeView[]> {
    const now = this.clock.now();
    const { access } = await requireNode(this.db, actor, id, 'view', now);
    const chain = await ancestry(this.db, id);
    if (access === 'owner') return chain.map((n) => ({ ...n, permission: 'owner' as const }));
    const visible: NodeView[] = [];
    for (const n of chain.reverse()) {
      const a = await resolveAccess(this.db, actor, n, now);
      if (a === 'none') break;
      visible.unshift({ ...n, permission: a });
    }
    return visible;
  }

  // ── writes ─────────────────────────────────────────────────────────────────────────────

  async createFolder(actor: Actor, parentId: string, rawName: string): Promise<NodeView> {
    const name = validateName(rawName);
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const parent = await writableFolder(tx, actor, parentId, now);
      await assertUnlocked(tx, actor, parent.ownerId, [{ parentId: parent.id, name }], now);
      await ensureFree(tx, parent, name);
      const node = await insertNode(tx, { ownerId: parent.ownerId, parentId: parent.id, kind: 'folder', name, now });
      await touchFolder(tx, parent.id, now);
      await recordOn(tx, actor, node, 'folder.created', now);
      return { ...node, permission: await resolveAccess(tx, actor, node, now) };
    }, SMALL_TX);
  }

  // A rename or move changes one row whatever the folder holds (its subtree follows its parent id): small.
  async rename(actor: Actor, id: string, rawName: string): Promise<NodeView> {
    return this.db.tx((tx) => moveIn(tx, actor, id, null, rawName, this.clock.now()), SMALL_TX);
  }

  /** Moves (and optionally renames) a node under another folder of the same owner. */
  async move(actor: Actor, id: string, parentId: string, opts: { name?: string } = {}): Promise<NodeView> {
    return this.db.tx((tx) => moveIn(tx, actor, id, parentId, opts.name ?? null, this.clock.now()), SMALL_TX);
  }

  /** Copies a file or a whole folder (metadata only: blobs are shared); charged to the target's owner. */
  async copy(actor: Actor, id: string, parentId: string, opts: { name?: string } = {}): Promise<NodeView> {
    return this.db.tx((tx) => copyIn(tx, actor, id, parentId, opts.name ?? null, this.clock.now()));
  }

  /** Moves a node and its subtree to the owner's recycle bin. */
  async trash(actor: Actor, id: string): Promise<void> {
    await this.db.tx((tx) => trashIn(tx, actor, id, this.clock.now()));
  }

  /** Moves, copies or trashes several nodes in one transaction: all succeed or nothing changes. */
  async bulk(actor: Actor, action: BulkAction, ids: string[], parentId?: string): Promise<NodeView[]> {
    if (ids.length === 0) throw invalidInput('ids must not be empty');
    if (new Set(ids).size !== ids.length) throw invalidInput('ids must not repeat');
    if (action !== 'trash' && !parentId) throw invalidInput('parentId is required for move and copy');
    return this.db.tx(async (tx) => {
      const out: NodeView[] = [];
      const trashed = new Set<string>();
      for (const id of ids) {
        const now = this.clock.now();
        if (action === 'move') out.push(await moveIn(tx, actor, id, parentId!, null, now));
        else if (action === 'copy') out.push(await copyIn(tx, actor, id, parentId!, null, now));
        else {
          // An item inside a folder selected before it already went to the bin with that folder.
          const root = await trashRootOf(tx, id);
          if (root && trashed.has(root)) continue;
          await trashIn(tx, actor, id, now);
          trashed.add(id);
        }
      }
      return out;
    });
  }

  /** Sets a file's modification time (WebDAV clients preserve dates this way). */
  async setModifiedAt(actor: Actor, id: string, modifiedAt: number): Promise<NodeView> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node, access } = await requireNode(tx, actor, id, 'edit', now);
      await assertUnlocked(tx, actor, node.ownerId, [{ nodeId: id }], now);
      await setModifiedAt(tx, id, modifiedAt);
      return { ...node, modifiedAt, permission: access };
    }, SMALL_TX);
  }

  /** PROPPATCH: dead-property changes in document order and an optional new modification time, all or nothing. */
  async patchProperties(
    actor: Actor,
    id: string,
    changes: PropertyChange[],
    modifiedAt: number | null,
  ): Promise<NodeView> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node, access } = await requireNode(tx, actor, id, 'edit', now);
      await assertUnlocked(tx, actor, node.ownerId, [{ nodeId: id }], now);
      await applyPropertyChanges(tx, node, changes, this.limits.maxPropertyBytes);
      if (modifiedAt !== null) await setModifiedAt(tx, id, modifiedAt);
      const updated = { ...node, modifiedAt: modifiedAt ?? node.modifiedAt };
      await recordOn(tx, actor, updated, 'node.modified', now, {
        properties: changes.length,
        ...(modifiedAt !== null ? { modifiedAt } : {}),
      });
      return { ...updated, permission: access };
    }, SMALL_TX);
  }

  /**
   * MOVE with the WebDAV Overwrite rule, in one transaction: an existing target is moved to the
   * recycle bin first (or precondition_failed without `overwrite`).
   */
  async moveReplacing(
    actor: Actor,
    id: string,
    parentId: string,
    name: string,
    overwrite: boolean,
  ): Promise<{ node: NodeView; replaced: boolean }> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const replaced = await clearTarget(tx, actor, id, { parentId, name, overwrite }, now);
      return { node: await moveIn(tx, actor, id, parentId, name, now), replaced };
    });
  }

  /**
   * COPY with the Overwrite rule (see moveReplacing); `shallow` copies a folder without its members
   * (Depth: 0). The copy keeps the dead properties of the node copied (RFC 4918 §9.8.2).
   */
  async copyReplacing(
    actor: Actor,
    id: string,
    parentId: string,
    name: string,
    opts: { overwrite: boolean; shallow: boolean },
  ): Promise<{ node: NodeView; replaced: boolean }> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const replaced = await clearTarget(tx, actor, id, { parentId, name, overwrite: opts.overwrite }, now);
      const { node: source } = await requireNode(tx, actor, id, 'view', now);
      const node =
        opts.shallow && source.kind === 'folder'
          ? await copyFolderAlone(tx, actor, source, parentId, name, now)
          : await copyIn(tx, actor, id, parentId, name, now);
      await copyProperties(tx, source.id, node);
      return { node, replaced };
    });
  }
}
