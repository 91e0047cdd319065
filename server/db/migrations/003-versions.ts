import type { Migration } from '../migration.js';

/**
 * File versions: an overwrite keeps the previous content as a row here instead of releasing it.
 * Each version holds a blob reference (counted in blobs.ref_count) and its bytes count toward the
 * owner's used_bytes. `nodes.content_by`/`content_via` record who wrote the current content, so the
 * version made from it later can say who made it and through which door.
 */
export const versions: Migration = {
  name: '003-versions',
  statements: [
    'ALTER TABLE nodes ADD COLUMN content_by TEXT',
    'ALTER TABLE nodes ADD COLUMN content_by_name TEXT',
    'ALTER TABLE nodes ADD COLUMN content_via TEXT',
    `CREATE TABLE versions (
      id TEXT PRIMARY KEY,
      node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
      owner_id TEXT NOT NULL,
      content_hash TEXT NOT NULL REFERENCES blobs(hash),
      size BIGINT NOT NULL,
      modified_at BIGINT NOT NULL,
      author_id TEXT,
      author_name TEXT,
      via TEXT,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX versions_node ON versions (node_id, created_at)',
    'CREATE INDEX versions_owner ON versions (owner_id, created_at)',
  ],
};
