/**
 * Drive: every file and folder use case, actor first. Each mutation is one short IMMEDIATE
 * transaction that checks access, reserves quota, changes the tree and writes one activity row.
 * Transports (API, WebDAV, jobs) only translate to these methods.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import mime from 'mime-types';
import type { Db, Q } from '../db/index.js';
import {
  ancestry,
  childByKey,
  getLiveNode,
  insertNodeRow,
  isSelfOrAncestor,
  listChildren,
  liveSubtree,
  relativePaths,
  newEtag,
  pathOfNode,
  replaceContent,
  touchFolder,
  type SortKey,
} from '../db/repos/nodes.js';
import { editSharedAmong } from '../db/repos/shares.js';
import { trashRootOf, trashSubtree } from '../db/repos/trash.js';
import { copySubtree, placeNode, setModifiedAt, subtreeFiles } from '../db/repos/tree.js';
import type { BlobStore, StagedBlob } from '../../storage/index.js';
import type { Actor } from './actor.js';
import { record, type Action } from './activity.js';
import { requireNode, resolveAccess, atLeast } from './access.js';
import { addBlobRef, addRefsOfSubtree, blobChecksums, releaseBlobRefs } from '../db/repos/blobs.js';
import type { Clock } from './clock.js';
import { alreadyExists, DomainError, forbidden, invalidInput, isOutOfSpace, storageFull } from './errors.js';
import { InFlightUploads, metered, type UploadTicket } from './in-flight.js';
import { nameKey, numberedName, validateName } from './names.js';
import { authorOf, fateOfReplaced, keepAsVersion, type Author, type VersionPolicy } from './versions.js';
import { remainingBytes, reserveBytes } from './quota.js';
import type { NodeRow, NodeView, Page } from './types.js';
import { applyPropertyChanges, copyProperties, type PropertyChange } from './properties.js';
import { assertUnlocked } from './locks.js';
import { assertNotReserved } from './shared-folder.js';

export interface UploadOptions {
  /** Content-Length (or X-Expected-Entity-Length) when known: refused up front if it cannot fit. */
  expectedSize?: number | null;
  overwrite?: boolean;
  /** Client-supplied modification time (X-OC-Mtime, PROPPATCH), epoch ms. */
  modifiedAt?: number;
  /** Called once the request is accepted, just before the body is read (sends `100 Continue`). */
  beforeRead?: () => void;
  /** Only replace when the current ETag matches (If-Match); `null` = only create (If-None-Match: *). */
  ifMatch?: string | null;
  /** The body's bytes are already counted among the uploads in flight by this ticket (a spooled multipart file). */
  inFlight?: UploadTicket;
}

export interface ListOptions {
  sort?: SortKey;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

export interface ZipEntry {
  path: string;
  kind: 'file' | 'folder';
  hash: string | null;
  size: number;
  modifiedAt: number;
}

export type BulkAction = 'move' | 'copy' | 'trash';

export interface DriveLimits {
  /** Dead-property bytes one resource may hold (DAV_MAX_PROPERTY_BYTES). */
  maxPropertyBytes: number;
}

export class Drive {
  /** Uploads being received by this process (per process by design: see in-flight.ts). */
  private readonly inFlight = new InFlightUploads();

  constructor(
    private readonly db: Db,
    readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly versionPolicy: VersionPolicy,
    private readonly limits: DriveLimits = { maxPropertyBytes: 64 * 1024 },
  ) {}

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

  /** The file's row and checksums, for a download; the caller opens `blobs.open(node.contentHash)`. */
  async openFile(actor: Actor, id: string): Promise<{ node: NodeView; sha1: string | null; md5: string | null }> {
    const node = await this.stat(actor, id);
    if (node.kind !== 'file') throw invalidInput('This item is a folder; download it as a ZIP');
    const sums = node.contentHash ? await blobChecksums(this.db, node.contentHash) : undefined;
    return { node, sha1: sums?.sha1 ?? null, md5: sums?.md5 ?? null };
  }

