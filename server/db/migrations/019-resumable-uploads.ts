import type { Migration } from '../migration.js';

/**
 * Resumable (tus) uploads: one row per upload under way, with its target, its declared length and
 * the bytes received so far (the partial data is a file in <dataDir>/uploads/). The declared length
 * is reserved against the owner's room from creation to commit or expiry: users.reserved_bytes is
 * their sum, kept beside used_bytes so that one conditional UPDATE of the user's row checks both
 * (the room is quota - used - reserved), on SQLite as on PostgreSQL.
 */
export const resumableUploads: Migration = {
  name: '019-resumable-uploads',
  statements: [
    'ALTER TABLE users ADD COLUMN reserved_bytes BIGINT NOT NULL DEFAULT 0',
    `CREATE TABLE resumable_uploads (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL REFERENCES users(id),
      creator TEXT NOT NULL,
      parent_id TEXT NOT NULL,
      name TEXT NOT NULL,
      overwrite INTEGER NOT NULL DEFAULT 0,
      modified_at BIGINT,
      length BIGINT NOT NULL,
      received BIGINT NOT NULL DEFAULT 0,
      metadata TEXT NOT NULL DEFAULT '',
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    )`,
    'CREATE INDEX resumable_uploads_expiry ON resumable_uploads (expires_at)',
  ],
};
