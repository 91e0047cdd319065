/** Quota is charged to the owner and reserved atomically in the transaction that changes the node. */
import { num, type Q } from '../db/index.js';
import { notFound, quotaExceeded } from './errors.js';

/** Adds `delta` bytes to the owner's usage, or throws quota_exceeded; zero rows updated means no room. */
export async function reserveBytes(tx: Q, ownerId: string, delta: number): Promise<void> {
  if (delta <= 0) {
    await releaseBytes(tx, ownerId, -delta);
    return;
  }
  const changed = await tx.run(
    'UPDATE users SET used_bytes = used_bytes + $delta WHERE id = $ownerId AND used_bytes + $delta <= quota_bytes',
    { ownerId, delta },
  );
  if (changed === 0) {
    const { quota, used } = await usage(tx, ownerId);
    throw quotaExceeded(delta, quota - used);
  }
}

export async function releaseBytes(tx: Q, ownerId: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await tx.run('UPDATE users SET used_bytes = MAX(0, used_bytes - $bytes) WHERE id = $ownerId', { ownerId, bytes });
}

export async function usage(q: Q, ownerId: string): Promise<{ quota: number; used: number }> {
  const r = await q.get<{ quota_bytes: unknown; used_bytes: unknown }>(
    'SELECT quota_bytes, used_bytes FROM users WHERE id = $ownerId',
    { ownerId },
  );
  if (!r) throw notFound('User');
  return { quota: num(r.quota_bytes), used: num(r.used_bytes) };
}

export async function remainingBytes(q: Q, ownerId: string): Promise<number> {
  const { quota, used } = await usage(q, ownerId);
  return Math.max(0, quota - used);
}
