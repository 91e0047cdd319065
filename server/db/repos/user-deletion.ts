/** SQL for deleting a user: what they own, the shares around them, and the mark on their row. */
import { num, type Q } from '../index.js';

/** The bytes a transfer moves: live files (not the home folder), their versions and dead properties. */
export async function liveHoldings(q: Q, userId: string): Promise<{ files: number; bytes: number }> {
  const r = await q.get<Record<string, unknown>>(
    `SELECT
       (SELECT COUNT(*) FROM nodes WHERE owner_id = $u AND deleted_at IS NULL AND kind = 'file') AS files,
       (SELECT COALESCE(SUM(size), 0) FROM nodes WHERE owner_id = $u AND deleted_at IS NULL AND kind = 'file') AS file_bytes,
       (SELECT COALESCE(SUM(v.size), 0) FROM versions v JOIN nodes n ON n.id = v.node_id
        WHERE n.owner_id = $u AND n.deleted_at IS NULL) AS version_bytes,
       (SELECT COALESCE(SUM(p.bytes), 0) FROM properties p JOIN nodes n ON n.id = p.node_id
        WHERE n.owner_id = $u AND n.deleted_at IS NULL AND n.parent_id IS NOT NULL) AS property_bytes`,
    { u: userId },
  );
  return { files: num(r?.files), bytes: num(r?.file_bytes) + num(r?.version_bytes) + num(r?.property_bytes) };
}

/** The live items directly in a folder (a home folder's top level). */
export async function liveChildIds(q: Q, folderId: string): Promise<string[]> {
  const rows = await q.all<{ id: string }>('SELECT id FROM nodes WHERE parent_id = $id AND deleted_at IS NULL', {
    id: folderId,
  });
  return rows.map((r) => r.id);
}

/** Deletes the dead properties of one node (a home folder, which is never moved); returns their bytes. */
export async function deleteNodeProperties(tx: Q, nodeId: string): Promise<number> {
  const r = await tx.get<{ b: unknown }>('SELECT COALESCE(SUM(bytes), 0) AS b FROM properties WHERE node_id = $id', {
    id: nodeId,
  });
  await tx.run('DELETE FROM properties WHERE node_id = $id', { id: nodeId });
  return num(r?.b);
}

/**
 * Gives every live node of `fromId` except the home folder to `toId`, with their versions, and puts
 * the top-level items into `folderId`. Ownership follows the tree, so the whole subtree moves at once.
 */
export async function transferLiveTree(
  tx: Q,
  t: { fromId: string; fromRootId: string; toId: string; folderId: string },
): Promise<void> {
  await tx.run(
    `UPDATE versions SET owner_id = $to
     WHERE node_id IN (SELECT id FROM nodes WHERE owner_id = $from AND deleted_at IS NULL)`,
    { from: t.fromId, to: t.toId },
  );
  await tx.run(
    'UPDATE nodes SET parent_id = $folder WHERE parent_id = $root AND deleted_at IS NULL AND id <> $folder',
    { root: t.fromRootId, folder: t.folderId },
  );
  await tx.run('UPDATE nodes SET owner_id = $to WHERE owner_id = $from AND deleted_at IS NULL AND id <> $root', {
    from: t.fromId,
    to: t.toId,
    root: t.fromRootId,
  });
}

export interface ShareAround {
  id: string;
  kind: 'user' | 'link';
  nodeId: string;
  ownerId: string;
}

/** Shares and links the user made, shares to the user, and any share on the user's nodes. */
export async function sharesAround(q: Q, userId: string): Promise<ShareAround[]> {
  return q.all<ShareAround>(
    `SELECT s.id, s.kind, s.node_id AS "nodeId", n.owner_id AS "ownerId"
     FROM shares s JOIN nodes n ON n.id = s.node_id
     WHERE s.created_by = $u OR s.grantee_id = $u OR n.owner_id = $u`,
    { u: userId },
  );
}

export async function deleteSharesAround(tx: Q, userId: string): Promise<void> {
  await tx.run(
    `DELETE FROM shares WHERE created_by = $u OR grantee_id = $u
       OR node_id IN (SELECT id FROM nodes WHERE owner_id = $u)`,
    { u: userId },
  );
}

/** WebDAV locks on the user's files, whoever holds them (the files are gone or have a new owner). */
export async function deleteLocksOnTreeOf(tx: Q, userId: string): Promise<void> {
  await tx.run('DELETE FROM locks WHERE owner_id = $u', { u: userId });
}

/** Enabled administrators other than `exceptId` that are not deleted. */
export async function otherAdminCount(q: Q, exceptId: string): Promise<number> {
  const r = await q.get<{ n: unknown }>(
    `SELECT COUNT(*) AS n FROM users
     WHERE role = 'admin' AND disabled = FALSE AND deleted_at IS NULL AND id <> $id`,
    { id: exceptId },
  );
  return num(r?.n);
}

export async function isDeleted(q: Q, userId: string): Promise<boolean> {
  const r = await q.get<{ deleted_at: unknown }>('SELECT deleted_at FROM users WHERE id = $id', { id: userId });
  return r !== undefined && r.deleted_at !== null;
}

/**
 * Marks the row deleted: disabled, no role or quota, its sessions ended (token_version and rows),
 * its other credentials gone (app passwords, with credentials_version moved for WebDAV's cached
 * claims; two-factor secrets and recovery codes; password reset links), and its username and email
 * keys freed (`deleted:<id>`: unique, and no sign-in matches them) while the username itself stays
 * for the activity log and the names of past actors. The row stays, so those tables' ON DELETE
 * CASCADE never fires: their rows go here.
 */
export async function markUserDeleted(tx: Q, userId: string, now: number): Promise<void> {
  await tx.run(
    `UPDATE users SET deleted_at = $now, disabled = TRUE, role = 'user', quota_bytes = 0,
       token_version = token_version + 1, credentials_version = credentials_version + 1, totp_enabled = FALSE,
       username_key = 'deleted:' || id, email_key = 'deleted:' || id
     WHERE id = $id`,
    { id: userId, now },
  );
  for (const table of ['sessions', 'app_passwords', 'totp_secrets', 'recovery_codes', 'password_resets'])
    await tx.run(`DELETE FROM ${table} WHERE user_id = $id`, { id: userId });
}
