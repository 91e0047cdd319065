import type { Migration } from '../migration.js';

/** Times are epoch milliseconds (BIGINT): portable, sortable, and cheap to compare in SQL. */
export const initial: Migration = {
  name: '001-initial',
  statements: [
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      username TEXT NOT NULL,
      username_key TEXT NOT NULL UNIQUE,
      email TEXT NOT NULL,
      email_key TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin','user')),
      quota_bytes BIGINT NOT NULL,
      used_bytes BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
      disabled BOOLEAN NOT NULL DEFAULT 0,
      token_version INTEGER NOT NULL DEFAULT 0,
      root_id TEXT,
      created_at BIGINT NOT NULL
    )`,
    `CREATE TABLE blobs (
      hash TEXT PRIMARY KEY,
      sha1 TEXT NOT NULL,
      md5 TEXT NOT NULL,
      size BIGINT NOT NULL,
      ref_count INTEGER NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
      created_at BIGINT NOT NULL,
      released_at BIGINT
    )`,
    'CREATE INDEX blobs_unreferenced ON blobs (released_at) WHERE ref_count = 0',
    `CREATE TABLE nodes (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL REFERENCES users(id),
      parent_id TEXT REFERENCES nodes(id),
      kind TEXT NOT NULL CHECK (kind IN ('file','folder')),
      name TEXT NOT NULL,
      name_key TEXT NOT NULL,
      size BIGINT NOT NULL DEFAULT 0,
      mime TEXT,
      content_hash TEXT REFERENCES blobs(hash),
      etag TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      modified_at BIGINT NOT NULL,
      deleted_at BIGINT,
      deleted_by TEXT,
      trash_root_id TEXT,
      original_parent_id TEXT
    )`,
    'CREATE UNIQUE INDEX nodes_live_name ON nodes (parent_id, name_key) WHERE deleted_at IS NULL',
    'CREATE INDEX nodes_parent ON nodes (parent_id)',
    'CREATE INDEX nodes_owner_deleted ON nodes (owner_id, deleted_at)',
    'CREATE INDEX nodes_trash_root ON nodes (trash_root_id) WHERE trash_root_id IS NOT NULL',
    'CREATE INDEX nodes_content ON nodes (content_hash)',
    `CREATE TABLE shares (
      id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
      kind TEXT NOT NULL CHECK (kind IN ('user','link')),
      grantee_id TEXT REFERENCES users(id),
      permission TEXT NOT NULL CHECK (permission IN ('view','edit')),
      token TEXT UNIQUE,
      password_hash TEXT,
      expires_at BIGINT,
      created_by TEXT NOT NULL REFERENCES users(id),
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX shares_node ON shares (node_id)',
    'CREATE INDEX shares_grantee ON shares (grantee_id) WHERE grantee_id IS NOT NULL',
    `CREATE TABLE activities (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      owner_id TEXT NOT NULL,
      actor_id TEXT,
      actor_name TEXT,
      action TEXT NOT NULL,
      node_id TEXT,
      path TEXT,
      details TEXT,
      via TEXT NOT NULL,
      ip TEXT,
      user_agent TEXT,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX activities_owner_time ON activities (owner_id, created_at)',
    `CREATE TABLE locks (
      token TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      path TEXT NOT NULL,
      depth TEXT NOT NULL,
      scope TEXT NOT NULL,
      owner_xml TEXT,
      timeout_seconds INTEGER NOT NULL,
      expires_at BIGINT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX locks_owner_path ON locks (owner_id, path)',
    `CREATE TABLE properties (
      node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
      namespace TEXT NOT NULL,
      name TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (node_id, namespace, name)
    )`,
    `CREATE TABLE revoked_tokens (
      jti TEXT PRIMARY KEY,
      expires_at BIGINT NOT NULL
    )`,
    `CREATE TABLE login_failures (
      key TEXT PRIMARY KEY,
      failures INTEGER NOT NULL,
      window_start BIGINT NOT NULL
    )`,
    `CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`,
  ],
};