  /**
   * For a transport that spools a body before handing its files to `upload` (multipart): checks that
   * the actor may add to the folder and counts the body among the owner's uploads in flight (see
   * in-flight.ts). The caller reports arriving bytes on the ticket and releases it when done.
   */
  async reserveUpload(actor: Actor, parentId: string, expectedSize: number | null): Promise<UploadTicket> {
    const folder = await this.writableFolder(this.db, actor, parentId, this.clock.now());
    this.inFlight.checkDisk(expectedSize, await this.blobs.freeBytes());
    return this.inFlight.begin(folder.ownerId, () => remainingBytes(this.db, folder.ownerId), expectedSize);
  }

  /** Live files and folders under the given nodes, with relative paths, for a ZIP download. */
  async zipEntries(actor: Actor, ids: string[]): Promise<{ name: string; entries: ZipEntry[] }> {
    if (ids.length === 0) throw invalidInput('Nothing selected');
    const now = this.clock.now();
    const entries: ZipEntry[] = [];
    const roots: NodeRow[] = [];
    const taken = new Set<string>();
    for (const id of ids) {
      const { node } = await requireNode(this.db, actor, id, 'view', now);
      roots.push(node);
      const rows = await liveSubtree(this.db, id);
      const paths = relativePaths(rows);
      // Two selected items with the same name would collide in the archive: number the second.
      let prefix = node.name;
      for (let n = 1; taken.has(nameKey(prefix)); n++) prefix = numberedName(node.name, n, node.kind === 'file');
      taken.add(nameKey(prefix));
      for (const r of rows) {
        // The home folder has no name: its contents go at the top level (an empty entry name breaks archiver).
        if (node.parentId === null && r.id === node.id) continue;
        const rel = paths.get(r.id)!;
        const p = node.parentId === null ? rel.replace(/^\//, '') : prefix + rel.slice(node.name.length);
        entries.push({ path: p, kind: r.kind, hash: r.contentHash, size: r.size, modifiedAt: r.modifiedAt });
      }
    }
    const name =
      roots.length === 1 && roots[0]!.parentId !== null ? roots[0]!.name : roots.length === 1 ? 'files' : 'selection';
    return { name, entries };
  }

  // ── writes ─────────────────────────────────────────────────────────────────────────────

  async createFolder(actor: Actor, parentId: string, rawName: string): Promise<NodeView> {
    const name = validateName(rawName);
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const parent = await this.writableFolder(tx, actor, parentId, now);
      await assertUnlocked(tx, actor, parent.ownerId, [{ parentId: parent.id, name }], now);
      await this.ensureFree(tx, parent, name);
      const node = await insertNode(tx, { ownerId: parent.ownerId, parentId: parent.id, kind: 'folder', name, now });
      await touch(tx, parent.id, now);
      await this.log(tx, actor, 'folder.created', node, now);
      return { ...node, permission: await resolveAccess(tx, actor, node, now) };
    });
  }

