import type { Migration } from '../migration.js';

/**
 * Name search (substring, case-insensitive: name_key is lower case). SQLite: an FTS5 trigram index
 * over nodes.name_key, kept in step with the nodes table by triggers; external content, so the
 * index stores no second copy of names. PostgreSQL: a pg_trgm GIN index led by the owner (btree_gin
 * puts a plain column in a GIN index), so a search for a common word reads the searcher's own
 * matches, not everyone's. Both extensions ship with PostgreSQL and are trusted: a database owner
 * may create them.
 */
const sqliteFts = [
  `CREATE VIRTUAL TABLE nodes_fts USING fts5(name_key, content='nodes', content_rowid='rowid', tokenize='trigram')`,
  `CREATE TRIGGER nodes_fts_insert AFTER INSERT ON nodes BEGIN
       INSERT INTO nodes_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
     END`,
  `CREATE TRIGGER nodes_fts_delete AFTER DELETE ON nodes BEGIN
       INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
     END`,
  `CREATE TRIGGER nodes_fts_update AFTER UPDATE OF name_key ON nodes BEGIN
       INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
       INSERT INTO nodes_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
     END`,
  `INSERT INTO nodes_fts (nodes_fts) VALUES ('rebuild')`,
];

const postgresTrigrams = [
  'CREATE EXTENSION IF NOT EXISTS pg_trgm',
  'CREATE EXTENSION IF NOT EXISTS btree_gin',
  'CREATE INDEX nodes_owner_name_trgm ON nodes USING gin (owner_id, name_key gin_trgm_ops)',
];

export const search: Migration = {
  name: '002-search',
  statements: (d) => [
    ...(d === 'sqlite' ? sqliteFts : postgresTrigrams),
    'CREATE INDEX nodes_name_key ON nodes (name_key, owner_id)',
    'CREATE INDEX shares_created_by ON shares (created_by)',
    'CREATE INDEX nodes_deleted_at ON nodes (deleted_at) WHERE trash_root_id = id',
  ],
};
