/**
 * Blob rows: one per distinct content (sha256), with its other checksums and a reference count —
 * the nodes and versions that show it. References move in the transaction that adds or drops what
 * holds them, each change one statement however many references it moves.
 */
import { jsonRows, perDialect, type Dialect } from '../dialect.js';
import { num, type Q } from '../index.js';
import { liveSubtreeCte } from './nodes.js';

export interface NewBlob {
  hash: string;
  sha1: string;
  md5: string;
  size: number;
}

/** Adds `count` references to a blob, creating its row the first time its content is stored. */
export async function addBlobRef(tx: Q, blob: NewBlob, now: number, count = 1): Promise<void> {
  await tx.run(
    `INSERT INTO blobs (hash, sha1, md5, size, ref_count, created_at) VALUES ($hash, $sha1, $md5, $size, $count, $now)
     ON CONFLICT (hash) DO UPDATE SET ref_count = blobs.ref_count + $count, released_at = NULL`,
    { hash: blob.hash, sha1: blob.sha1, md5: blob.md5, size: blob.size, count, now },
  );
}

// `refs(hash, n)`: how many references each hash gains or loses; the UPDATE applies them all at once.
const addRefs = (refs: string) =>
  `${refs}
   UPDATE blobs SET ref_count = ref_count + (SELECT refs.n FROM refs WHERE refs.hash = blobs.hash), released_at = NULL
   WHERE hash IN (SELECT hash FROM refs)`;
/** A blob reaching zero references is left for the garbage collector, after its grace period (released_at). */
const dropRefs = (refs: string) =>
  `${refs}
   UPDATE blobs SET ref_count = ref_count - (SELECT refs.n FROM refs WHERE refs.hash = blobs.hash),
     released_at = CASE WHEN ref_count - (SELECT refs.n FROM refs WHERE refs.hash = blobs.hash) = 0 THEN $now ELSE released_at END
   WHERE hash IN (SELECT hash FROM refs)`;

const listed = (d: Dialect) =>
  `WITH refs(hash, n) AS (SELECT j.value, COUNT(*) FROM ${jsonRows('$hashes')(d)} j GROUP BY j.value)`;
const addListedSql = perDialect((d) => addRefs(listed(d)));
const dropListedSql = perDialect((d) => dropRefs(listed(d)));

/** Adds one reference per listed hash (a hash listed twice gains two) to blobs that have rows. */
export async function addBlobRefs(tx: Q, hashes: string[]): Promise<void> {
  if (hashes.length > 0) await tx.run(addListedSql(tx), { hashes: JSON.stringify(hashes) });
}

/** Drops one reference per listed hash. */
export async function releaseBlobRefs(tx: Q, hashes: string[], now: number): Promise<void> {
  if (hashes.length > 0) await tx.run(dropListedSql(tx), { hashes: JSON.stringify(hashes), now });
}

/** The references held by every file of the live subtree under `rootId` (a copy just made). */
export async function addRefsOfSubtree(tx: Q, rootId: string): Promise<void> {
  await tx.run(
    addRefs(`WITH RECURSIVE ${liveSubtreeCte('$rootId')},
     refs(hash, n) AS (
       SELECT n.content_hash, COUNT(*) FROM sub CROSS JOIN nodes n ON n.id = sub.id
       WHERE n.content_hash IS NOT NULL GROUP BY n.content_hash
     )`),
    { rootId },
  );
}

/** Releases the references held by every file of a trashed subtree (about to be purged). */
export async function releaseRefsOfTrash(tx: Q, trashRootId: string, now: number): Promise<void> {
  await tx.run(
    dropRefs(`WITH refs(hash, n) AS (
       SELECT content_hash, COUNT(*) FROM nodes WHERE trash_root_id = $id AND content_hash IS NOT NULL GROUP BY content_hash
     )`),
    { id: trashRootId, now },
  );
}

export async function blobChecksums(q: Q, hash: string): Promise<{ sha1: string; md5: string } | undefined> {
  return q.get<{ sha1: string; md5: string }>('SELECT sha1, md5 FROM blobs WHERE hash = $hash', { hash });
}

// ── garbage collection and fsck ──────────────────────────────────────────────────────────

/** Blobs without references, released before `cutoff` (or never referenced), at most `limit`. */
/** Unreferenced blobs released before `cutoff`, in hash order after `after` (a page of the GC's walk). */
export async function unreferencedBlobs(q: Q, cutoff: number, after: string, limit: number): Promise<string[]> {
  const rows = await q.all<{ hash: string }>(
    `SELECT hash FROM blobs WHERE ref_count = 0 AND (released_at IS NULL OR released_at <= $cutoff) AND hash > $after
     ORDER BY hash LIMIT $limit`,
    { cutoff, after, limit },
  );
  return rows.map((r) => r.hash);
}

/** Deletes a blob row if it still has no references; 1 when it did. */
export async function deleteUnreferencedBlob(tx: Q, hash: string): Promise<number> {
  return tx.run('DELETE FROM blobs WHERE hash = $hash AND ref_count = 0', { hash });
}

export async function blobRowExists(q: Q, hash: string): Promise<boolean> {
  return (await q.get('SELECT 1 AS r FROM blobs WHERE hash = $hash', { hash })) !== undefined;
}

export async function allBlobs(q: Q): Promise<{ hash: string; size: number; refCount: number }[]> {
  const rows = await q.all<{ hash: string; size: unknown; ref_count: unknown }>(
    'SELECT hash, size, ref_count FROM blobs',
  );
  return rows.map((r) => ({ hash: r.hash, size: num(r.size), refCount: num(r.ref_count) }));
}
