import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, StagedBlob, StagedFile } from './blob-store.js';
import { FileRangeStream } from './file-range-stream.js';
import { hashStream } from './hash-stream.js';
import { readdirSafe, stageBody, sweepTempDir } from './staging-sink.js';

const HASH = /^[0-9a-f]{64}$/;

/**
 * Blobs on local disk: `<root>/blobs/ab/cd/<sha256>`, temp files in `<root>/tmp`.
 * Every new blob is fsynced (file and directory) before it is acknowledged, unless `fsync: false`
 * (DURABILITY=relaxed): then a power cut may lose what the OS had not yet written back.
 */
export class LocalDiskBlobStore implements BlobStore {
  readonly atomicRemoval = true;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly fsync: boolean;

  constructor(root: string, opts: { fsync?: boolean } = {}) {
    this.fsync = opts.fsync ?? true;
    this.blobsDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
    fs.mkdirSync(this.blobsDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  pathOf(hash: string): string {
    if (!HASH.test(hash)) throw new Error(`not a blob hash: ${hash}`);
    return path.join(this.blobsDir, hash.slice(0, 2), hash.slice(2, 4), hash);
  }

  stage(body: Readable, opts?: { maxBytes?: number }): Promise<StagedFile>;
  stage(body: Readable, opts: { maxBytes?: number; memoryLimit: number }): Promise<StagedBlob>;
  stage(body: Readable, opts: { maxBytes?: number; memoryLimit?: number } = {}): Promise<StagedBlob> {
    return stageBody(this.tmpDir, body, opts, this.fsync);
  }

  async place(staged: StagedFile): Promise<void> {
    const final = this.pathOf(staged.hash);
    try {
      // Identical content exists: keep it, and refresh its mtime so a grace-period sweep spares it.
      const now = new Date();
      await fsp.utimes(final, now, now);
      await fsp.rm(staged.tempPath, { force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const dir = path.dirname(final);
    try {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.rename(staged.tempPath, final);
    } catch (err) {
      // A new fan-out directory can fail on a full disk: the staged file is of no use then.
      await fsp.rm(staged.tempPath, { force: true });
      throw err;
    }
    if (this.fsync) await syncDir(dir);
  }

  async close(): Promise<void> {}

  async probe(): Promise<void> {
    // Both directories must exist and be writable (a lost mount, a read-only remount, wrong owner).
    await fsp.access(this.blobsDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    await fsp.access(this.tmpDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  }

  async freeBytes(): Promise<number | null> {
    const s = await fsp.statfs(this.tmpDir);
    return s.bavail * s.bsize;
  }

  async discard(staged: StagedBlob): Promise<void> {
    if (staged.tempPath) await fsp.rm(staged.tempPath, { force: true });
  }

  open(hash: string, range?: { start: number; end: number }): Readable {
    return new FileRangeStream(this.pathOf(hash), range);
  }

  async stat(hash: string): Promise<{ size: number; mtimeMs: number } | null> {
    try {
      const s = await fsp.stat(this.pathOf(hash));
      return { size: s.size, mtimeMs: s.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async remove(hash: string): Promise<void> {
    await fsp.rm(this.pathOf(hash), { force: true });
  }

  async removeUnlessTouched(hash: string, withinMs: number): Promise<boolean> {
    // mtimes are the file system's clock, so the cutoff is too (not an injected domain clock).
    const cutoffMs = Date.now() - withinMs;
    const final = this.pathOf(hash);
    const before = await this.stat(hash);
    if (!before) return true;
    if (before.mtimeMs > cutoffMs) return false;
    // Renamed away first: from here on a place() of this hash finds no file and renames its own copy
    // in; a place() that came before the rename refreshed the mtime of this very inode, read below.
    const grave = path.join(this.tmpDir, `${hash}.${randomUUID()}.gc`);
    try {
      await fsp.rename(final, grave);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    if ((await fsp.stat(grave)).mtimeMs > cutoffMs) {
      // An upload dedup'd onto it just now: put it back (over that upload's own copy, if it placed one: same bytes).
      await fsp.rename(grave, final);
      return false;
    }
    await fsp.rm(grave, { force: true });
    return true;
  }

  async *list(): AsyncIterable<string> {
    for (const a of await readdirSafe(this.blobsDir)) {
      for (const b of await readdirSafe(path.join(this.blobsDir, a))) {
        for (const name of await readdirSafe(path.join(this.blobsDir, a, b))) {
          if (HASH.test(name)) yield name;
        }
      }
    }
  }

  sweepTemp(olderThanMs: number): Promise<number> {
    return sweepTempDir(this.tmpDir, olderThanMs);
  }

  verify(hash: string): Promise<{ hash: string; size: number }> {
    return hashStream(this.open(hash));
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