  /**
   * Streams a body into a new file, or replaces an existing one when `overwrite` (same node id,
   * new content and ETag). The body goes to a temp file first; nothing visible changes until the
   * transaction commits. Throws already_exists, quota_exceeded (before reading when the size is
   * known, or as soon as the body passes the remaining quota), precondition_failed.
   */
  async upload(
    actor: Actor,
    parentId: string,
    rawName: string,
    body: Readable,
    opts: UploadOptions = {},
  ): Promise<{ node: NodeView; created: boolean }> {
    const name = validateName(rawName);
    const before = this.clock.now();
    const parent = await this.writableFolder(this.db, actor, parentId, before);
    assertNotReserved(parent.parentId === null, name);
    const existing = await childByKey(this.db, parent.id, nameKey(name));
    this.checkReplace(existing, name, opts);
    if (existing) await requireNode(this.db, actor, existing.id, 'edit', before);
    const expected = opts.expectedSize ?? null;
    await assertUnlocked(
      this.db,
      actor,
      parent.ownerId,
      [existing ? { nodeId: existing.id } : { parentId: parent.id, name }],
      before,
    );
    // Refused before the body is read (no `100 Continue`) when the disk or the room left cannot hold it.
    this.inFlight.checkDisk(expected, await this.blobs.freeBytes());
    const room = async () => (await remainingBytes(this.db, parent.ownerId)) + (existing?.size ?? 0);
    const ticket = opts.inFlight
      ? opts.inFlight.split(expected ?? 0)
      : await this.inFlight.begin(parent.ownerId, room, expected);
    let staged: StagedBlob;
    try {
      opts.beforeRead?.();
      staged = await this.blobs.stage(metered(body, ticket, this.inFlight));
    } catch (err) {
      ticket.release();
      throw isOutOfSpace(err) ? storageFull(expected ?? undefined) : err;
    }
    let committed = staged.size; // at most: a replaced file gives back its old size
    try {
      return await this.db.tx(async (tx) => {
        const now = this.clock.now();
        const folder = await this.writableFolder(tx, actor, parentId, now);
        const current = await childByKey(tx, folder.id, nameKey(name));
        this.checkReplace(current, name, opts);
        await assertUnlocked(
          tx,
          actor,
          folder.ownerId,
          [current ? { nodeId: current.id } : { parentId: folder.id, name }],
          now,
        );
        const author = authorOf(actor);
        const fate = current ? await fateOfReplaced(tx, actor, current, staged.hash, now, this.versionPolicy) : 'drop';
        // A kept version goes on counting toward the quota; a dropped one frees its bytes.
        await reserveBytes(tx, folder.ownerId, staged.size - (current && fate === 'drop' ? current.size : 0));
        await this.blobs.place(staged); // inside the transaction: see BlobStore
        await addBlobRef(tx, staged, now);
        const mtime = opts.modifiedAt ?? now;
        let node: NodeRow;
        if (current) {
          if (fate === 'keep') await keepAsVersion(tx, current, now);
          await replaceContent(tx, {
            id: current.id,
            size: staged.size,
            hash: staged.hash,
            mime: mimeOf(name),
            modifiedAt: mtime,
            author,
          });
          if (fate === 'drop' && current.contentHash) await releaseBlobRefs(tx, [current.contentHash], now);
          node = {
            ...current,
            size: staged.size,
            contentHash: staged.hash,
            etag: staged.hash,
            mime: mimeOf(name),
            modifiedAt: mtime,
          };
        } else {
          node = await insertNode(tx, {
            ownerId: folder.ownerId,
            parentId: folder.id,
            kind: 'file',
            name,
            now,
            blob: staged,
            modifiedAt: mtime,
            author,
          });
        }
        await touch(tx, folder.id, now);
        await this.log(tx, actor, current ? 'file.replaced' : 'file.uploaded', node, now, {
          size: staged.size,
          ...(current ? { versioned: fate === 'keep' } : {}),
        });
        return { node: { ...node, permission: await resolveAccess(tx, actor, node, now) }, created: !current };
      });
    } catch (err) {
      committed = 0;
      throw isOutOfSpace(err) ? storageFull() : err; // place() found the disk full: nothing was committed
    } finally {
      ticket.release(committed);
      await this.blobs.discard(staged);
    }
  }

  async rename(actor: Actor, id: string, rawName: string): Promise<NodeView> {
    return this.db.tx((tx) => this.moveIn(tx, actor, id, null, rawName));
  }

  /** Moves (and optionally renames) a node under another folder of the same owner. */
  async move(actor: Actor, id: string, parentId: string, opts: { name?: string } = {}): Promise<NodeView> {
    return this.db.tx((tx) => this.moveIn(tx, actor, id, parentId, opts.name ?? null));
  }

  /** Copies a file or a whole folder (metadata only: blobs are shared); charged to the target's owner. */
  async copy(actor: Actor, id: string, parentId: string, opts: { name?: string } = {}): Promise<NodeView> {
    return this.db.tx((tx) => this.copyIn(tx, actor, id, parentId, opts.name ?? null));
  }

