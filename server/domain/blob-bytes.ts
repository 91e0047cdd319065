/**
 * Where a blob's bytes live, and reading them from there: small blobs inline in the database, the
 * others in the blob store. Both are content-addressed and deduplicated the same way (one `blobs`
 * row per sha256, with its reference count); only the place of the bytes differs.
 *
 * Why 64 KiB. An inline blob is stored by the transaction that adds its reference, so the WAL
 * commit — shared by the uploads in flight (group commit) — is its only fsync; a blob in the store
 * costs a temp file, its fsync, a rename and a directory fsync besides. Measured here (ext4 on the
 * machine's virtual disk, SQLite 3.52, WAL, synchronous=FULL; medians of 60 writes, each with its
 * commit, and 400 warm reads per size):
 *
 *   size      write inline / file      read inline / file (whole blob, warm cache)
 *   4 KiB     0.62 / 1.83 ms           53 / 174 µs
 *   16 KiB    0.64 / 1.41 ms           52 / 121 µs
 *   64 KiB    0.65 / 1.34 ms           85 / 115 µs
 *   256 KiB   1.26 / 1.67 ms          189 / 176 µs
 *   1 MiB     3.31 / 2.45 ms          605 / 434 µs
 *
 * Up to 64 KiB the database wins both ways (and through the server: WebDAV PUTs of 64 KiB, 126 vs 79
 * files/s at c=1, 227 vs 155 at c=8; README, *Small files inline*); at 256 KiB reads are even and
 * every inline byte is written twice (WAL, then the checkpoint into the database file), and beyond
 * that the file wins. SQLite keeps a row this size in a leaf page plus a chain of overflow pages
 * (16 for 64 KiB at the default 4 KiB page), read in one query. The workloads that make many small
 * uploads fall mostly under it: source trees (a median file of a few KiB), small office documents,
 * thumbnails and icons (5–50 KiB), notes and config files. An upload is held in memory until it
 * passes the limit, so the limit also bounds the memory of each upload in flight.
 *
 * The value may be raised later (blobs already in the store stay there; an inline upload of the
 * same bytes moves them inline). Lowering it would leave inline blobs above the new value, which
 * reads below would look for in the store: it needs a migration that writes them out first.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Db } from '../db/index.js';
import { inlineBytes } from '../db/repos/blobs.js';
import type { BlobStore } from '../../storage/index.js';
import { storeFailure } from './errors.js';

/** The largest blob stored inline in the database (see above). */
export const INLINE_MAX_BYTES = 64 * 1024;

/** Inclusive byte offsets, as HTTP ranges give them. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What identifies a blob's bytes: its hash, and its size, which says where they may be. */
export interface BlobRef {
  hash: string;
  size: number;
}

/** Only a blob this small may be inline: a larger one is read from the store without asking the database. */
export const mayBeInline = (size: number): boolean => size <= INLINE_MAX_BYTES;

export class BlobBytes {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Opens a blob's bytes (all, or an inclusive range). Resolves once they can be streamed — the
   * inline bytes read (one query) or the store's file open — so a missing blob fails here, before a
   * transport has answered anything. `inline` passes bytes a query has already read with the node
   * (null: known not to be inline), which saves the query.
   */
  async open(blob: BlobRef, range?: ByteRange, inline?: Buffer | null): Promise<Readable> {
    const bytes = await this.read(blob, range, inline);
    return Buffer.isBuffer(bytes) ? bytesStream(bytes) : bytes;
  }

  /**
   * As `open`, but an inline blob comes back as its bytes: a transport answers them in one write,
   * without a stream's machinery (a third of the CPU of a small GET, measured: README, *Performance*).
   */
  async read(blob: BlobRef, range?: ByteRange, inline?: Buffer | null): Promise<Buffer | Readable> {
    const bytes = inline !== undefined ? inline : mayBeInline(blob.size) ? await inlineBytes(this.db, blob.hash) : null;
    if (bytes) return range ? bytes.subarray(range.start, range.end + 1) : bytes;
    const stream = this.blobs.open(blob.hash, range);
    try {
      await once(stream, 'ready');
    } catch (err) {
      throw storeFailure(err);
    }
    return stream;
  }
}

/** A byte stream of one buffer (Readable.from would make an object-mode stream of it). */
function bytesStream(bytes: Buffer): Readable {
  const out = new Readable({ read() {} });
  if (bytes.length > 0) out.push(bytes);
  out.push(null);
  return out;
}
