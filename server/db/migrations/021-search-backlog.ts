import type { Migration } from '../migration.js';

/**
 * SQLite: new names reach the FTS5 trigram index (002) in batches instead of one by one. FTS5 writes
 * a new index segment whenever a transaction or savepoint ends, and every logical transaction of a
 * group commit ends a savepoint: an upload wrote a segment of its own (~6 of its ~28 WAL pages, and
 * 5–15% of a small PUT's CPU, measured: most when uploads do not overlap). Now the index covers the
 * nodes up to rowid `search_mark.indexed_to`; rows above it (the backlog, inserted since) are indexed
 * in batches by search-backlog.ts, and searched meanwhile by a scan of the backlog alone
 * (search.ts), so a search still finds a file the moment its upload is answered.
 *
 * The triggers keep the index exact for rows at or below the mark only: a rename or a delete of a
 * row still in the backlog has nothing to change in the index. An insert at or below the mark
 * (SQLite reuses the largest rowid after that row was deleted) is indexed at once, since the batch
 * job only looks above the mark. Every row that exists now was indexed by 002's triggers: the mark
 * starts at the largest rowid. PostgreSQL's pg_trgm index is left as it is (GIN's own pending list
 * does this there).
 */
const INDEXED = '(SELECT indexed_to FROM search_mark WHERE id = 1)';

export const searchBacklog: Migration = {
  name: '021-search-backlog',
  statements: (d) =>
    d === 'sqlite'
      ? [
          'CREATE TABLE search_mark (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_to INTEGER NOT NULL)',
          'INSERT INTO search_mark (id, indexed_to) SELECT 1, COALESCE(MAX(rowid), 0) FROM nodes',
          'DROP TRIGGER nodes_fts_insert',
          'DROP TRIGGER nodes_fts_delete',
          'DROP TRIGGER nodes_fts_update',
          `CREATE TRIGGER nodes_fts_insert AFTER INSERT ON nodes WHEN new.rowid <= ${INDEXED} BEGIN
       INSERT INTO nodes_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
     END`,
          `CREATE TRIGGER nodes_fts_delete AFTER DELETE ON nodes WHEN old.rowid <= ${INDEXED} BEGIN
       INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
     END`,
          `CREATE TRIGGER nodes_fts_update AFTER UPDATE OF name_key ON nodes WHEN old.rowid <= ${INDEXED} BEGIN
       INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
       INSERT INTO nodes_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
     END`,
        ]
      : [],
};
