import type { Readable } from 'node:stream';

/**
 * Bytes received and hashed, not yet part of the store: in a durable temp file, or — a body that
 * ended within `stage`'s `memoryLimit` — in memory, where the caller keeps them (the database
 * stores small blobs inline) and nothing touched the disk.
 */
export type StagedBlob = StagedFile | StagedBytes;

interface Staged {
  readonly hash: string; // sha256, hex
  readonly sha1: string;
  readonly md5: string;
  readonly size: number;
}

export interface StagedFile extends Staged {
  readonly tempPath: string;
  readonly bytes: null;
}

export interface StagedBytes extends Staged {
  readonly tempPath: null;
  readonly bytes: Buffer;
}

/**
 * The store could not be reached, or did not take or give the bytes (an object store down, a
 * connection cut): nothing was stored, and trying again later may work. `cause` says what happened.
 */
export class BlobStoreUnavailable extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'BlobStoreUnavailable';
  }
}

export class BlobTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

/**
 * Content-addressed storage. Blobs are named by the sha256 of their bytes, so identical content is
 * stored once. Writing is two-phase: `stage` streams the body to a temp file while hashing and
 * fsyncs it (outside any transaction); `place` moves it into the store, just before the database
 * transaction that adds the reference (the garbage collector spares a file touched within its
 * grace period: see removeUnlessTouched).
 */
export interface BlobStore {
  /**
   * True when removeUnlessTouched is atomic against a place() from any process (a rename on one
   * file system); false when only within this process (an object store shared by instances): the
   * domain then claims blobs in the database around both (server/domain/blob-claims.ts).
   */
  readonly atomicRemoval: boolean;
  /**
   * Streams `body` to a temp file while hashing it. With `memoryLimit`, a body of at most that many
   * bytes is kept in memory instead (`bytes`; no file is created), and a longer one is written to
   * the temp file from the moment it passes the limit: memory stays bounded by the limit. On any
   * failure (the body errors, `maxBytes` is passed, the disk is full) the temp file is removed
   * before the promise rejects, with the operating system's error as is (ENOSPC when the disk is full).
   * A body whose `maxBytes` is within `memoryLimit` is only read, never destroyed: past the limit it
   * is left paused, for the caller to answer on its connection.
   */
  stage(body: Readable, opts?: { maxBytes?: number }): Promise<StagedFile>;
  stage(body: Readable, opts: { maxBytes?: number; memoryLimit: number }): Promise<StagedBlob>;
  /** Makes a staged file available under its hash (rename, or reuse an existing identical blob). */
  place(staged: StagedFile): Promise<void>;
  /** Drops whatever is left of a staged blob. Safe to call more than once. */
  discard(staged: StagedBlob): Promise<void>;
  /**
   * The blob's bytes (all, or an inclusive range), returned at once; the stream emits `ready` when
   * they can be read and `error` (code ENOENT) when the blob is missing. Destroying it releases
   * whatever it holds (a file descriptor, a request).
   */
  open(hash: string, range?: { start: number; end: number }): Readable;
  stat(hash: string): Promise<{ size: number; mtimeMs: number } | null>;
  remove(hash: string): Promise<void>;
  /**
   * Removes the blob's file unless it was touched within the last `withinMs` (an upload placed it,
   * or dedup'd onto it), atomically with respect to a concurrent `place`. True when the file is gone
   * (or was already), false when it was kept.
   */
  removeUnlessTouched(hash: string, withinMs: number): Promise<boolean>;
  /** Every blob hash in the store (for the orphan sweep and fsck). */
  list(): AsyncIterable<string>;
  /** Temp files older than the cutoff (left by a crash) are deleted; returns how many. */
  sweepTemp(olderThanMs: number): Promise<number>;
  /** Bytes an unprivileged writer can still put where blobs are staged; null when the store cannot tell. */
  freeBytes(): Promise<number | null>;
  /** Resolves when the store can be read and written now (readiness); rejects with the reason otherwise. */
  probe(): Promise<void>;
  /** Recomputes the sha256 of a stored blob (fsck). */
  verify(hash: string): Promise<{ hash: string; size: number }>;
  /** Releases connections (the server is stopping). */
  close(): Promise<void>;
}
