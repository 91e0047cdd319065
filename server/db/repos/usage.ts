/** What each user's stored bytes add up to, kind by kind: the terms users.used_bytes must equal (fsck). */
import { num, totalsBy, type Q } from '../index.js';
export { propertyBytesByOwner } from './properties.js';

/** File bytes per owner: live and in the recycle bin (both count until purged). */
export async function fileBytesByOwner(q: Q): Promise<Map<string, number>> {
  return totalsBy(q, "SELECT owner_id AS k, SUM(size) AS n FROM nodes WHERE kind = 'file' GROUP BY owner_id");
}

export async function recordedUsage(q: Q): Promise<{ id: string; username: string; usedBytes: number }[]> {
  const rows = await q.all<{ id: string; username: string; used_bytes: unknown }>(
    'SELECT id, username, used_bytes FROM users',
  );
  return rows.map((r) => ({ id: r.id, username: r.username, usedBytes: num(r.used_bytes) }));
}
