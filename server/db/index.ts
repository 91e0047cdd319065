/**
 * The database handle: sequelize over SQLite, WAL, foreign keys, busy timeout, IMMEDIATE write
 * transactions. Domain code talks to it through `Q` (raw, bound SQL) and `db.tx(fn)`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';

export type Params = Record<string, unknown>;

/** A query surface: the database itself, or an open transaction. */
export interface Q {
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T | undefined>;
  /** Runs an INSERT/UPDATE/DELETE and returns the number of rows changed. */
  run(sql: string, params?: Params): Promise<number>;
}

export interface Db extends Q {
  readonly sequelize: Sequelize;
  /** The one way to open a write transaction. Keep it short: no file I/O beyond metadata calls. */
  tx<T>(fn: (tx: Q) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface SqliteConn {
  configure(option: 'busyTimeout', ms: number): void;
  run(sql: string, cb: (err: Error | null) => void): void;
}

function surface(sequelize: Sequelize, transaction?: Transaction): Q {
  const opts = (params?: Params) => ({ bind: params ?? {}, transaction });
  return {
    all: <T>(sql: string, params?: Params) =>
      sequelize.query(sql, { ...opts(params), type: QueryTypes.SELECT }) as Promise<T[]>,
    get: async <T>(sql: string, params?: Params) =>
      ((await sequelize.query(sql, { ...opts(params), type: QueryTypes.SELECT })) as T[])[0],
    run: async (sql: string, params?: Params) => {
      const [, changes] = (await sequelize.query(sql, { ...opts(params), type: QueryTypes.UPDATE })) as unknown as [
        unknown,
        number,
      ];
      return changes ?? 0;
    },
  };
}

export async function openDb(file: string): Promise<Db> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sequelize = new Sequelize({
    dialect: 'sqlite',
    storage: file,
    logging: false,
    transactionType: Transaction.TYPES.IMMEDIATE,
  });
  // sequelize opens one sqlite connection per transaction: every connection needs these settings.
  // Its sqlite dialect never runs the afterConnect hook (it overrides getConnection), so wrap that:
  // without it node-sqlite3's default 1 s busy timeout turns a burst of uploads into SQLITE_BUSY 500s.
  const manager = sequelize.connectionManager as unknown as {
    getConnection(o?: { uuid?: string }): Promise<SqliteConn>;
    releaseConnection(c: SqliteConn & { uuid?: string }, force?: boolean): void;
  };
  const getConnection = manager.getConnection.bind(manager);
  const releaseConnection = manager.releaseConnection.bind(manager);
  const configured = new WeakSet<SqliteConn>();
  // Transactions run one at a time (writeLock below), so they can share one long-lived connection
  // instead of sequelize opening and closing a sqlite connection for every transaction.
  let writer: (SqliteConn & { uuid?: string }) | undefined;
  manager.releaseConnection = (c, force) => {
    if (c === writer && !force) delete c.uuid;
    else releaseConnection(c, force);
  };
  manager.getConnection = async (o?: { uuid?: string }) => {
    const forTx = o?.uuid !== undefined && o.uuid !== 'default';
    const c = forTx ? (writer ??= await getConnection({ ...o, uuid: 'coffer-writer' })) : await getConnection(o);
    if (!configured.has(c)) {
      configured.add(c);
      c.configure('busyTimeout', 10_000);
      for (const pragma of ['PRAGMA foreign_keys = ON', 'PRAGMA synchronous = FULL']) {
        await new Promise<void>((resolve, reject) => c.run(pragma, (err) => (err ? reject(err) : resolve())));
      }
    }
    return c;
  };
  await sequelize.query('PRAGMA journal_mode = WAL');
  const base = surface(sequelize);
  // One write transaction at a time in this process. SQLite has one writer anyway, and
  // node-sqlite3 waits for a busy lock on a libuv pool thread: with many connections queued in
  // BEGIN IMMEDIATE, every pool thread sleeps in the busy handler while the lock holder needs one
  // to COMMIT (measured: 20 concurrent uploads stalled until the busy timeout). busy_timeout still
  // covers other processes (fsck, a second instance).
  let queue: Promise<unknown> = Promise.resolve();
  const inTx = new AsyncLocalStorage<true>();
  const writeLock = <T>(fn: () => Promise<T>): Promise<T> => {
    if (inTx.getStore())
      return Promise.reject(new Error('db.tx() called inside a transaction: pass the open tx down instead'));
    const run = queue.then(() => inTx.run(true, fn));
    queue = run.catch(() => undefined);
    return run;
  };
  const db: Db = {
    ...base,
    sequelize,
    tx: (fn) => writeLock(() => sequelize.transaction((t) => fn(surface(sequelize, t)))),
    close: () => sequelize.close(),
  };
  return db;
}

/** SQLite returns 0/1 for booleans and numbers for BIGINT; PostgreSQL would return strings. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';
