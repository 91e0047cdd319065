/**
 * The database handle the repositories run on: `Q` (bound SQL with named `$params`) and
 * `db.tx(fn)`. Behind it an executor per dialect: SQLite (sqlite/executor.ts, the default) or
 * PostgreSQL (postgres/executor.ts, when DATABASE_URL names one). The portable contract: named
 * parameters (sql-params.ts numbers them for drivers that want `$1…`), rows as plain objects, `run`
 * answers the number of rows changed, and a write transaction is one call of `tx` — never nested,
 * short, and with no file I/O inside.
 */
import { DB_UNAVAILABLE } from './postgres/errors.js';
import { openSqlite } from './sqlite/executor.js';
import { SCAN, type Db, type OpenOptions, type Q } from './types.js';

export type { Db, Dialect, OpenOptions, Params, Q, ReadOptions, TxOptions } from './types.js';
export { SCAN, SMALL_TX } from './types.js';

/** True when `target` names a PostgreSQL database (a postgres:// URL) rather than a SQLite file. */
export const isPostgresUrl = (target: string): boolean => /^postgres(ql)?:\/\//.test(target);

/**
 * Opens a SQLite file, or the PostgreSQL database a postgres:// URL names. The PostgreSQL driver is
 * loaded only then: a SQLite install never holds it in memory.
 */
export async function openDb(target: string, opts: OpenOptions = {}): Promise<Db> {
  if (!isPostgresUrl(target)) return openSqlite(target, opts);
  const { openPostgres } = await import('./postgres/executor.js');
  return openPostgres(target, opts);
}

/**
 * Values as either engine answers them: booleans are 0/1 from SQLite, true/false from PostgreSQL and
 * in JSON documents; counts and sums are numbers from both (postgres/types.ts).
 */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';

/** A scan whose rows are a key `k` and a count or sum `n` (a GROUP BY), as a map from k to n (fsck). */
export async function totalsBy(q: Q, sql: string): Promise<Map<string, number>> {
  const rows = await q.all<{ k: string; n: unknown }>(sql, {}, SCAN);
  return new Map(rows.map((r) => [r.k, num(r.n)]));
}

/**
 * True when a query failed because the disk (or the file system's quota) is full: SQLite could not
 * grow its WAL or database file, or PostgreSQL reported SQLSTATE 53100 (disk_full).
 */
export const isDiskFull = (err: unknown): boolean =>
  ['SQLITE_FULL', '53100'].includes((err as { code?: string } | null)?.code ?? '');

/** True when the database server could not be reached (a lost connection that was not safe to retry). */
export const isDbUnavailable = (err: unknown): boolean => (err as { code?: string } | null)?.code === DB_UNAVAILABLE;
