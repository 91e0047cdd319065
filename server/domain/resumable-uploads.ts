/**
 * Resumable uploads (the tus protocol's rules; the transport is api/routes/tus.ts): an upload is
 * created with its length and target, receives its bytes in any number of chunks across requests,
 * connections and restarts, and becomes a file when the last byte is in — through the same commit
 * as every upload (uploads.ts: versions, activity, locks, quota, the blob store).
 *
 * Its length is reserved against the owner's room at creation, in the database (users.reserved_bytes,
 * repos/resumable-uploads.ts), so the reservation holds across requests, restarts and instances,
 * and every other upload sees the room it takes. The commit releases it in its own transaction; so
 * does termination, and the expiry job for an upload left alone longer than its expiry period.
 * Partial bytes live in a file of their own (storage/partial-uploads.ts) and are never a node.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Db, Q } from '../db/index.js';
import {
  advanceResumableUpload,
  deleteResumableUpload,
  expiredResumableUploads,
  insertResumableUpload,
  releaseRoom,
  resumableUploadById,
  resumableUploadIds,
  tryReserveRoom,
  type ResumableUploadRow,
} from '../db/repos/resumable-uploads.js';
import { TooLong, type BlobStore, type PartialUploads } from '../../storage/index.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { admitToDrop, FileDrops } from './file-drop.js';
import { DomainError, forbidden, invalidInput, notFound, quotaExceeded, storageFull } from './errors.js';
import { usage } from './quota.js';
import type { NodeView } from './types.js';
import type { Uploads } from './uploads.js';

/** Why a chunk or a look-up failed in a way the tus transport answers with a status of its own. */
export type ResumableFailure = 'offset_mismatch' | 'checksum_mismatch' | 'expired';

const failure = (reason: ResumableFailure, message: string) => new DomainError('invalid_input', message, { reason });

/** A partial file with no upload row is a leftover (a crash between its creation and the row's) after this long. */
const LEFTOVER_AGE_MS = 3600_000;
/** A long chunk's bytes are made durable (and its offset saved) this often: a crash loses at most this much. */
const CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** Commit failures that retrying cannot cure: the upload is discarded and its room given back. */
const HOPELESS = new Set(['not_found', 'forbidden', 'not_a_folder', 'already_exists', 'invalid_name']);

export interface ResumableTarget {
  parentId: string;
  name: string;
  overwrite: boolean;
  /** Client-supplied modification time, epoch ms. */
  modifiedAt: number | null;
  /** The Upload-Metadata header as sent, handed back as is. */
  metadata: string;
}

export interface ResumableState {
  id: string;
  length: number;
  offset: number;
  expiresAt: number;
  metadata: string;
  /** The file, once the last byte is in and committed. */
  node?: NodeView;
}

export interface Checksum {
  algorithm: 'sha256' | 'sha1';
  digest: Buffer;
}

export class ResumableUploads {
  /** The request working on each upload in this process: the next one waits for it to settle. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** The body a chunk is being read from, per upload: a newer request for the upload ends it (see exclusive). */
  private readonly reading = new Map<string, Readable>();

  constructor(
    private readonly db: Db,
    private readonly uploads: Uploads,
    private readonly partials: PartialUploads,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly expiryMs: number,
  ) {}

  /**
   * Creates an upload of `length` bytes into `target`: the same checks as any upload (the folder
   * writable by the actor, the name valid and free unless overwriting, no lock), then the length
   * reserved against the owner's room (quota_exceeded when it cannot fit). A link visitor never
   * overwrites. An empty upload is committed at once.
   */
  async create(actor: Actor, target: ResumableTarget, length: number): Promise<ResumableState> {
    const creator = creatorOf(actor);
    const overwrite = actor.kind === 'user' && target.overwrite;
    // A file drop's visitor adds to the link's folder only, within its size cap, renaming on a clash.
    const drop = FileDrops.isDrop(actor) ? admitToDrop(actor, length) : null;
    const { parent, name } = drop
      ? await this.uploads.preflight(drop.actor, drop.folderId, target.name, { overwrite: false, onClash: 'rename' })
      : await this.uploads.preflight(actor, target.parentId, target.name, { overwrite });
    const free = await this.blobs.freeBytes();
    if (free !== null && length > free) throw storageFull(length);
    const now = this.clock.now();
    const row: ResumableUploadRow = {
      id: randomBytes(18).toString('base64url'),
      ownerId: parent.ownerId,
      creator,
      parentId: parent.id,
      name,
      overwrite,
      modifiedAt: target.modifiedAt,
      length,
      received: 0,
      metadata: target.metadata,
      createdAt: now,
      expiresAt: now + this.expiryMs,
    };
    await this.partials.create(row.id);
    try {
      await this.db.tx(async (tx) => {
        if (!(await tryReserveRoom(tx, row.ownerId, length))) {
          const { quota, used, reserved } = await usage(tx, row.ownerId);
          throw quotaExceeded(length, Math.max(0, quota - used - reserved));
        }
        await insertResumableUpload(tx, row);
      });
    } catch (err) {
      await this.partials.remove(row.id);
      throw err;
    }
    if (length > 0) return stateOf(row);
    return this.exclusive(row.id, async () => ({ ...stateOf(row), node: await this.commit(actor, row) }));
  }

