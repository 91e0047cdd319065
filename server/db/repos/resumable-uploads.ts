/**
 * Resumable uploads under way (019-resumable-uploads.ts) and the bytes they hold of their owner's
 * room (users.reserved_bytes). Reserving is one conditional UPDATE of the user's row, like
 * quota.ts's tryReserve: of two concurrent reservations the second re-checks the row the first
 * wrote (PostgreSQL's row lock; SQLite has one writer).
 */
import { greatest, perDialect } from '../dialect.js';
import { bool, num, numOrNull, type Q } from '../index.js';

export interface ResumableUploadRow {
  id: string;
  ownerId: string;
  /** Who may continue it: `user:<id>` or `link:<share id>`. */
  creator: string;
  parentId: string;
  name: string;
  overwrite: boolean;
  modifiedAt: number | null;
  length: number;
  received: number;
  metadata: string;
  createdAt: number;
  expiresAt: number;
}

/** Adds `bytes` to the owner's reservations if used + reserved stays within the quota; false when it would not. */
export async function tryReserveRoom(tx: Q, ownerId: string, bytes: number): Promise<boolean> {
  const changed = await tx.run(
    `UPDATE users SET reserved_bytes = reserved_bytes + $bytes
     WHERE id = $ownerId AND used_bytes + reserved_bytes + $bytes <= quota_bytes`,
    { ownerId, bytes },
  );
  return changed > 0;
}

const releaseRoomSql = perDialect(
  (d) => `UPDATE users SET reserved_bytes = ${greatest('0', 'reserved_bytes - $bytes')(d)} WHERE id = $ownerId`,
);

export async function releaseRoom(tx: Q, ownerId: string, bytes: number): Promise<void> {
  if (bytes > 0) await tx.run(releaseRoomSql(tx), { ownerId, bytes });
}

export async function insertResumableUpload(tx: Q, u: ResumableUploadRow): Promise<void> {
  await tx.run(
    `INSERT INTO resumable_uploads
       (id, owner_id, creator, parent_id, name, overwrite, modified_at, length, received, metadata, created_at, expires_at)
     VALUES ($id, $ownerId, $creator, $parentId, $name, $overwrite, $modifiedAt, $length, $received, $metadata,
       $createdAt, $expiresAt)`,
    { ...u, overwrite: u.overwrite ? 1 : 0 },
  );
}

export async function resumableUploadById(q: Q, id: string): Promise<ResumableUploadRow | undefined> {
  const r = await q.get<Record<string, unknown>>('SELECT * FROM resumable_uploads WHERE id = $id', { id });
  return r && toRow(r);
}

/**
 * Moves the offset from `from` to `to` and the expiry to `expiresAt`; false when another request
 * moved it first (the caller's view is stale).
 */
export async function advanceResumableUpload(
  q: Q,
  a: { id: string; from: number; to: number; expiresAt: number },
): Promise<boolean> {
  return (
    (await q.run(
      'UPDATE resumable_uploads SET received = $to, expires_at = $expiresAt WHERE id = $id AND received = $from',
      a,
    )) === 1
  );
}

/** Deletes the row; false when it was already gone (committed, terminated or expired by someone else). */
export async function deleteResumableUpload(tx: Q, id: string): Promise<boolean> {
  return (await tx.run('DELETE FROM resumable_uploads WHERE id = $id', { id })) === 1;
}

export async function expiredResumableUploads(q: Q, now: number, limit: number): Promise<ResumableUploadRow[]> {
  const rows = await q.all<Record<string, unknown>>(
    'SELECT * FROM resumable_uploads WHERE expires_at <= $now ORDER BY expires_at LIMIT $limit',
    { now, limit },
  );
  return rows.map(toRow);
}

/** Every upload id still under way (to tell partial files of live uploads from leftovers). */
export async function resumableUploadIds(q: Q): Promise<string[]> {
  return (await q.all<{ id: string }>('SELECT id FROM resumable_uploads')).map((r) => r.id);
}

/** What users.reserved_bytes says, and what the uploads under way add up to, per user (fsck). */
export async function reservationsByOwner(
  q: Q,
): Promise<{ id: string; username: string; recorded: number; actual: number }[]> {
  const rows = await q.all<{ id: string; username: string; reserved_bytes: unknown; actual: unknown }>(
    `SELECT u.id, u.username, u.reserved_bytes,
       (SELECT COALESCE(SUM(r.length), 0) FROM resumable_uploads r WHERE r.owner_id = u.id) AS actual
     FROM users u`,
  );
  return rows.map((r) => ({ id: r.id, username: r.username, recorded: num(r.reserved_bytes), actual: num(r.actual) }));
}

function toRow(r: Record<string, unknown>): ResumableUploadRow {
  return {
    id: String(r.id),
    ownerId: String(r.owner_id),
    creator: String(r.creator),
    parentId: String(r.parent_id),
    name: String(r.name),
    overwrite: bool(r.overwrite),
    modifiedAt: numOrNull(r.modified_at),
    length: num(r.length),
    received: num(r.received),
    metadata: String(r.metadata ?? ''),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}
