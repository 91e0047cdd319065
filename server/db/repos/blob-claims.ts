/**
 * Claims on blob objects (013-blob-claims.ts): a `use` while an upload places a blob and commits its
 * reference, a `delete` while the garbage collector removes one. Each statement commits on its own:
 * the protocol (server/domain/blob-claims.ts) relies on a claim being visible to every instance
 * before its holder looks for the other kind.
 */
import type { Q } from '../index.js';

export type BlobClaimKind = 'use' | 'delete';

export async function insertBlobClaim(
  q: Q,
  claim: { id: string; hash: string; kind: BlobClaimKind; at: number },
): Promise<void> {
  await q.run('INSERT INTO blob_claims (id, hash, kind, at) VALUES ($id, $hash, $kind, $at)', claim);
}

export async function deleteBlobClaim(q: Q, id: string): Promise<void> {
  await q.run('DELETE FROM blob_claims WHERE id = $id', { id });
}

/** Whether a claim of this kind on the hash, made after `since`, is held (other than `exceptId`). */
export async function blobClaimHeld(
  q: Q,
  a: { hash: string; kind: BlobClaimKind; since: number; exceptId: string },
): Promise<boolean> {
  const row = await q.get(
    `SELECT 1 AS held FROM blob_claims
     WHERE hash = $hash AND kind = $kind AND at > $since AND id <> $exceptId LIMIT 1`,
    a,
  );
  return row !== undefined;
}

/** Drops claims made before `before` (their holders crashed); the number dropped. */
export async function deleteStaleBlobClaims(q: Q, before: number): Promise<number> {
  return q.run('DELETE FROM blob_claims WHERE at < $before', { before });
}