  /** Moves a node and its subtree to the owner's recycle bin. */
  async trash(actor: Actor, id: string): Promise<void> {
    await this.db.tx((tx) => this.trashIn(tx, actor, id));
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
        if (action === 'move') out.push(await this.moveIn(tx, actor, id, parentId!, null));
        else if (action === 'copy') out.push(await this.copyIn(tx, actor, id, parentId!, null));
        else {
          // An item inside a folder selected before it already went to the bin with that folder.
          const root = await trashRootOf(tx, id);
          if (root && trashed.has(root)) continue;
          await this.trashIn(tx, actor, id);
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
    });
  }

  // ── transaction bodies (shared by single and bulk operations) ───────────────────────────

  private async moveIn(
    tx: Q,
    actor: Actor,
    id: string,
    newParentId: string | null,
    rawName: string | null,
  ): Promise<NodeView> {
    const now = this.clock.now();
    const name = rawName === null ? null : validateName(rawName);
    const { node, access } = await requireNode(tx, actor, id, 'view', now);
    if (node.parentId === null) throw forbidden('Your home folder cannot be renamed or moved');
    const from = await this.parentForChange(tx, actor, node, now);
    const to =
      newParentId === null || newParentId === node.parentId
        ? from
        : await this.writableFolder(tx, actor, newParentId, now);
    if (to.ownerId !== node.ownerId)
      throw new DomainError('invalid_move', "Items can only be moved within their owner's files");
    if (to.id !== from.id && (await isSelfOrAncestor(tx, node.id, to.id))) {
      throw new DomainError('invalid_move', 'A folder cannot be moved into itself or one of its subfolders');
    }
    const finalName = name ?? node.name;
    assertNotReserved(to.parentId === null, finalName);
    if (to.id === from.id && finalName === node.name) return { ...node, permission: access };
    await assertUnlocked(
      tx,
      actor,
      node.ownerId,
      [
        { nodeId: node.id, recursive: true, membership: true, release: true },
        { parentId: to.id, name: finalName },
      ],
      now,
    );
    // A clash with the node itself is a case-only rename: allowed, it renames in place.
    const clash = await childByKey(tx, to.id, nameKey(finalName));
    if (clash && clash.id !== node.id) throw alreadyExists(finalName, clash.name);
    const mimeType = node.kind === 'file' ? mimeOf(finalName) : null;
    await placeNode(tx, { id, parentId: to.id, name: finalName, nameKey: nameKey(finalName), mime: mimeType });
    await touch(tx, from.id, now);
    if (to.id !== from.id) await touch(tx, to.id, now);
    const moved = { ...node, parentId: to.id, name: finalName, mime: mimeType };
    const action: Action = to.id === from.id ? 'node.renamed' : 'node.moved';
    await this.log(tx, actor, action, moved, now, {
      from: await pathOf(tx, from.id, node.name),
      ...(node.name !== finalName ? { oldName: node.name } : {}),
    });
    return { ...moved, permission: access };
  }

  private async copyIn(tx: Q, actor: Actor, id: string, parentId: string, rawName: string | null): Promise<NodeView> {
    const now = this.clock.now();
    const { node: source } = await requireNode(tx, actor, id, 'view', now);
    const target = await this.writableFolder(tx, actor, parentId, now);
    if (source.kind === 'folder' && (await isSelfOrAncestor(tx, source.id, target.id))) {
      throw new DomainError('invalid_move', 'A folder cannot be copied into itself');
    }
    const name = rawName === null ? source.name : validateName(rawName);
    await assertUnlocked(tx, actor, target.ownerId, [{ parentId: target.id, name }], now);
    await this.ensureFree(tx, target, name);
    const { files, bytes } = await subtreeFiles(tx, source.id);
    await reserveBytes(tx, target.ownerId, bytes);
    const root: NodeRow = {
      id: randomUUID(),
      ownerId: target.ownerId,
      parentId: target.id,
      kind: source.kind,
      name,
      size: source.contentHash ? source.size : 0,
      mime: source.kind === 'file' ? mimeOf(name) : null,
      contentHash: source.contentHash,
      etag: source.contentHash ?? newEtag(),
      createdAt: now,
      modifiedAt: source.modifiedAt,
      deletedAt: null,
      trashRootId: null,
      originalParentId: null,
    };
    // One statement each, whatever the folder holds: the rows, then their blob references.
    await copySubtree(tx, { sourceId: source.id, root: { ...root, nameKey: nameKey(name) }, author: authorOf(actor) });
    await addRefsOfSubtree(tx, root.id);
    await touch(tx, target.id, now);
    await this.log(tx, actor, 'node.copied', root, now, { from: await pathOf(tx, source.id), files, bytes });
    return { ...root, permission: await resolveAccess(tx, actor, root, now) };
  }

  private async trashIn(tx: Q, actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    const { node } = await requireNode(tx, actor, id, 'view', now);
    if (node.parentId === null) throw forbidden('Your home folder cannot be deleted');
    const parent = await this.parentForChange(tx, actor, node, now);
    await assertUnlocked(
      tx,
      actor,
      node.ownerId,
      [{ nodeId: node.id, recursive: true, membership: true, release: true }],
      now,
    );
    const path = await pathOf(tx, node.id);
    await trashSubtree(tx, { id, now, by: actor.kind === 'user' ? actor.user.id : null });
    await touch(tx, parent.id, now);
    await this.log(tx, actor, 'node.trashed', node, now, undefined, path);
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────

  /** A live folder the actor may add to; an invisible folder is not_found, like any other node. */
  private async writableFolder(q: Q, actor: Actor, id: string, now: number): Promise<NodeRow> {
    const { node, access } = await requireNode(q, actor, id, 'view', now);
    if (node.kind !== 'folder') throw new DomainError('not_a_folder', `"${node.name}" is not a folder`);
    if (!atLeast(access, 'edit')) throw forbidden('You need edit access to this folder');
    return node;
  }

  /** Renaming, moving or trashing needs edit on the parent (so a share's root is not changeable by its grantees). */
  private async parentForChange(q: Q, actor: Actor, node: NodeRow, now: number): Promise<NodeRow> {
    const parent = await getLiveNode(q, node.parentId!);
    if (!parent || !atLeast(await resolveAccess(q, actor, parent, now), 'edit')) {
      throw forbidden('You need edit access to the folder that holds this item');
    }
    return parent;
  }

  private async ensureFree(q: Q, parent: NodeRow, name: string): Promise<void> {
    assertNotReserved(parent.parentId === null, name);
    const clash = await childByKey(q, parent.id, nameKey(name));
    if (clash) throw alreadyExists(name, clash.name);
  }

  private checkReplace(existing: NodeRow | undefined, name: string, opts: UploadOptions): void {
    // Only the exactly-named file is ever replaced; a sibling that differs in case is left alone (paths.ts).
    if (existing && existing.name !== name) throw alreadyExists(name, existing.name);
    if (opts.ifMatch === null && existing) throw new DomainError('precondition_failed', 'The item already exists');
    if (typeof opts.ifMatch === 'string' && (!existing || existing.etag !== opts.ifMatch)) {
      throw new DomainError('precondition_failed', 'The item has changed (ETag does not match)');
    }
    if (!existing) return;
    if (existing.kind === 'folder') throw alreadyExists(name);
    if (!opts.overwrite) throw alreadyExists(name);
  }

  private async log(
    tx: Q,
    actor: Actor,
    action: Action,
    node: NodeRow,
    now: number,
    details?: Record<string, unknown>,
    path?: string,
  ): Promise<void> {
    await record(
      tx,
      actor,
      { ownerId: node.ownerId, action, nodeId: node.id, path: path ?? (await pathOf(tx, node.id)), details },
      now,
    );
  }

  // ── WebDAV support ──────────────────────────────────────────────────────────────────────
  // Path-addressed reads and the few compound writes WebDAV needs (each one transaction).

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
      await this.log(tx, actor, 'node.modified', updated, now, {
        properties: changes.length,
        ...(modifiedAt !== null ? { modifiedAt } : {}),
      });
      return { ...updated, permission: access };
    });
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
      const replaced = await this.clearTarget(tx, actor, id, parentId, name, overwrite);
      return { node: await this.moveIn(tx, actor, id, parentId, name), replaced };
    });
  }

  /** COPY with the Overwrite rule (see moveReplacing); `shallow` copies a folder without its members (Depth: 0). */
  async copyReplacing(
    actor: Actor,
    id: string,
    parentId: string,
    name: string,
    opts: { overwrite: boolean; shallow: boolean },
  ): Promise<{ node: NodeView; replaced: boolean }> {
    return this.db.tx(async (tx) => {
      const replaced = await this.clearTarget(tx, actor, id, parentId, name, opts.overwrite);
      const now = this.clock.now();
      const { node: source } = await requireNode(tx, actor, id, 'view', now);
      let node: NodeView;
      if (opts.shallow && source.kind === 'folder') {
        const target = await this.writableFolder(tx, actor, parentId, now);
        const finalName = validateName(name);
        await assertUnlocked(tx, actor, target.ownerId, [{ parentId: target.id, name: finalName }], now);
        await this.ensureFree(tx, target, finalName);
        const row = await insertNode(tx, {
          ownerId: target.ownerId,
          parentId: target.id,
          kind: 'folder',
          name: finalName,
          now,
          modifiedAt: source.modifiedAt,
        });
        await touch(tx, target.id, now);
        await this.log(tx, actor, 'node.copied', row, now, { from: await pathOf(tx, source.id), files: 0, bytes: 0 });
        node = { ...row, permission: await resolveAccess(tx, actor, row, now) };
      } else {
        node = await this.copyIn(tx, actor, id, parentId, name);
      }
      await copyProperties(tx, source.id, node);
      return { node, replaced };
    });
  }

  private async clearTarget(
    tx: Q,
    actor: Actor,
    id: string,
    parentId: string,
    name: string,
    overwrite: boolean,
  ): Promise<boolean> {
    const now = this.clock.now();
    const parent = await this.writableFolder(tx, actor, parentId, now);
    const finalName = validateName(name);
    const existing = await childByKey(tx, parent.id, nameKey(finalName));
    if (!existing || existing.id === id) return false;
    // Overwrite replaces only the exactly-named target, never a sibling that differs in case.
    if (existing.name !== finalName) throw alreadyExists(finalName, existing.name);
    if (!overwrite)
      throw new DomainError('precondition_failed', `"${existing.name}" already exists and Overwrite is F`);
    if (await isSelfOrAncestor(tx, existing.id, id))
      throw new DomainError('invalid_move', 'The target contains the source');
    await this.trashIn(tx, actor, existing.id);
    return true;
  }
}

function mimeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

async function pathOf(q: Q, id: string, childName?: string): Promise<string> {
  const p = await pathOfNode(q, id);
  return childName === undefined ? p : `${p === '/' ? '' : p}/${childName}`;
}

const touch = touchFolder;

export async function insertNode(
  tx: Q,
  n: {
    ownerId: string;
    parentId: string | null;
    kind: 'file' | 'folder';
    name: string;
    now: number;
    modifiedAt?: number;
    blob?: { hash: string; size: number };
    author?: Author;
  },
): Promise<NodeRow> {
  const row: NodeRow = {
    id: randomUUID(),
    ownerId: n.ownerId,
    parentId: n.parentId,
    kind: n.kind,
    name: n.name,
    size: n.blob?.size ?? 0,
    mime: n.kind === 'file' ? mimeOf(n.name) : null,
    contentHash: n.blob?.hash ?? null,
    etag: n.blob?.hash ?? newEtag(),
    createdAt: n.now,
    modifiedAt: n.modifiedAt ?? n.now,
    deletedAt: null,
    trashRootId: null,
    originalParentId: null,
  };
  await insertNodeRow(tx, { ...row, nameKey: nameKey(row.name), author: n.kind === 'file' ? n.author : undefined });
  return row;
}
