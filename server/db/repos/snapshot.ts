/**
 * A consistent copy of the whole database in one file, taken while the server runs: SQLite's
 * `VACUUM INTO` reads one snapshot (a read transaction: writers go on) and writes a compact new
 * database file. PostgreSQL's twin is pg_dump (issue 11), not a statement.
 */
import { sqliteStatement } from '../dialect.js';
import type { Q } from '../index.js';

const vacuumInto = sqliteStatement('VACUUM INTO $file', 'a database snapshot into a file');

/** Writes a snapshot of the database to `file`, which must not exist. */
export async function snapshotInto(q: Q, file: string): Promise<void> {
  await q.all(vacuumInto(q), { file });
}
