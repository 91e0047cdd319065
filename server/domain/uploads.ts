/**
 * Uploads: a body streamed into a new file, or replacing a file's content (same node id, new
 * content and ETag; the old content kept as a version unless versions.ts drops it). The body goes
 * to a staged blob first, counted among the owner's uploads in flight (in-flight.ts) so concurrent
 * uploads cannot together pass the quota or fill the disk; nothing is visible until the
 * transaction that adds its reference commits. A small body (at most INLINE_MAX_BYTES) stays in
 * memory and that transaction stores its bytes inline: its commit is its only fsync. A larger one
 * goes to a temp file, fsynced, and is placed in the blob store just before the transaction (no
 * file I/O inside it).
 */
import type { Readable } from 'node:stream';
import { SMALL_TX, type Db, type Q } from '../db/index.js';
import { addBlobRef, releaseBlobRefs } from '../db/repos/blobs.js';
import { childByKey, replaceContent, touchFolder } from '../db/repos/nodes.js';
import { BlobTooLarge, type BlobStore, type StagedBlob } from '../../storage/index.js';
import { requireNode, resolveAccess } from './access.js';
import type { Actor } from './actor.js';
import { recordFill, recordOn } from './activity.js';
import { INLINE_MAX_BYTES } from './blob-bytes.js';
import type { Clock } from './clock.js';
import { alreadyExists, DomainError, invalidInput, isOutOfSpace, storageFull, storeFailure } from './errors.js';
import { InFlightUploads, metered, type UploadTicket } from './in-flight.js';
import { assertUnlocked } from './locks.js';
import { nameKey, numberedName, validateName } from './names.js';
import { remainingBytes, reserveBytes } from './quota.js';
import { assertNotReserved } from './shared-folder.js';
import { insertNode, mimeOf, writableFolder } from './tree-rules.js';
import type { NodeRow, NodeView } from './types.js';
import { BlobClaims } from './blob-claims.js';
import { authorOf, fateOfReplaced, keepAsVersion, type VersionPolicy } from './versions.js';

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
  /** A name taken is not replaced nor refused: the file gets the first free "name (n).ext" (file drops). */
  onClash?: 'rename';
}

