/** System-wide counts for administrators, in one statement. */
import { SCAN, num, type Q } from '../index.js';

export interface SystemStats {
  users: number;
  disabledUsers: number;
  files: number;
  folders: number;
  logicalBytes: number;
  trashBytes: number;
  trashItems: number;
  storedBytes: number;
  blobs: number;
  quotaBytes: number;
  userShares: number;
  links: number;
}

/** Users, files, folders, logical bytes, bytes stored after dedup, bytes and items in bins, shares. */
export async function systemStats(q: Q): Promise<SystemStats> {
  const r = await q.get<Record<string, unknown>>(
    `SELECT
       (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL) AS users,
       (SELECT COUNT(*) FROM users WHERE disabled = TRUE AND deleted_at IS NULL) AS disabled_users,
       (SELECT COUNT(*) FROM nodes WHERE kind = 'file' AND deleted_at IS NULL) AS files,
       (SELECT COUNT(*) FROM nodes WHERE kind = 'folder' AND deleted_at IS NULL AND parent_id IS NOT NULL) AS folders,
       (SELECT COALESCE(SUM(size), 0) FROM nodes WHERE kind = 'file' AND deleted_at IS NULL) AS logical_bytes,
       (SELECT COALESCE(SUM(size), 0) FROM nodes WHERE kind = 'file' AND deleted_at IS NOT NULL) AS trash_bytes,
       (SELECT COUNT(*) FROM nodes WHERE deleted_at IS NOT NULL AND trash_root_id = id) AS trash_items,
       (SELECT COALESCE(SUM(size), 0) FROM blobs) AS stored_bytes,
       (SELECT COUNT(*) FROM blobs) AS blobs,
       (SELECT COALESCE(SUM(quota_bytes), 0) FROM users) AS quota_bytes,
       (SELECT COUNT(*) FROM shares WHERE kind = 'user') AS user_shares,
       (SELECT COUNT(*) FROM shares WHERE kind = 'link') AS links`,
    {},
    SCAN,
  );
  const n = (k: string) => num(r?.[k]);
  return {
    users: n('users'),
    disabledUsers: n('disabled_users'),
    files: n('files'),
    folders: n('folders'),
    logicalBytes: n('logical_bytes'),
    trashBytes: n('trash_bytes'),
    trashItems: n('trash_items'),
    storedBytes: n('stored_bytes'),
    blobs: n('blobs'),
    quotaBytes: n('quota_bytes'),
    userShares: n('user_shares'),
    links: n('links'),
  };
}
