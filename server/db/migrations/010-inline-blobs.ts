import type { Migration } from '../migration.js';
import { columnTypes } from './001-initial.js';

/**
 * Inline blobs: the bytes of small files (at most INLINE_MAX_BYTES, server/domain/inline.ts) live in
 * the database, so storing one costs the commit's WAL fsync and nothing else. The `blobs` row stays
 * the one record of every content (hash, checksums, size, references) wherever its bytes are; a row
 * here says "these bytes are inline". A side table rather than a column of `blobs`: a 64 KiB value
 * would spread each `blobs` row over the leaf page and its overflow chain, and the scans and joins
 * that only want checksums or reference counts (every PROPFIND's LEFT JOIN, the GC's and fsck's
 * walks) would read far more pages and crowd the page cache. Kept apart, `blobs` stays a dense
 * table of ~150-byte rows and the bytes are read only by a download. Deleting a `blobs` row (the GC,
 * once no file or version refers to it) deletes its bytes with it.
 */
export const inlineBlobs: Migration = {
  name: '010-inline-blobs',
  statements: (d) => [
    `CREATE TABLE inline_blobs (
      hash TEXT PRIMARY KEY REFERENCES blobs(hash) ON DELETE CASCADE,
      bytes ${columnTypes(d).bytes} NOT NULL
    )`,
  ],
};
