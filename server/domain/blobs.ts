/** Blob reference counting (rows in `blobs`), always inside the transaction that adds or drops a node. */
import type { Q } from '../db/index.js';
import type { StagedBlob } from '../../storage/index.js';

export async function addBlobRef(
  tx: Q,
  blob: Pick<StagedBlob, 'hash' | 'sha1' | 'md5' | 'size'>,
  now: number,
  count = 1,
): Promise<void> {
  await tx.run(
    `INSERT INTO blobs (hash, sha1, md5, size, ref_count, created_at) VALUES ($hash, $sha1, $md5, $size, $count, $now)
     ON CONFLICT (hash) DO UPDATE SET ref_count = blobs.ref_count + $count, released_at = NULL`,
    { hash: blob.hash, sha1: blob.sha1, md5: blob.md5, size: blob.size, count, now },
  );
}

/** Adds references to blobs that already have rows (metadata-only copies). */
export async function bumpBlobRefs(tx: Q, hashes: string[]): Promise<void> {
  const counts = new Map<string, number>();
  for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
  for (const [hash, count] of counts) {
    await tx.run('UPDATE blobs SET ref_count = ref_count + $count, released_at = NULL WHERE hash = $hash', {
      hash,
      count,
    });
  }
}

/** Drops references; a blob reaching zero is left for the garbage collector (after its grace period). */
export async function releaseBlobRefs(tx: Q, hashes: string[], now: number): Promise<void> {
  const counts = new Map<string, number>();
  for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
  for (const [hash, count] of counts) {
    await tx.run(
      `UPDATE blobs SET ref_count = ref_count - $count,
         released_at = CASE WHEN ref_count - $count = 0 THEN $now ELSE released_at END
       WHERE hash = $hash`,
      { hash, count, now },
    );
  }
}

export async function blobChecksums(q: Q, hash: string): Promise<{ sha1: string; md5: string } | undefined> {
  return q.get<{ sha1: string; md5: string }>('SELECT sha1, md5 FROM blobs WHERE hash = $hash', { hash });
}
