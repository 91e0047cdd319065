/**
 * The bytes of resumable uploads under way: one file per upload in `<dataDir>/uploads/`, whatever
 * the blob store (an object store only ever sees complete blobs, staged from these files once the
 * last byte is in). The database holds each upload's offset; a file may be longer than it after a
 * crash mid-chunk (bytes never acknowledged), so every append first cuts the file back to the
 * offset it starts from.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** Bytes gathered before one write: fewer, larger writes than the socket's chunks. */
const WRITE_BATCH = 1024 * 1024;

export interface AppendResult {
  /** Bytes of this chunk now in the file, synced (all of them unless the body was cut short). */
  written: number;
  /** The body ended normally (false: the client went away or the stream failed). */
  complete: boolean;
  /** The digest of what was written, when a checksum algorithm was asked for. */
  digest?: Buffer;
  /** Why the body stopped early. */
  error?: Error;
}

export class PartialUploads {
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly fsync = true,
  ) {
    this.dir = path.join(dataDir, 'uploads');
  }

  private file(id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`bad upload id ${id}`);
    return path.join(this.dir, id);
  }

  async create(id: string): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await (await fsp.open(this.file(id), 'wx', 0o600)).close();
  }

  /**
   * Writes `body` at `offset`, at most `limit` bytes (more is an error, and nothing of it is kept
   * past the limit). Never throws for a body that stops early: what arrived is written and synced,
   * and `complete` is false.
   */
  async append(
    id: string,
    offset: number,
    body: Readable,
    opts: { limit: number; algorithm?: string; checkpoint?: Checkpoint },
  ): Promise<AppendResult> {
    const fh = await fsp.open(this.file(id), 'r+');
    const hash: Hash | undefined = opts.algorithm ? createHash(opts.algorithm) : undefined;
    let position = offset;
    let saved = offset;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async () => {
      if (batched === 0) return;
      const buffers = batch;
      batch = [];
      batched = 0;
      const { bytesWritten } = await fh.writev(buffers, position);
      position += bytesWritten;
    };
    let complete = false;
    let error: Error | undefined;
    try {
      await fh.truncate(offset);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (position + batched + chunk.length - offset > opts.limit) throw new TooLong();
        hash?.update(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched < WRITE_BATCH) continue;
        await flush();
        if (opts.checkpoint && position - saved >= opts.checkpoint.everyBytes) {
          if (this.fsync) await fh.sync();
          await opts.checkpoint.save(position - offset);
          saved = position;
        }
      }
      complete = true;
    } catch (err) {
      error = err as Error;
    }
    try {
      await flush();
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    return {
      written: position - offset,
      complete,
      ...(hash ? { digest: hash.digest() } : {}),
      ...(error ? { error } : {}),
    };
  }

  /** Cuts the file back to `size` bytes (a chunk that failed its checksum). */
  async truncate(id: string, size: number): Promise<void> {
    await fsp.truncate(this.file(id), size);
  }

  read(id: string): Readable {
    return fs.createReadStream(this.file(id));
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
  }

  /** The ids of the partial files present (to find leftovers of uploads the database no longer knows). */
  async list(): Promise<string[]> {
    return fsp.readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
  }
}

/** Bytes of a long chunk made durable on the way (synced, then `save`d), so a crash loses at most `everyBytes`. */
export interface Checkpoint {
  everyBytes: number;
  /** `written` bytes of this chunk are synced to the file. */
  save(written: number): Promise<void>;
}

/** A chunk longer than the upload has room left for. */
export class TooLong extends Error {
  constructor() {
    super('The chunk goes past the upload length');
  }
}
