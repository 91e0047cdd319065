/**
 * Garbage collection of blobs and the integrity check (fsck).
 *
 * GC safety: uploads place a blob file and add its reference inside one IMMEDIATE transaction;
 * the collector removes a file and its row inside another. SQLite serialises the two, so an upload
 * can never dedup onto a blob that is being deleted. The grace period only protects files that have
 * no row yet (a crash between rename and commit, or a transaction that is about to commit).
 */
import { num, type Db } from '../db/index.js';
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
      const rows = await tx.all<{ hash: string }>(
        'SELECT hash FROM blobs WHERE ref_count = 0 AND (released_at IS NULL OR released_at <= $cutoff) LIMIT 200',
        { cutoff },
      );
      for (const { hash } of rows) {
        await blobs.remove(hash);
        await tx.run('DELETE FROM blobs WHERE hash = $hash AND ref_count = 0', { hash });
      }
      return rows.length;
    });
    blobsRemoved += batch;
    if (batch < 200) break;
  }
  let orphanFilesRemoved = 0;
  for await (const hash of blobs.list()) {
    const st = await blobs.stat(hash);
    if (!st || st.mtimeMs > cutoff) continue;
    orphanFilesRemoved += await db.tx(async (tx) => {
      if (await tx.get('SELECT 1 AS r FROM blobs WHERE hash = $hash', { hash })) return 0;
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
  const blobRows = await db.all<{ hash: string; size: unknown; ref_count: unknown }>(
    'SELECT hash, size, ref_count FROM blobs',
  );
  const refs = await db.all<{ h: string; c: unknown }>(
    'SELECT content_hash AS h, COUNT(*) AS c FROM nodes WHERE content_hash IS NOT NULL GROUP BY content_hash',
  );
  const refCount = new Map(refs.map((r) => [r.h, num(r.c)]));
  // Versions hold references too: a blob is referenced by the files that show it and the versions that keep it.
  for (const [h, c] of await versionRefsByHash(db)) refCount.set(h, (refCount.get(h) ?? 0) + c);
  for (const b of blobRows) {
    const want = refCount.get(b.hash) ?? 0;
    if (num(b.ref_count) !== want)
      problems.push(`blob ${b.hash}: ref_count ${num(b.ref_count)} but ${want} nodes refer to it`);
    if (want === 0) continue;
    const st = await blobs.stat(b.hash);
    if (!st) problems.push(`blob ${b.hash}: file missing`);
    else if (st.size !== num(b.size))
      problems.push(`blob ${b.hash}: file has ${st.size} bytes, row says ${num(b.size)}`);
    else if (opts.verifyContent) {
      const v = await blobs.verify(b.hash);
      if (v.hash !== b.hash) problems.push(`blob ${b.hash}: content hashes to ${v.hash}`);
    }
  }
  const known = new Set(blobRows.map((b) => b.hash));
  for (const h of refCount.keys()) if (!known.has(h)) problems.push(`nodes refer to blob ${h}, which has no row`);
  const sizeMismatch = await db.all<{ id: string }>(
    'SELECT n.id FROM nodes n JOIN blobs b ON b.hash = n.content_hash WHERE n.size <> b.size',
  );
  for (const n of sizeMismatch) problems.push(`node ${n.id}: size differs from its blob`);
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
  const owners = await db.all<{ id: string }>(
    'SELECT c.id FROM nodes c JOIN nodes p ON p.id = c.parent_id WHERE c.owner_id <> p.owner_id',
  );
  for (const n of owners) problems.push(`node ${n.id}: owner differs from its parent's owner`);
  const files = await db.get<{ c: unknown }>("SELECT COUNT(*) AS c FROM nodes WHERE kind = 'file'");
  return {
    ok: problems.length === 0,
    problems,
    checked: { files: num(files?.c), blobs: blobRows.length, users: users.length },
  };
}
