/** SQL for file versions: earlier contents of a file node, each holding one blob reference. */
import { jsonRows, perDialect } from '../dialect.js';
import { SCAN, num, totalsBy, type Q } from '../index.js';

export interface VersionRow {
  id: string;
  nodeId: string;
  ownerId: string;
  contentHash: string;
  size: number;
  /** When this content was written (the file's modification time while it was current). */
  modifiedAt: number;
  /** Who wrote this content (null: a link visitor, the system, or unknown for files older than versions). */
  authorId: string | null;
  authorName: string | null;
  via: string | null;
  /** When this content stopped being current (the overwrite that made it a version). */
  createdAt: number;
}

interface RawVersion {
  id: string;
  node_id: string;
  owner_id: string;
  content_hash: string;
  size: unknown;
  modified_at: unknown;
  author_id: string | null;
  author_name: string | null;
  via: string | null;
  created_at: unknown;
}

const COLS =
  'v.id, v.node_id, v.owner_id, v.content_hash, v.size, v.modified_at, v.author_id, v.author_name, v.via, v.created_at';

const toVersion = (r: RawVersion): VersionRow => ({
  id: r.id,
  nodeId: r.node_id,
  ownerId: r.owner_id,
  contentHash: r.content_hash,
  size: num(r.size),
  modifiedAt: num(r.modified_at),
  authorId: r.author_id,
  authorName: r.author_name,
  via: r.via,
  createdAt: num(r.created_at),
});

export async function insertVersion(tx: Q, v: VersionRow): Promise<void> {
  await tx.run(
    `INSERT INTO versions (id, node_id, owner_id, content_hash, size, modified_at, author_id, author_name, via, created_at)
     VALUES ($id, $nodeId, $ownerId, $contentHash, $size, $modifiedAt, $authorId, $authorName, $via, $createdAt)`,
    { ...v },
  );
}

/** Versions of one file, newest first. */
export async function versionsOfNode(q: Q, nodeId: string): Promise<VersionRow[]> {
  const rows = await q.all<RawVersion>(
    `SELECT ${COLS} FROM versions v WHERE v.node_id = $nodeId ORDER BY v.created_at DESC, v.id`,
    { nodeId },
  );
  return rows.map(toVersion);
}

export async function getVersion(q: Q, nodeId: string, id: string): Promise<VersionRow | undefined> {
  const r = await q.get<RawVersion>(`SELECT ${COLS} FROM versions v WHERE v.id = $id AND v.node_id = $nodeId`, {
    id,
    nodeId,
  });
  return r && toVersion(r);
}

export async function newestVersion(q: Q, nodeId: string): Promise<VersionRow | undefined> {
  const r = await q.get<RawVersion>(
    `SELECT ${COLS} FROM versions v WHERE v.node_id = $nodeId ORDER BY v.created_at DESC LIMIT 1`,
    { nodeId },
  );
  return r && toVersion(r);
}

const deleteVersionsSql = perDialect((d) => `DELETE FROM versions WHERE id IN ${jsonRows('$ids')(d)}`);

export async function deleteVersions(tx: Q, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.run(deleteVersionsSql(tx), { ids: JSON.stringify(ids) });
}

/** Every version of the owner, oldest first (retention works on the whole set of one owner). */
export async function versionsOfOwner(q: Q, ownerId: string): Promise<VersionRow[]> {
  const rows = await q.all<RawVersion>(
    `SELECT ${COLS} FROM versions v WHERE v.owner_id = $ownerId ORDER BY v.created_at, v.id`,
    { ownerId },
  );
  return rows.map(toVersion);
}

export async function versionBytesOfOwner(q: Q, ownerId: string): Promise<number> {
  const r = await q.get<{ b: unknown }>('SELECT COALESCE(SUM(size), 0) AS b FROM versions WHERE owner_id = $ownerId', {
    ownerId,
  });
  return num(r?.b);
}

/** Owners that have at least one version (the retention job walks them one by one). */
export async function ownersWithVersions(q: Q): Promise<string[]> {
  return (await q.all<{ owner_id: string }>('SELECT DISTINCT owner_id FROM versions', {}, SCAN)).map((r) => r.owner_id);
}

/** Versions of every node in a trashed subtree (a purge releases their blobs and bytes). */
export async function versionsInTrash(q: Q, trashRootId: string): Promise<VersionRow[]> {
  const rows = await q.all<RawVersion>(
    `SELECT ${COLS} FROM versions v JOIN nodes n ON n.id = v.node_id WHERE n.trash_root_id = $trashRootId`,
    { trashRootId },
  );
  return rows.map(toVersion);
}

/** fsck: blob references held by versions, per hash. */
export async function versionRefsByHash(q: Q): Promise<Map<string, number>> {
  return totalsBy(q, 'SELECT content_hash AS k, COUNT(*) AS n FROM versions GROUP BY content_hash');
}

/** fsck: bytes held by versions, per owner. */
export async function versionBytesByOwner(q: Q): Promise<Map<string, number>> {
  return totalsBy(q, 'SELECT owner_id AS k, SUM(size) AS n FROM versions GROUP BY owner_id');
}

/** fsck: versions whose size differs from their blob's. */
export async function versionsWithWrongSize(q: Q): Promise<string[]> {
  return (
    await q.all<{ id: string }>(
      'SELECT v.id FROM versions v JOIN blobs b ON b.hash = v.content_hash WHERE v.size <> b.size',
      {},
      SCAN,
    )
  ).map((r) => r.id);
}
