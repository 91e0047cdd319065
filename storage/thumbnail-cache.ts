/**
 * Generated thumbnails on the local disk: `<dataDir>/thumbnails/ab/<sha256>-<size>-<recipe>.webp`,
 * keyed by the content hash of their source, so every file (and every user) showing the same bytes
 * shares them. They are a cache: counted in no quota, written atomically (temp file, rename) so a
 * reader never sees half a thumbnail, and safe to delete at any time. Each instance keeps its own,
 * even when the blobs are in a shared object store.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { readdirSafe, sweepTempDir } from './staging-sink.js';

const HASH = /^[0-9a-f]{64}$/;
const SWEEP_BATCH = 500;
const ENTRY = /^([0-9a-f]{64})-(\d+)-([a-z0-9]+)\.webp$/;

export class ThumbnailCache {
  readonly dir: string;
  /** Where sources are spooled and thumbnails written before they are renamed into place. */
  readonly tmpDir: string;

  constructor(
    dataDir: string,
    /** The current recipe: thumbnails made by another one are not found, and swept. */
    private readonly recipe: string,
  ) {
    this.dir = path.join(dataDir, 'thumbnails');
    this.tmpDir = path.join(this.dir, 'tmp');
  }

  /** The file of a thumbnail (whether it exists or not). */
  file(hash: string, size: number): string {
    if (!HASH.test(hash)) throw new Error(`not a content hash: ${hash}`);
    return path.join(this.dir, hash.slice(0, 2), `${hash}-${size}-${this.recipe}.webp`);
  }

  /** The thumbnail's bytes, or null when it has not been made yet. */
  async read(hash: string, size: number): Promise<Buffer | null> {
    try {
      return await fsp.readFile(this.file(hash, size));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Stores a thumbnail: a temp file renamed over the final name (no fsync: a lost one is made again). */
  async write(hash: string, size: number, bytes: Buffer): Promise<void> {
    const target = this.file(hash, size);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = await this.tempPath('out');
    try {
      await fsp.writeFile(tmp, bytes);
      await fsp.rename(tmp, target);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** A fresh path under tmpDir (the directory exists). */
  async tempPath(what: string): Promise<string> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, `${what}-${randomBytes(8).toString('hex')}`);
  }

  /** Removes every thumbnail of these sources; returns how many files went. */
  async remove(hashes: Iterable<string>): Promise<number> {
    let removed = 0;
    for (const hash of hashes) {
      if (!HASH.test(hash)) continue;
      const shard = path.join(this.dir, hash.slice(0, 2));
      for (const name of await readdirSafe(shard)) {
        if (!name.startsWith(`${hash}-`)) continue;
        await fsp.rm(path.join(shard, name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  /**
   * Walks the cache in batches of source hashes; `keep` answers which of them still have a blob.
   * Thumbnails of the others, of an older recipe, and temp files older than `tempCutoffMs` are removed.
   */
  async sweep(keep: (hashes: string[]) => Promise<Set<string>>, tempCutoffMs: number): Promise<number> {
    let removed = await sweepTempDir(this.tmpDir, tempCutoffMs);
    for (const shard of await readdirSafe(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const names = await readdirSafe(path.join(this.dir, shard));
      const byHash = new Map<string, string[]>();
      for (const name of names) {
        const m = ENTRY.exec(name);
        if (!m || m[3] !== this.recipe) {
          if (!name.startsWith('.')) {
            await fsp.rm(path.join(this.dir, shard, name), { force: true });
            removed++;
          }
          continue;
        }
        (byHash.get(m[1]!) ?? byHash.set(m[1]!, []).get(m[1]!)!).push(name);
      }
      const hashes = [...byHash.keys()];
      const kept = new Set<string>();
      for (let i = 0; i < hashes.length; i += SWEEP_BATCH)
        for (const h of await keep(hashes.slice(i, i + SWEEP_BATCH))) kept.add(h);
      for (const [hash, files] of byHash) {
        if (kept.has(hash)) continue;
        for (const name of files) await fsp.rm(path.join(this.dir, shard, name), { force: true });
        removed += files.length;
      }
    }
    return removed;
  }
}
