/**
 * SQL dialects. Repositories write one portable text where SQL allows it; where it does not (name
 * search, a JSON array read as rows, ids generated in SQL, scalar MAX, JSON documents built in SQL)
 * the statement is built per dialect from the fragments below, picked by the dialect the executor
 * reports.
 */
import type { Q } from './index.js';

export type Dialect = 'sqlite' | 'postgres';

/** The executor's dialect: a `dialect` property on the query surface; an executor without one is SQLite's. */
export function dialectOf(q: Q): Dialect {
  return (q as { dialect?: unknown }).dialect === 'postgres' ? 'postgres' : 'sqlite';
}

/** A piece of SQL that differs between dialects. */
export type Fragment = (d: Dialect) => string;

const pick =
  (sqlite: string, postgres: string): Fragment =>
  (d) =>
    d === 'sqlite' ? sqlite : postgres;

function sqliteOnly(text: string, what: string): Fragment {
  return (d) => {
    if (d === 'sqlite') return text;
    throw new Error(`no ${d} SQL for ${what}`);
  };
}

/**
 * A column that must not drive the plan: SQLite's unary + keeps its indexes out (SQLite plans
 * without statistics here, so an equality on an indexed column can win over the index that should
 * lead). PostgreSQL's planner weighs indexes by its statistics itself, and has no unary + on text.
 */
export const unindexed = (d: Dialect, column: string): string => (d === 'sqlite' ? `+${column}` : column);

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

/** A statement that exists only in SQLite's dialect (VACUUM INTO: PostgreSQL's twin is pg_dump, a program). */
export const sqliteStatement = (text: string, what: string) => perDialect(sqliteOnly(text, what));

/** A JSON array parameter (a text) as jsonb, for PostgreSQL's JSON functions. */
const jsonb = (param: string) => `CAST(${param} AS jsonb)`;

/** A new node id for each row, time-ordered like `newNodeId()` in code (nodes.ts says why): a version 7 UUID. */
// The statement's time in milliseconds, as 12 hex digits (SQLite's 'now' is fixed within a statement).
const millisHex = pick(
  `printf('%012x', CAST(unixepoch('subsec') * 1000 AS INTEGER))`,
  `lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')`,
);
// What follows the version digit: 3 + 4 + 12 random hex digits, the variant's two bits set.
const uuidTail = pick(
  `substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1)
     || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))`,
  // gen_random_uuid(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V already the RFC variant
  `substr(gen_random_uuid()::text, 16, 3) || '-' || substr(gen_random_uuid()::text, 20, 17)`,
);
export const timeOrderedUuid: Fragment = (d) =>
  `(substr(${millisHex(d)}, 1, 8) || '-' || substr(${millisHex(d)}, 9, 4) || '-7' || ${uuidTail(d)})`;

/** A new random 32-hex-digit ETag for each row (what newEtag() makes in code). */
export const randomEtag: Fragment = pick('lower(hex(randomblob(16)))', "replace(gen_random_uuid()::text, '-', '')");

/** The larger of two numbers (SQLite's two-argument MAX; GREATEST elsewhere). */
export const greatest = (a: string, b: string): Fragment => pick(`MAX(${a}, ${b})`, `GREATEST(${a}, ${b})`);

/** The elements of a JSON array parameter (a list of ids or hashes) as rows of one column, `value`. */
export const jsonRows = (param: string): Fragment =>
  pick(
    `(SELECT value FROM json_each(${param}))`,
    `(SELECT value FROM jsonb_array_elements_text(${jsonb(param)}) AS j(value))`,
  );

/** The elements of a JSON array parameter with their positions: rows of `i` (from 0) and `value`. */
export const jsonRowsIndexed = (param: string): Fragment =>
  pick(
    `(SELECT CAST(key AS INTEGER) AS i, value FROM json_each(${param}))`,
    `(SELECT CAST(k - 1 AS INTEGER) AS i, value FROM jsonb_array_elements_text(${jsonb(param)}) WITH ORDINALITY AS j(value, k))`,
  );

/**
 * A JSON object of SQL values, keyed by name. A query that returns many values in one row can send
 * them as one JSON text: a driver builds each value of a row with a fresh key string (node-sqlite3,
 * measured: about a microsecond per value on this machine), JSON.parse builds them far cheaper.
 */
export const jsonObject = (fields: [key: string, sql: string][]): Fragment => {
  const pairs = fields.map(([k, v]) => `'${k}', ${v}`).join(', ');
  // PostgreSQL's functions take at most 100 arguments: 50 fields; the widest object here has 20.
  return pick(`json_object(${pairs})`, `json_build_object(${pairs})`);
};

/** A JSON array of SQL values. */
export const jsonArray = (values: string[]): Fragment =>
  pick(`json_array(${values.join(', ')})`, `json_build_array(${values.join(', ')})`);

/** The JSON array of `value` over a group's rows, in `orderBy` order ('[]' for none). */
export const jsonArrayOf = (value: string, orderBy: string): Fragment =>
  pick(`json_group_array(${value} ORDER BY ${orderBy})`, `COALESCE(json_agg(${value} ORDER BY ${orderBy}), '[]')`);

/**
 * A JSON value (object or array) built by a subquery, kept as JSON when nested in another (SQLite
 * would nest it as a string; PostgreSQL's json type nests as it is).
 */
export const jsonValue = (sql: string): Fragment => pick(`json(${sql})`, sql);

/** One member of a JSON object stored as TEXT, as text (NULL when absent). */
export const jsonTextMember = (column: string, key: string): Fragment =>
  pick(`json_extract(${column}, '$.${key}')`, `(${column}::json ->> '${key}')`);
