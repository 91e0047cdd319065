/**
 * Garbage collection of blobs and the integrity check (fsck).
 *
 * GC safety. An upload places its blob (a rename, or on dedup a refresh of the existing file's
 * mtime) BEFORE the transaction that adds the reference, so that no file I/O happens inside a
 * transaction (DESIGN.md §3). The collector therefore never trusts the row alone: it removes a
 * file only when neither the row (released more than the grace period ago) nor the file (not
 * touched within the grace period) is recent, and the file check is atomic against a concurrent
 * place() (BlobStore.removeUnlessTouched). Then, in a transaction, it deletes the row only if it
 * is still unreferenced: an upload that dedup'd onto the blob after its file went placed its own
 * copy and took a reference, so its row stays. The grace period must cover an upload's time from
 * place() to commit (milliseconds; BLOB_GC_GRACE is at least a minute).
 *
 * On an object store the file check and the removal are two requests, atomic only within one
 * process; across instances the removal also runs under a claim in the database (blob-claims.ts).
 *
 * Inline blobs (blob-bytes.ts) need none of this: an upload writes their bytes in the same
 * transaction that takes the reference, and deleting the row deletes the bytes, so the two
 * transactions are simply ordered — the upload finds the row and takes a reference (the GC's
 * DELETE then matches nothing), or finds it gone and stores the bytes again.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/index.js';
import { BlobClaims } from './blob-claims.js';
import {
  allBlobs,
  blobFileNeeded,
  deleteUnreferencedBlob,
  inlineBytes,
  unreferencedBlobs,
  type BlobListing,
} from '../db/repos/blobs.js';
import { countFiles, nodeRefsByHash, nodesOwnedApartFromParent, nodesWithWrongSize } from '../db/repos/fsck.js';
import { fileBytesByOwner, propertyBytesByOwner, recordedUsage } from '../db/repos/usage.js';
import { reservationsByOwner } from '../db/repos/resumable-uploads.js';
import type { BlobStore } from '../../storage/index.js';
import type { Clock } from './clock.js';
import { versionBytesByOwner, versionRefsByHash, versionsWithWrongSize } from '../db/repos/versions.js';

export interface GcResult {
  blobsRemoved: number;
  orphanFilesRemoved: number;
  tempFilesRemoved: number;
  /** Cached thumbnails removed: those of the blobs deleted now, and any whose blob has no row. */
  thumbnailsRemoved: number;
}

/** Files derived from blobs (thumbnails) that go when their blob goes. */
export interface DerivedFiles {
  forget(hashes: string[]): Promise<number>;
  sweep(tempCutoffMs: number): Promise<number>;
}

const GC_BATCH = 200;

export async function collectGarbage(
  db: Db,
  blobs: BlobStore,
  clock: Clock,
  graceMs: number,
  derived?: DerivedFiles,
): Promise<GcResult> {
  const cutoff = clock.now() - graceMs;
  const claims = new BlobClaims(db, blobs, clock);
  const removeUnlessTouched = (hash: string) => claims.deleting(hash, () => blobs.removeUnlessTouched(hash, graceMs));
  await claims.sweepStale();
  let blobsRemoved = 0;
  let thumbnailsRemoved = 0;
  for (let after = ''; ;) {
    const rows = await unreferencedBlobs(db, cutoff, after, GC_BATCH);
    const gone: string[] = [];
    for (const { hash, inline } of rows) if (inline || (await removeUnlessTouched(hash))) gone.push(hash);
    if (gone.length > 0) {
      const deleted = await db.tx(async (tx) => {
        const deletedRows: string[] = [];
        for (const hash of gone) if ((await deleteUnreferencedBlob(tx, hash)) > 0) deletedRows.push(hash);
        return deletedRows;
      });
      blobsRemoved += deleted.length;
      if (derived) thumbnailsRemoved += await derived.forget(deleted);
    }
    if (rows.length < GC_BATCH) break;
    after = rows[rows.length - 1]!.hash;
  }
  let orphanFilesRemoved = 0;
  for await (const hash of blobs.list()) {
    // No row, or a row whose bytes are inline (an inline upload of the same bytes came first). The
    // database first: a stat may be a request to an object store, and most listed blobs are needed.
    if (await blobFileNeeded(db, hash)) continue;
    const st = await blobs.stat(hash);
    if (!st || st.mtimeMs > cutoff) continue;
    if (await removeUnlessTouched(hash)) orphanFilesRemoved++;
  }
  const tempFilesRemoved = await blobs.sweepTemp(cutoff);
  if (derived) thumbnailsRemoved += await derived.sweep(cutoff);
  return { blobsRemoved, orphanFilesRemoved, tempFilesRemoved, thumbnailsRemoved };
}

