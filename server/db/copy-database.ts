/**
 * Copies every row of a SQLite database (a consistent snapshot) into an empty PostgreSQL database
 * whose schema the same migrations made: `npm run migrate-store -- --to postgres://…`.
 *
 * The tables and columns are PostgreSQL's (information_schema), each read from SQLite under the
 * same names: SQLite's own extras (the FTS5 search index, which PostgreSQL replaces by a trigram
 * index on the rows themselves; schema_migrations, which the target's own migrations wrote) are
 * left behind. Tables go in foreign-key order (parents first, from PostgreSQL's catalog); the one
 * table that refers to itself — a node's parent — is loaded with its self-references empty and
 * gets them in a second pass, so no ordering of a million rows by depth is needed. Identity
 * columns keep their values and their sequences are moved past them. Values need no conversion:
 * SQLite's 0/1 are valid PostgreSQL booleans, BLOBs arrive as Buffers for BYTEA.
 *
 * One transaction on the target: a copy that fails leaves it empty, and is simply run again.
 */
import type { Db, Q } from './index.js';

const BATCH = 500;

export interface CopyReport {
  /** Rows copied per table, in the order the tables were loaded. */
  rows: Record<string, number>;
}

interface Table {
  name: string;
  columns: string[];
  /** Columns that refer to this same table (loaded empty, then set). */
  selfRefs: string[];
  identity: string[];
}

async function targetTables(pg: Q): Promise<Table[]> {
  const cols = await pg.all<{ table_name: string; column_name: string; is_identity: string }>(
    `SELECT c.table_name, c.column_name, c.is_identity FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
     ORDER BY c.table_name, c.ordinal_position`,
  );
  const fks = await pg.all<{ child: string; parent: string; col: string }>(
    `SELECT cl.relname AS child, pl.relname AS parent, a.attname AS col
       FROM pg_constraint k
       JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace
       JOIN pg_class pl ON pl.oid = k.confrelid
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
     WHERE k.contype = 'f' AND ns.nspname = current_schema()`,
  );
  const tables = new Map<string, Table>();
  for (const c of cols) {
    const t = tables.get(c.table_name) ?? { name: c.table_name, columns: [], selfRefs: [], identity: [] };
    t.columns.push(c.column_name);
    if (c.is_identity === 'YES') t.identity.push(c.column_name);
    tables.set(c.table_name, t);
  }
  const parents = new Map<string, Set<string>>();
  for (const fk of fks) {
    if (fk.child === fk.parent) tables.get(fk.child)?.selfRefs.push(fk.col);
    else parents.set(fk.child, (parents.get(fk.child) ?? new Set()).add(fk.parent));
  }
  // Parents before children (a depth-first topological order; the schema has no cycles but self-references).
  const ordered: Table[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const p of parents.get(name) ?? []) visit(p);
    const t = tables.get(name);
    if (t) ordered.push(t);
  };
  for (const name of [...tables.keys()].sort()) visit(name);
  return ordered;
}

/** The target must be a database the migrations just made: no user, no node. */
export async function isEmptyTarget(pg: Q): Promise<boolean> {
  const r = await pg.get<{ n: number }>(
    'SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM nodes) + (SELECT COUNT(*) FROM blobs) AS n',
  );
  return Number(r?.n ?? 0) === 0;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function copyTable(sqlite: Db, tx: Q, t: Table): Promise<number> {
  const present = new Set(
    (await sqlite.all<{ name: string }>(`SELECT name FROM pragma_table_info($t)`, { t: t.name })).map((c) => c.name),
  );
  if (present.size === 0) return 0; // a table only PostgreSQL has (none today)
  const columns = t.columns.filter((c) => present.has(c));
  const list = columns.map(quote).join(', ');
  let copied = 0;
  for (let last = 0; ;) {
    // Keyset pages by SQLite's rowid: every table here has one, and it never changes in a snapshot.
    const rows = await sqlite.all<Record<string, unknown>>(
      `SELECT rowid AS "__rowid", ${list} FROM ${quote(t.name)} WHERE rowid > $last ORDER BY rowid LIMIT ${BATCH}`,
      { last },
    );
    if (rows.length === 0) break;
    last = Number(rows[rows.length - 1]!.__rowid);
    const params: Record<string, unknown> = {};
    const tuples = rows.map((r, i) => {
      const cells = columns.map((c, j) => {
        params[`v${i}_${j}`] = t.selfRefs.includes(c) ? null : (r[c] ?? null);
        return `$v${i}_${j}`;
      });
      return `(${cells.join(', ')})`;
    });
    const overriding = t.identity.length > 0 ? ' OVERRIDING SYSTEM VALUE' : '';
    await tx.run(`INSERT INTO ${quote(t.name)} (${list})${overriding} VALUES ${tuples.join(', ')}`, params);
    copied += rows.length;
  }
  await setSelfRefs(sqlite, tx, t);
  for (const c of t.identity)
    await tx.get(
      `SELECT setval(pg_get_serial_sequence($table, $column), GREATEST((SELECT MAX(${quote(c)}) FROM ${quote(t.name)}), 1))`,
      { table: t.name, column: c },
    );
  return copied;
}

/**
 * The self-references of a table, set once all its rows are in (a child may be stored before its
 * parent), read again page by page from the snapshot.
 */
async function setSelfRefs(sqlite: Db, tx: Q, t: Table): Promise<void> {
  const key = t.columns.includes('id') ? 'id' : t.columns[0]!;
  for (const col of t.selfRefs) {
    for (let last = 0; ;) {
      const rows = await sqlite.all<{ __rowid: number; k: unknown; ref: unknown }>(
        `SELECT rowid AS "__rowid", ${quote(key)} AS k, ${quote(col)} AS ref FROM ${quote(t.name)}
         WHERE rowid > $last AND ${quote(col)} IS NOT NULL ORDER BY rowid LIMIT ${BATCH}`,
        { last },
      );
      if (rows.length === 0) break;
      last = Number(rows[rows.length - 1]!.__rowid);
      const params: Record<string, unknown> = {};
      const values = rows.map((r, i) => {
        params[`k${i}`] = r.k;
        params[`r${i}`] = r.ref;
        return `($k${i}, $r${i})`;
      });
      await tx.run(
        `UPDATE ${quote(t.name)} SET ${quote(col)} = v.ref FROM (VALUES ${values.join(', ')}) AS v(k, ref)
         WHERE ${quote(t.name)}.${quote(key)} = v.k`,
        params,
      );
    }
  }
}

/** Copies every row of `sqlite` into `pg` (empty, migrated) in one transaction; counts per table. */
export async function copyDatabase(sqlite: Db, pg: Db): Promise<CopyReport> {
  if (sqlite.dialect !== 'sqlite' || pg.dialect !== 'postgres')
    throw new Error('copyDatabase: SQLite to PostgreSQL only');
  return pg.tx(async (tx) => {
    const rows: Record<string, number> = {};
    for (const t of await targetTables(tx)) rows[t.name] = await copyTable(sqlite, tx, t);
    return { rows };
  });
}

/** Rows per table in either database (for the parity check after a copy). */
export async function rowCounts(db: Q, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quote(t)}`))!.n);
  return out;
}
