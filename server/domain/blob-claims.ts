/**
 * Placing and deleting a blob's object across instances that share an object store.
 *
 * The collector deletes an unreferenced object only when no upload touched it within the grace
 * period (maintenance.ts), but on an object store that check (HeadObject) and the deletion
 * (DeleteObject) are two requests: another instance's upload refreshing the object between them
 * would commit a reference to an object that is gone. Where removal is not atomic against placement
 * (BlobStore.atomicRemoval is false), the two sides announce themselves in the database first:
 *
 *   upload:    claim `use`,    then look for a `delete` claim (wait while one is held), place, commit
 *   collector: claim `delete`, then look for a `use` claim (give up on the blob when one is held), delete
 *
 * Each claim commits before its holder looks for the other kind, so of an upload and a deletion
 * that overlap at least one sees the other (both may: the collector gives up, and the upload waits
 * only until the collector's claim is gone). An upload that saw no `delete` claim may dedup onto
 * the object, because every deletion from then on sees its `use` claim until the reference is
 * committed; an upload that waited finds the object gone or kept, and places its own bytes either way.
 *
 * A claim outlives a crashed holder only until it is stale: `use` claims after USE_CLAIM_STALE_MS
 * (dated before the placement, which may be a multipart upload of many gigabytes), `delete` claims
 * after DELETE_CLAIM_STALE_MS (longer than the store's request timeout with its retries). A stale
 * `use` claim only keeps the collector off one blob until then.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/index.js';
import { blobClaimHeld, deleteBlobClaim, deleteStaleBlobClaims, insertBlobClaim } from '../db/repos/blob-claims.js';
import { BlobStoreUnavailable, type BlobStore, type StagedFile } from '../../storage/index.js';
import type { Clock } from './clock.js';

export const USE_CLAIM_STALE_MS = 6 * 3600_000;
export const DELETE_CLAIM_STALE_MS = 10 * 60_000;
/** How long an upload waits for a deletion of the same blob in progress before it gives up (a 503). */
const DELETION_WAIT_MS = 30_000;
const POLL_MS = 25;

export class BlobClaims {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
  ) {}

  private get needed(): boolean {
    return !this.blobs.atomicRemoval;
  }

  /**
   * Places a staged file for an upload whose reference is committed next. The returned release
   * function ends the upload's claim: call it once the transaction has committed or failed.
   */
  async place(staged: StagedFile): Promise<() => Promise<void>> {
    if (!this.needed) {
      await this.blobs.place(staged);
      return async () => {};
    }
    const id = randomUUID();
    await insertBlobClaim(this.db, { id, hash: staged.hash, kind: 'use', at: this.clock.now() });
    const release = () => deleteBlobClaim(this.db, id);
    try {
      await this.waitForDeletion(staged.hash, id);
      await this.blobs.place(staged);
    } catch (err) {
      await release().catch(() => {});
      throw err;
    }
    return release;
  }

  private async waitForDeletion(hash: string, ownId: string): Promise<void> {
    const deadline = Date.now() + DELETION_WAIT_MS;
    for (;;) {
      const since = this.clock.now() - DELETE_CLAIM_STALE_MS;
      if (!(await blobClaimHeld(this.db, { hash, kind: 'delete', since, exceptId: ownId }))) return;
      if (Date.now() >= deadline) {
        throw new BlobStoreUnavailable(`the blob ${hash} is being deleted by the garbage collector; try again`, null);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * Runs `remove` (the collector's deletion of an unreferenced blob's object) unless an upload holds
   * a claim on the hash; false when it did not run.
   */
  async deleting(hash: string, remove: () => Promise<boolean>): Promise<boolean> {
    if (!this.needed) return remove();
    const id = randomUUID();
    const now = this.clock.now();
    await insertBlobClaim(this.db, { id, hash, kind: 'delete', at: now });
    try {
      if (await blobClaimHeld(this.db, { hash, kind: 'use', since: now - USE_CLAIM_STALE_MS, exceptId: id }))
        return false;
      return await remove();
    } finally {
      await deleteBlobClaim(this.db, id);
    }
  }

  /** Drops the claims of crashed holders (the collector's housekeeping). */
  async sweepStale(): Promise<number> {
    if (!this.needed) return 0;
    return deleteStaleBlobClaims(this.db, this.clock.now() - Math.max(USE_CLAIM_STALE_MS, DELETE_CLAIM_STALE_MS));
  }
}
