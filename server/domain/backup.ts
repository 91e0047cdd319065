/**
 * The blobs of a backup or a move between stores (`npm run migrate-store`): every blob file the
 * database snapshot refers to (inline blobs are in the snapshot itself), copied from the live store
 * into the other store through the same staging that uploads use — so each copy is re-hashed on
 * the way and a blob that does not match its name stops the copy instead of being saved corrupt.
 * Blobs are never changed in place, so the snapshot's blobs are all in the store when it is taken,
 * however long the copy takes. With `resume`, a blob the target already holds at the right size is
 * skipped (a copy that was interrupted goes on where it stopped; the target's place() checked the
 * bytes of every blob it stored).
 */
import type { Q } from '../db/index.js';
import { allBlobs } from '../db/repos/blobs.js';
import type { BlobStore } from '../../storage/index.js';

export interface BlobCopyReport {
  /** Blob files copied into the backup. */
  copied: number;
  /** Their bytes. */
  bytes: number;
  /** Blobs kept in the database snapshot itself (inline), nothing to copy. */
  inline: number;
  /** Blobs the target already held at the right size (with `resume`). */
  skipped: number;
}

export async function copySnapshotBlobs(
  snapshot: Q,
  from: BlobStore,
  to: BlobStore,
  opts: { resume?: boolean } = {},
): Promise<BlobCopyReport> {
  const report: BlobCopyReport = { copied: 0, bytes: 0, inline: 0, skipped: 0 };
  for (const blob of await allBlobs(snapshot)) {
    if (blob.inlineSize !== null) {
      report.inline++;
      continue;
    }
    if (opts.resume && (await to.stat(blob.hash))?.size === blob.size) {
      report.skipped++;
      continue;
    }
    const staged = await to.stage(from.open(blob.hash));
    if (staged.hash !== blob.hash || staged.size !== blob.size) {
      await to.discard(staged);
      throw new Error(
        `blob ${blob.hash} does not match its record (read ${staged.size} bytes hashing to ${staged.hash}): run npm run fsck`,
      );
    }
    await to.place(staged);
    report.copied++;
    report.bytes += blob.size;
  }
  return report;
}
