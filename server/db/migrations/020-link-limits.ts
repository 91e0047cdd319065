import type { Migration } from '../migration.js';

/**
 * File-drop links and link limits (issue 13): a link's permission may be `upload` (links only, never
 * a user share), and a link may cap the size of each file uploaded through it (max_upload_bytes)
 * and how many downloads it serves (max_downloads, counted in download_count by one conditional
 * UPDATE per download). SQLite cannot change a CHECK constraint in place: the table is rebuilt with
 * the same columns and indexes (nothing references shares, so dropping the old one is safe).
 */
const COLUMNS =
  'id, node_id, kind, grantee_id, permission, token, password_hash, expires_at, created_by, created_at, grantee_name, grantee_name_key';
const PERMISSION_CHECK = "permission IN ('view','edit','upload') AND (kind = 'link' OR permission <> 'upload')";

export const linkLimits: Migration = {
  name: '020-link-limits',
  statements: (d) =>
    d === 'sqlite'
      ? [
          `CREATE TABLE shares_020 (
      id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('user','link')),
      grantee_id TEXT REFERENCES users(id),
      permission TEXT NOT NULL,
      token TEXT UNIQUE,
      password_hash TEXT,
      expires_at BIGINT,
      created_by TEXT NOT NULL REFERENCES users(id),
      created_at BIGINT NOT NULL,
      grantee_name TEXT,
      grantee_name_key TEXT,
      max_upload_bytes BIGINT,
      max_downloads BIGINT,
      download_count BIGINT NOT NULL DEFAULT 0,
      CONSTRAINT shares_permission_check CHECK (${PERMISSION_CHECK})
    )`,
          `INSERT INTO shares_020 (${COLUMNS}) SELECT ${COLUMNS} FROM shares`,
          'DROP TABLE shares',
          'ALTER TABLE shares_020 RENAME TO shares',
          'CREATE INDEX shares_node ON shares (node_id)',
          'CREATE INDEX shares_grantee ON shares (grantee_id) WHERE grantee_id IS NOT NULL',
          'CREATE INDEX shares_created_by ON shares (created_by)',
          "CREATE UNIQUE INDEX shares_grantee_name ON shares (grantee_id, grantee_name_key) WHERE kind = 'user'",
        ]
      : [
          'ALTER TABLE shares DROP CONSTRAINT shares_permission_check',
          `ALTER TABLE shares ADD CONSTRAINT shares_permission_check CHECK (${PERMISSION_CHECK})`,
          'ALTER TABLE shares ADD COLUMN max_upload_bytes BIGINT',
          'ALTER TABLE shares ADD COLUMN max_downloads BIGINT',
          'ALTER TABLE shares ADD COLUMN download_count BIGINT NOT NULL DEFAULT 0',
        ],
};