  /** Where the upload stands (tus HEAD): not_found for an unknown upload or another actor's, expired after its expiry. */
  async status(actor: Actor, id: string): Promise<ResumableState> {
    return this.exclusive(id, async () => stateOf(await this.live(actor, id)));
  }

  /**
   * Appends `body` at `offset`, which must be the upload's offset (else offset_mismatch). The bytes
   * that arrive are kept even when the body is cut short (the client resumes from them), unless a
   * checksum was given: then the chunk is kept whole or not at all (checksum_mismatch). The last
   * byte commits the file; a chunk at the full offset with no bytes retries a commit that failed.
   */
  async append(
    actor: Actor,
    id: string,
    offset: number,
    body: Readable,
    checksum: Checksum | null,
  ): Promise<ResumableState> {
    return this.exclusive(id, async () => {
      const row = await this.live(actor, id);
      if (offset !== row.received) {
        throw failure('offset_mismatch', `The upload is at offset ${row.received}, not ${offset}`);
      }
      // Without a checksum, a long chunk is saved as it goes; with one, it is kept whole or not at all.
      let saved = offset;
      const save = async (to: number) => {
        const expiresAt = this.clock.now() + this.expiryMs;
        if (!(await advanceResumableUpload(this.db, { id, from: saved, to, expiresAt }))) {
          throw failure('offset_mismatch', 'The upload was moved on by another request');
        }
        saved = to;
        return expiresAt;
      };
      const checkpoint = {
        everyBytes: CHECKPOINT_BYTES,
        save: (written: number) => save(offset + written).then(() => {}),
      };
      this.reading.set(id, body);
      const result = await this.partials
        .append(id, offset, body, {
          limit: row.length - offset,
          ...(checksum ? { algorithm: checksum.algorithm } : { checkpoint }),
        })
        .finally(() => this.reading.delete(id));
      const whole = checksum ? result.complete && result.digest!.equals(checksum.digest) : true;
      if (result.error instanceof TooLong || !whole) {
        await this.partials.truncate(id, offset);
        if (result.error instanceof TooLong) throw invalidInput('The chunk goes past the upload length');
        if (result.complete) throw failure('checksum_mismatch', 'The chunk does not match its Upload-Checksum');
        throw result.error!;
      }
      const received = offset + result.written;
      const expiresAt = await save(received);
      if (!result.complete) throw result.error!; // the client went away: what arrived is kept
      const moved = { ...row, received, expiresAt };
      if (received < row.length) return stateOf(moved);
      return { ...stateOf(moved), node: await this.commit(actor, moved) };
    });
  }

  /** Ends an upload and gives its room back (tus Termination). */
  async terminate(actor: Actor, id: string): Promise<void> {
    await this.exclusive(id, async () => {
      const row = await this.mine(actor, id);
      await this.discard(row);
    });
  }

  /** The expiry job: removes uploads whose expiry has passed, and partial files no upload owns. */
  async expire(): Promise<{ expired: number; leftovers: number }> {
    let expired = 0;
    for (;;) {
      const rows = await expiredResumableUploads(this.db, this.clock.now(), 100);
      for (const row of rows) {
        if (this.busy.has(row.id)) continue; // a chunk is arriving: it moves the expiry on
        await this.exclusive(row.id, async () => {
          if (await this.discard(row)) expired++;
        });
      }
      if (rows.length < 100) break;
    }
    return { expired, leftovers: await this.removeLeftovers() };
  }

