/** Quota is charged to the owner and reserved atomically in the transaction that changes the node. */
import type { Q } from '../db/index.js';
import { release, tryReserve, usageOf } from '../db/repos/quota.js';
import { notFound, quotaExceeded } from './errors.js';

/** Adds `delta` bytes to the owner's usage, or throws quota_exceeded; a negative delta gives bytes back. */
export async function reserveBytes(tx: Q, ownerId: string, delta: number): Promise<void> {
  if (delta <= 0) {
    await releaseBytes(tx, ownerId, -delta);
    return;
  }
  if (!(await tryReserve(tx, ownerId, delta))) {
    const { quota, used, reserved } = await usage(tx, ownerId);
    throw quotaExceeded(delta, quota - used - reserved);
  }
}

export async function releaseBytes(tx: Q, ownerId: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await release(tx, ownerId, bytes);
}

/** `reserved`: bytes held for resumable uploads under way (resumable-uploads.ts), room taken though not used. */
export async function usage(q: Q, ownerId: string): Promise<{ quota: number; used: number; reserved: number }> {
  const u = await usageOf(q, ownerId);
  if (!u) throw notFound('User');
  return u;
}

export async function remainingBytes(q: Q, ownerId: string): Promise<number> {
  const { quota, used, reserved } = await usage(q, ownerId);
  return Math.max(0, quota - used - reserved);
}
