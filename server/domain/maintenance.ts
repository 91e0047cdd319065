/**
 * Garbage collection of blobs and the integrity check (fsck).
 *
 * GC safety: uploads place a blob file and add its reference inside one IMMEDIATE transaction;
 * the collector removes a file and its row inside another. SQLite serialises the two, so an upload
 * can never dedup onto a blob that is being deleted. The grace period only protects files that have
 * no row yet (a crash between rename and commit, or a transaction that is about to commit).
 */
import type { Db } from '../db/index.js';
import { allBlobs, blobRowExists, deleteUnreferencedBlob, unreferencedBlobs } from '../db/repos/blobs.js';
import { countFiles, nodeRefsByHash, nodesOwnedApartFromParent, nodesWithWrongSize } from '../db/repos/fsck.js';
import { fileBytesByOwner, propertyBytesByOwner, recordedUsage } from '../db/repos/usage.js';
import type { BlobStore } from '../../storage/index.js';
import type { Clock } from './clock.js';
import { versionBytesByOwner, versionRefsByHash, versionsWithWrongSize } from '../db/repos/versions.js';

export interface GcResult {
  blobsRemoved: number;
  orphanFilesRemoved: number;
  tempFilesRemoved: number;
}

export async function collectGarbage(db: Db, blobs: BlobStore, clock: Clock, graceMs: number): Promise<GcResult> {
  const cutoff = clock.now() - graceMs;
  let blobsRemoved = 0;
  for (;;) {
    const batch = await db.tx(async (tx) => {
      const hashes = await unreferencedBlobs(tx, cutoff, 200);
      for (const hash of hashes) {
        await blobs.remove(hash);
        await deleteUnreferencedBlob(tx, hash);
      }
      return hashes.length;
    });
    blobsRemoved += batch;
    if (batch < 200) break;
  }
  let orphanFilesRemoved = 0;
  for await (const hash of blobs.list()) {
    const st = await blobs.stat(hash);
    if (!st || st.mtimeMs > cutoff) continue;
    orphanFilesRemoved += await db.tx(async (tx) => {
      if (await blobRowExists(tx, hash)) return 0;
      await blobs.remove(hash);
      return 1;
    });
  }
  const tempFilesRemoved = await blobs.sweepTemp(cutoff);
  return { blobsRemoved, orphanFilesRemoved, tempFilesRemoved };
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
    const st = await blobs.stat(b.hash);
    if (!st) problems.push(`blob ${b.hash}: file missing`);
    else if (st.size !== b.size) problems.push(`blob ${b.hash}: file has ${st.size} bytes, row says ${b.size}`);
    else if (opts.verifyContent) {
      const v = await blobs.verify(b.hash);
      if (v.hash !== b.hash) problems.push(`blob ${b.hash}: content hashes to ${v.hash}`);
    }
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
  for (const id of await nodesOwnedApartFromParent(db))
    problems.push(`node ${id}: owner differs from its parent's owner`);
  const files = await countFiles(db);
  return {
    ok: problems.length === 0,
    problems,
    checked: { files, blobs: blobRows.length, users: users.length },
  };
}
