/**
 * SQL dialects. Repositories write one portable text where SQL allows it; where it does not (full
 * text search, a JSON array read as rows, ids generated in SQL, scalar MAX) the statement is built
 * per dialect from the fragments below, picked by the dialect the executor reports. Only the SQLite
 * fragments exist today: a PostgreSQL executor adds its own beside them (`gen_random_uuid()`,
 * `jsonb_array_elements_text`, `GREATEST`, pg_trgm), and every repository follows.
 */
import type { Q } from './index.js';

export type Dialect = 'sqlite' | 'postgres';

/** The executor's dialect: a `dialect` property on the query surface; an executor without one is SQLite's. */
export function dialectOf(q: Q): Dialect {
  return (q as { dialect?: unknown }).dialect === 'postgres' ? 'postgres' : 'sqlite';
}

/** A piece of SQL that differs between dialects. */
export type Fragment = (d: Dialect) => string;

function sqliteOnly(text: string, what: string): Fragment {
  return (d) => {
    if (d === 'sqlite') return text;
    throw new Error(`no ${d} SQL for ${what} yet`);
  };
}

/**
 * A statement built once per dialect from `build` (so its text is stable: the executor can keep it
 * prepared), then looked up by the dialect of the surface it runs on.
 */
export function perDialect(build: (d: Dialect) => string): (q: Q) => string {
  const built = new Map<Dialect, string>();
  return (q) => {
    const d = dialectOf(q);
    let text = built.get(d);
    if (text === undefined) built.set(d, (text = build(d)));
    return text;
  };
}

/** A statement that exists only in SQLite's dialect so far (FTS5 search). */
export const sqliteStatement = (text: string, what: string) => perDialect(sqliteOnly(text, what));

/** A new random (version 4) UUID for each row, made in SQL: set-based copies name their new rows with it. */
export const randomUuid: Fragment = sqliteOnly(
  `(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
    || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2)
    || '-' || lower(hex(randomblob(6))))`,
  'a random UUID',
);

/** A new random 32-hex-digit ETag for each row (what newEtag() makes in code). */
export const randomEtag: Fragment = sqliteOnly('lower(hex(randomblob(16)))', 'a random ETag');

/** The larger of two numbers (SQLite's two-argument MAX; GREATEST elsewhere). */
export const greatest = (a: string, b: string): Fragment => sqliteOnly(`MAX(${a}, ${b})`, 'a scalar MAX');

/** The elements of a JSON array parameter (a list of ids or hashes) as rows of one column, `value`. */
export const jsonRows = (param: string): Fragment =>
  sqliteOnly(`(SELECT value FROM json_each(${param}))`, 'a JSON array as rows');

/** The elements of a JSON array parameter with their positions: rows of `i` (from 0) and `value`. */
export const jsonRowsIndexed = (param: string): Fragment =>
  sqliteOnly(`(SELECT CAST(key AS INTEGER) AS i, value FROM json_each(${param}))`, 'a JSON array as indexed rows');

/**
 * A JSON object of SQL values, keyed by name. A query that returns many values in one row can send
 * them as one JSON text: node-sqlite3 builds each value of a row with a fresh key string (about a
 * microsecond per value on this machine), JSON.parse builds them far cheaper.
 */
export const jsonObject =
  (fields: [key: string, sql: string][]): Fragment =>
  (d) =>
    sqliteOnly(`json_object(${fields.map(([k, v]) => `'${k}', ${v}`).join(', ')})`, 'a JSON object')(d);

/** A JSON array of SQL values. */
export const jsonArray = (values: string[]): Fragment => sqliteOnly(`json_array(${values.join(', ')})`, 'a JSON array');

/** The JSON array of `value` over a group's rows, in `orderBy` order ('[]' for none). */
export const jsonArrayOf = (value: string, orderBy: string): Fragment =>
  sqliteOnly(`json_group_array(${value} ORDER BY ${orderBy})`, 'a JSON array aggregate');

/** A JSON value (object or array) built by a subquery, kept as JSON when nested in another. */
export const jsonValue = (sql: string): Fragment => sqliteOnly(`json(${sql})`, 'a nested JSON value');