export interface FsckReport {
  ok: boolean;
  problems: string[];
  checked: { files: number; blobs: number; users: number };
}

/** Verifies the store's invariants and lists every violation; changes nothing. */
export async function fsck(db: Db, blobs: BlobStore, opts: { verifyContent?: boolean } = {}): Promise<FsckReport> {
  const problems: string[] = [];
  const blobRows = await allBlobs(db);
  const refCount = await nodeRefsByHash(db);
  // Versions hold references too: a blob is referenced by the files that show it and the versions that keep it.
  for (const [h, c] of await versionRefsByHash(db)) refCount.set(h, (refCount.get(h) ?? 0) + c);
  for (const b of blobRows) {
    const want = refCount.get(b.hash) ?? 0;
    if (b.refCount !== want) problems.push(`blob ${b.hash}: ref_count ${b.refCount} but ${want} nodes refer to it`);
    if (want === 0) continue;
    const problem = b.inlineSize === null ? await checkFile(blobs, b, opts) : await checkInline(db, b, opts);
    if (problem) problems.push(`blob ${b.hash}: ${problem}`);
  }
  const known = new Set(blobRows.map((b) => b.hash));
  for (const h of refCount.keys()) if (!known.has(h)) problems.push(`nodes refer to blob ${h}, which has no row`);
  for (const id of await nodesWithWrongSize(db)) problems.push(`node ${id}: size differs from its blob`);
  for (const id of await versionsWithWrongSize(db)) problems.push(`version ${id}: size differs from its blob`);
  // used_bytes is the sum of every kind of stored bytes charged to the owner: one term per kind.
  const terms: [string, Map<string, number>][] = [
    ['files', await fileBytesByOwner(db)],
    ['properties', await propertyBytesByOwner(db)],
    ['versions', await versionBytesByOwner(db)],
  ];
  const users = await recordedUsage(db);
  for (const u of users) {
    const parts = terms.map(([what, byOwner]) => [what, byOwner.get(u.id) ?? 0] as const);
    const actual = parts.reduce((sum, [, b]) => sum + b, 0);
    if (u.usedBytes !== actual) {
      problems.push(
        `user ${u.username}: used_bytes ${u.usedBytes} but ${parts.map(([what, b]) => `${what} (${b})`).join(' + ')} add up to ${actual}`,
      );
    }
  }
  for (const r of await reservationsByOwner(db)) {
    if (r.recorded !== r.actual)
      problems.push(
        `user ${r.username}: reserved_bytes ${r.recorded} but the resumable uploads under way reserve ${r.actual}`,
      );
  }
  for (const id of await nodesOwnedApartFromParent(db))
    problems.push(`node ${id}: owner differs from its parent's owner`);
  const files = await countFiles(db);
  return {
    ok: problems.length === 0,
    problems,
    checked: { files, blobs: blobRows.length, users: users.length },
  };
}

async function checkFile(blobs: BlobStore, b: BlobListing, opts: { verifyContent?: boolean }): Promise<string | null> {
  const st = await blobs.stat(b.hash);
  if (!st) return 'file missing';
  if (st.size !== b.size) return `file has ${st.size} bytes, row says ${b.size}`;
  if (!opts.verifyContent) return null;
  const v = await blobs.verify(b.hash);
  return v.hash === b.hash ? null : `content hashes to ${v.hash}`;
}

async function checkInline(db: Db, b: BlobListing, opts: { verifyContent?: boolean }): Promise<string | null> {
  if (b.inlineSize !== b.size) return `inline bytes are ${b.inlineSize} long, row says ${b.size}`;
  if (!opts.verifyContent) return null;
  const bytes = (await inlineBytes(db, b.hash)) ?? Buffer.alloc(0);
  const hash = createHash('sha256').update(bytes).digest('hex');
  return hash === b.hash ? null : `inline content hashes to ${hash}`;
}
