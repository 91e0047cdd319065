/**
 * The database handle the repositories run on: `Q` (bound SQL with named `$params`) and
 * `db.tx(fn)`. Behind it an executor per dialect; today SQLite (sqlite/executor.ts), PostgreSQL
 * next. The portable contract: named parameters (sql-params.ts numbers them for drivers that
 * want `$1…`), rows as plain objects, `run` answers the number of rows changed, and a write
 * transaction is one call of `tx` — never nested, short, and with no file I/O inside.
 */
import { openSqlite } from './sqlite/executor.js';
import type { Db, OpenOptions } from './types.js';

export type { Db, Dialect, OpenOptions, Params, Q } from './types.js';

export async function openDb(file: string, opts: OpenOptions = {}): Promise<Db> {
  return openSqlite(file, opts);
}

/** SQLite returns 0/1 for booleans and numbers for BIGINT; PostgreSQL would return strings. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';

/**
 * True when a query failed because the disk (or the file system's quota) is full: SQLite could not
 * grow its WAL or database file. (PostgreSQL reports SQLSTATE 53100, disk_full.)
 */
export const isDiskFull = (err: unknown): boolean =>
  ['SQLITE_FULL', '53100'].includes((err as { code?: string } | null)?.code ?? '');
