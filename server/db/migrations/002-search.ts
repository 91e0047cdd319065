import type { Migration } from '../migration.js';

/**
 * Name search: an FTS5 trigram index over nodes.name_key (substring, case-insensitive), kept in
 * step with the nodes table by triggers. External content: the index stores no second copy of names.
 */
export const search: Migration = {
  name: '002-search',
  statements: [
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
    'CREATE INDEX nodes_name_key ON nodes (name_key, owner_id)',
    'CREATE INDEX shares_created_by ON shares (created_by)',
    'CREATE INDEX nodes_deleted_at ON nodes (deleted_at) WHERE trash_root_id = id',
  ],
};