export class Uploads {
  /** Uploads being received by this process (per process by design: see in-flight.ts). */
  private readonly inFlight = new InFlightUploads();
  private readonly claims: BlobClaims;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly versionPolicy: VersionPolicy,
  ) {
    this.claims = new BlobClaims(db, blobs, clock);
  }

  /** Uploads being received by this process now (what /metrics shows). */
  inFlightCount(): number {
    return this.inFlight.count;
  }

  /**
   * For a transport that spools a body before handing its files to `upload` (multipart): checks that
   * the actor may add to the folder and counts the body among the owner's uploads in flight (see
   * in-flight.ts). The caller reports arriving bytes on the ticket and releases it when done.
   */
  async reserve(actor: Actor, parentId: string, expectedSize: number | null): Promise<UploadTicket> {
    const folder = await writableFolder(this.db, actor, parentId, this.clock.now());
    this.inFlight.checkDisk(expectedSize, await this.blobs.freeBytes());
    return this.inFlight.begin(folder.ownerId, () => remainingBytes(this.db, folder.ownerId), expectedSize);
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
    const expected = opts.expectedSize ?? null;
    // A body declared small enough to be held in memory and stored inline is read straight away:
    // the checks below exist to refuse a large body before it fills the disk, and the transaction
    // makes them all again anyway. Skipping them saves a small PUT five of its seventeen queries.
    const small = expected !== null && expected <= INLINE_MAX_BYTES && !opts.inFlight;
    const ticket = small ? null : await this.admit(actor, parentId, name, expected, opts);
    let staged: StagedBlob;
    try {
      opts.beforeRead?.();
      // A declared length that is not the framing's (X-Expected-Entity-Length) may lie: a small body
      // never passes memory, and the store only reads it (blob-store.ts), so it needs no meter.
      staged = ticket
        ? await this.blobs.stage(metered(body, ticket, this.inFlight), { memoryLimit: INLINE_MAX_BYTES })
        : await this.blobs.stage(body, { memoryLimit: INLINE_MAX_BYTES, maxBytes: INLINE_MAX_BYTES });
    } catch (err) {
      ticket?.release();
      if (err instanceof BlobTooLarge) throw invalidInput('The body is longer than its declared length');
      throw isOutOfSpace(err) ? storageFull(expected ?? undefined) : err;
    }
    return this.commit(actor, parentId, name, staged, opts, ticket);
  }

  /**
   * Commits a body whose room the caller holds itself (a resumable upload's partial file, reserved
   * at its creation: resumable-uploads.ts), so it takes no claim among the uploads in flight;
   * `opts.inTx` runs first in the committing transaction (to release that reservation with it).
   */
  async commitHeld(
    actor: Actor,
    parentId: string,
    rawName: string,
    body: Readable,
    opts: UploadOptions & { inTx: (tx: Q) => Promise<void> },
  ): Promise<{ node: NodeView; created: boolean }> {
    const name = validateName(rawName);
    let staged: StagedBlob;
    try {
      staged = await this.blobs.stage(body, { memoryLimit: INLINE_MAX_BYTES });
    } catch (err) {
      throw isOutOfSpace(err) ? storageFull() : err;
    }
    return this.commit(actor, parentId, name, staged, opts, null);
  }

  /** The staged body becomes the file: one transaction, after placing the blob (no file I/O inside it). */
  private async commit(
    actor: Actor,
    parentId: string,
    name: string,
    staged: StagedBlob,
    opts: UploadOptions & { inTx?: (tx: Q) => Promise<void> },
    ticket: UploadTicket | null,
  ): Promise<{ node: NodeView; created: boolean }> {
    let committed = staged.size; // at most: a replaced file gives back its old size
    let owner: string | undefined;
    let unclaim = async () => {};
    try {
      // Before the transaction, which does no file I/O; the GC spares what an upload placed within its grace period.
      // Bytes staged in memory are stored by the transaction itself (addBlobRef).
      if (staged.tempPath !== null) unclaim = await this.claims.place(staged);
      return await this.db.tx(async (tx) => {
        await opts.inTx?.(tx);
        const now = this.clock.now();
        const folder = await writableFolder(tx, actor, parentId, now);
        owner = folder.ownerId;
        if (opts.onClash === 'rename') name = await freeName(tx, folder.id, name);
        const current = await childByKey(tx, folder.id, nameKey(name));
        checkReplace(current, name, opts);
        if (!ticket) {
          // What admit() checks before the body of a large upload is read.
          assertNotReserved(folder.parentId === null, name);
          if (current) await requireNode(tx, actor, current.id, 'edit', now);
        }
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
        await touchFolder(tx, folder.id, now);
        const filled = current?.size === 0 && (await recordFill(tx, actor, node, now, staged.size));
        if (!filled) {
          await recordOn(tx, actor, node, current ? 'file.replaced' : 'file.uploaded', now, {
            size: staged.size,
            ...(current ? { versioned: fate === 'keep' } : {}),
          });
        }
        return { node: { ...node, permission: await resolveAccess(tx, actor, node, now) }, created: !current };
      }, SMALL_TX);
    } catch (err) {
      committed = 0;
      throw storeFailure(err); // place() found the disk full or the object store unreachable: nothing was committed
    } finally {
      if (ticket) ticket.release(committed);
      else if (owner !== undefined) this.inFlight.record(owner, committed);
      await unclaim().catch(() => {}); // a claim left behind only keeps the collector off this blob until it is stale
      await this.blobs.discard(staged);
    }
  }

  /**
   * The checks that refuse an upload before its body is read: the folder writable by the actor, the
   * name valid, free or (with `overwrite`) an editable file, and neither locked.
   */
  async preflight(
    actor: Actor,
    parentId: string,
    rawName: string,
    opts: Pick<UploadOptions, 'overwrite' | 'ifMatch' | 'onClash'>,
  ): Promise<{ parent: NodeRow; existing: NodeRow | undefined; name: string }> {
    const name = validateName(rawName);
    const before = this.clock.now();
    const parent = await writableFolder(this.db, actor, parentId, before);
    assertNotReserved(parent.parentId === null, name);
    const existing = opts.onClash === 'rename' ? undefined : await childByKey(this.db, parent.id, nameKey(name));
    checkReplace(existing, name, opts);
    if (existing) await requireNode(this.db, actor, existing.id, 'edit', before);
    await assertUnlocked(
      this.db,
      actor,
      parent.ownerId,
      [existing ? { nodeId: existing.id } : { parentId: parent.id, name }],
      before,
    );
    return { parent, existing, name };
  }

  /**
   * Before a body that may go to disk is read: the checks that refuse it up front (no `100
   * Continue`) — the folder, the name, the lock, the disk and the room left — and its claim on the
   * owner's room while it arrives (in-flight.ts).
   */
  private async admit(
    actor: Actor,
    parentId: string,
    name: string,
    expected: number | null,
    opts: UploadOptions,
  ): Promise<UploadTicket> {
    const { parent, existing } = await this.preflight(actor, parentId, name, opts);
    this.inFlight.checkDisk(expected, await this.blobs.freeBytes());
    const room = async () => (await remainingBytes(this.db, parent.ownerId)) + (existing?.size ?? 0);
    return opts.inFlight ? opts.inFlight.split(expected ?? 0) : this.inFlight.begin(parent.ownerId, room, expected);
  }
}

function checkReplace(existing: NodeRow | undefined, name: string, opts: UploadOptions): void {
  // Only the exactly-named file is ever replaced; a sibling that differs in case is left alone (namespace.ts).
  if (existing && existing.name !== name) throw alreadyExists(name, existing.name);
  if (opts.ifMatch === null && existing) throw new DomainError('precondition_failed', 'The item already exists');
  if (typeof opts.ifMatch === 'string' && (!existing || existing.etag !== opts.ifMatch)) {
    throw new DomainError('precondition_failed', 'The item has changed (ETag does not match)');
  }
  if (!existing) return;
  if (existing.kind === 'folder') throw alreadyExists(name);
  if (!opts.overwrite) throw alreadyExists(name);
}

/** The name itself when no live sibling has it, else the first free "name (n).ext" (names.ts numberedName). */
async function freeName(q: Q, folderId: string, name: string): Promise<string> {
  let candidate = name;
  for (let n = 1; await childByKey(q, folderId, nameKey(candidate)); n++)
    candidate = validateName(numberedName(name, n));
  return candidate;
}
