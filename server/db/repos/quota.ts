/**
 * Each user's stored bytes against their quota (users.used_bytes, users.quota_bytes). Bytes reserved
 * for resumable uploads under way (users.reserved_bytes, repos/resumable-uploads.ts) are room taken.
 */
import { greatest, perDialect } from '../dialect.js';
import { num, type Q } from '../index.js';

/** Adds `delta` (> 0) bytes to the owner's usage if it stays within the quota; false when it would not. */
export async function tryReserve(tx: Q, ownerId: string, delta: number): Promise<boolean> {
  const changed = await tx.run(
    'UPDATE users SET used_bytes = used_bytes + $delta WHERE id = $ownerId AND used_bytes + reserved_bytes + $delta <= quota_bytes',
    { ownerId, delta },
  );
  return changed > 0;
}

const releaseSql = perDialect(
  (d) => `UPDATE users SET used_bytes = ${greatest('0', 'used_bytes - $bytes')(d)} WHERE id = $ownerId`,
);

/** Gives bytes back (never below zero). */
export async function release(tx: Q, ownerId: string, bytes: number): Promise<void> {
  await tx.run(releaseSql(tx), { ownerId, bytes });
}

export async function usageOf(
  q: Q,
  ownerId: string,
): Promise<{ quota: number; used: number; reserved: number } | undefined> {
  const r = await q.get<{ quota_bytes: unknown; used_bytes: unknown; reserved_bytes: unknown }>(
    'SELECT quota_bytes, used_bytes, reserved_bytes FROM users WHERE id = $ownerId',
    { ownerId },
  );
  return r && { quota: num(r.quota_bytes), used: num(r.used_bytes), reserved: num(r.reserved_bytes) };
}
