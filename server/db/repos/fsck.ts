/** The integrity check's questions about the tree (fsck): what the invariants say, counted from the rows. */
import { SCAN, num, totalsBy, type Q } from '../index.js';

/** Blob references held by nodes (live and in bins), per hash. */
export async function nodeRefsByHash(q: Q): Promise<Map<string, number>> {
  return totalsBy(
    q,
    'SELECT content_hash AS k, COUNT(*) AS n FROM nodes WHERE content_hash IS NOT NULL GROUP BY content_hash',
  );
}

/** Nodes whose size differs from their blob's. */
export async function nodesWithWrongSize(q: Q): Promise<string[]> {
  const rows = await q.all<{ id: string }>(
    'SELECT n.id FROM nodes n JOIN blobs b ON b.hash = n.content_hash WHERE n.size <> b.size',
    {},
    SCAN,
  );
  return rows.map((r) => r.id);
}

/** Nodes owned by someone other than their parent's owner (ownership follows the tree). */
export async function nodesOwnedApartFromParent(q: Q): Promise<string[]> {
  const rows = await q.all<{ id: string }>(
    'SELECT c.id FROM nodes c JOIN nodes p ON p.id = c.parent_id WHERE c.owner_id <> p.owner_id',
    {},
    SCAN,
  );
  return rows.map((r) => r.id);
}

export async function countFiles(q: Q): Promise<number> {
  return num((await q.get<{ c: unknown }>("SELECT COUNT(*) AS c FROM nodes WHERE kind = 'file'", {}, SCAN))?.c);
}