  /** Resolves once the requests working on uploads in this process have settled (before the database closes). */
  async drain(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy.values()]);
  }

  /**
   * The last byte is in: the file is committed, and the upload's row and reservation go in the same
   * transaction. When the target can no longer take it (the folder gone, the name taken meanwhile)
   * the upload is discarded; a transient failure (a lock) leaves it whole, for a retry.
   */
  private async commit(actor: Actor, row: ResumableUploadRow): Promise<NodeView> {
    try {
      const drop = FileDrops.isDrop(actor) ? admitToDrop(actor, row.length) : null;
      const { node } = await this.uploads.commitHeld(
        drop?.actor ?? actor,
        row.parentId,
        row.name,
        this.partials.read(row.id),
        {
          overwrite: row.overwrite,
          ...(drop ? { onClash: 'rename' as const } : {}),
          ...(row.modifiedAt !== null ? { modifiedAt: row.modifiedAt } : {}),
          inTx: (tx) => this.release(tx, row),
        },
      );
      await this.partials.remove(row.id);
      return node;
    } catch (err) {
      if (err instanceof DomainError && HOPELESS.has(err.code)) await this.discard(row);
      throw err;
    }
  }

  /** Deletes the row and gives its reservation back, in `tx`; not_found when it is already gone. */
  private async release(tx: Q, row: ResumableUploadRow): Promise<void> {
    if (!(await deleteResumableUpload(tx, row.id))) throw notFound('Upload');
    await releaseRoom(tx, row.ownerId, row.length);
  }

  /** Removes the upload and its bytes; false when another instance already had. */
  private async discard(row: ResumableUploadRow): Promise<boolean> {
    let removed = true;
    await this.db.tx((tx) =>
      this.release(tx, row).catch((err: unknown) => {
        if (!(err instanceof DomainError && err.code === 'not_found')) throw err;
        removed = false;
      }),
    );
    await this.partials.remove(row.id);
    return removed;
  }

  private async removeLeftovers(): Promise<number> {
    const files = await this.partials.list();
    if (files.length === 0) return 0;
    const live = new Set(await resumableUploadIds(this.db));
    let removed = 0;
    for (const id of files) {
      if (live.has(id)) continue;
      const stat = await fsp.stat(path.join(this.partials.dir, id)).catch(() => null);
      // The file's own age (wall clock, as the file system keeps it): a creation under way has its file before its row.
      if (!stat || Date.now() - stat.mtimeMs < LEFTOVER_AGE_MS) continue;
      await this.partials.remove(id);
      removed++;
    }
    return removed;
  }

  /** The actor's upload, expired or not; not_found for an unknown upload or another actor's. */
  private async mine(actor: Actor, id: string): Promise<ResumableUploadRow> {
    const row = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await resumableUploadById(this.db, id) : undefined;
    if (!row || row.creator !== creatorOf(actor)) throw notFound('Upload');
    return row;
  }

  /** The actor's upload while it has not expired. */
  private async live(actor: Actor, id: string): Promise<ResumableUploadRow> {
    const row = await this.mine(actor, id);
    if (row.expiresAt <= this.clock.now()) throw failure('expired', 'The upload has expired');
    return row;
  }

  /**
   * Runs `work` once the requests before it on the same upload (in this process) have settled. A
   * chunk still being read is ended first, keeping what arrived: a client that lost its connection
   * resumes at once, though the server may not notice the old connection is dead for minutes (as
   * tusd hands its upload lock to the newer request).
   */
  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.reading.get(id)?.destroy(new Error('A newer request took the upload over'));
    const before = this.busy.get(id);
    const run = (async () => {
      if (before) await before.catch(() => {});
      return work();
    })();
    this.busy.set(id, run);
    try {
      return await run;
    } finally {
      if (this.busy.get(id) === run) this.busy.delete(id);
    }
  }
}

function creatorOf(actor: Actor): string {
  if (actor.kind === 'user') return `user:${actor.user.id}`;
  if (actor.kind === 'link') return `link:${actor.share.id}`;
  throw forbidden('Resumable uploads need a user or a link');
}

function stateOf(row: ResumableUploadRow): ResumableState {
  return { id: row.id, length: row.length, offset: row.received, expiresAt: row.expiresAt, metadata: row.metadata };
}
