/**
 * The PostgreSQL executor: a `pg.Pool`, SQL texts with named `$params` numbered once per text
 * (sql-params.ts) and kept as prepared statements on each connection.
 *
 * Write transactions keep SQLite's guarantee that the repositories were written against: they run
 * one after another. In this process a queue hands them one pooled client at a time (so waiting
 * transactions never hold connections the running one may need for a read), and across processes
 * each takes a transaction-scoped advisory lock before its first statement, so instances sharing a
 * database serialize their writes too. Under READ COMMITTED a statement sees every transaction
 * committed before it started: with writers in a line, a read-then-write is as safe as on SQLite
 * and no transaction is ever retried (the domain's callbacks may run once only). Reads outside a
 * transaction run beside them on the other connections.
 */
import pg from 'pg';
import { numberParams, paramValue } from '../sql-params.js';
import { NESTED_TX, TxGuard } from '../tx-guard.js';
import type { Db, OpenOptions, Params, Q } from '../types.js';
import { isConnectionLoss, unavailable } from './errors.js';
import { types } from './types.js';

/** Any 64-bit key; the one lock every Coffer write transaction takes (pg_advisory_xact_lock). */
const WRITE_LOCK = 7_243_318_605;
/** Named prepared statements, each kept on every connection; texts beyond them (search builds one per filter set) run unnamed. */
const MAX_PREPARED = 400;

export async function openPostgres(url: string, opts: OpenOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    types,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // DURABILITY=relaxed: a commit returns before its WAL is flushed (a crash of the database
    // server may lose the last ones, never corrupt); `full` keeps PostgreSQL's default.
    ...(opts.durability === 'relaxed' ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle connection that the server closes (a restart, a network cut) reports here: the pool
  // drops it and the next query opens a new one. Unhandled, the event would end the process.
  pool.on('error', () => {});

  // SQLite reads `CROSS JOIN t ON …` as an inner join whose order it keeps (the repositories use it
  // to fix plans); PostgreSQL allows no ON after CROSS JOIN and orders joins itself.
  const innerJoins = (sql: string) => sql.replace(/\bCROSS JOIN(\s+\w+(?:\s+\w+)?\s+ON)\b/g, 'JOIN$1');
  const texts = new Map<string, { text: string; names: string[]; name: string | undefined }>();
  const compiled = (sql: string) => {
    let c = texts.get(sql);
    if (!c) {
      const { text, names } = numberParams(innerJoins(sql));
      c = { text, names, name: texts.size < MAX_PREPARED ? `s${texts.size}` : undefined };
      texts.set(sql, c);
    }
    return c;
  };
  const stats = { commits: 0, transactions: 0, statements: 0 };
  const query = async <T>(c: pg.Pool | pg.PoolClient, sql: string, params?: Params) => {
    const { text, names, name } = compiled(sql);
    stats.statements++;
    const values = names.map((n) => paramValue(params, n, sql));
    return c.query<T & pg.QueryResultRow>({ text, values, name });
  };
  // A transaction's surface; once it has ended its client is back in the pool, serving others.
  const surface = (c: pg.PoolClient, ended: () => boolean): Q & { dialect: 'postgres' } => {
    const on = <T>(sql: string, params?: Params) => {
      if (ended()) return Promise.reject(new Error('the transaction has already ended'));
      guard.statement();
      return query<T>(c, sql, params);
    };
    return {
      dialect: 'postgres',
      all: async <T>(sql: string, params?: Params) => (await on<T>(sql, params)).rows as T[],
      get: async <T>(sql: string, params?: Params) => (await on<T>(sql, params)).rows[0] as T | undefined,
      run: async (sql, params) => (await on(sql, params)).rowCount ?? 0,
    };
  };

  // A read outside a transaction changes nothing: after a lost connection it is safe to send again.
  const read = async <T>(sql: string, params?: Params): Promise<T[]> => {
    if (closed) throw new Error('the database is closed');
    for (let attempt = 0; ; attempt++) {
      try {
        return (await query<T>(pool, sql, params)).rows as T[];
      } catch (err) {
        if (!isConnectionLoss(err)) throw err;
        if (attempt >= 2) throw unavailable(err);
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  };

  // Refuses a transaction opened inside one of ours: it would wait for the line it stands in.
  const guard = new TxGuard(opts.stallMs);
  let line: Promise<unknown> = Promise.resolve();
  let closed = false;

  const runTx = async <T>(fn: (tx: Q) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw isConnectionLoss(err) ? unavailable(err) : err;
    }
    // A checked-out client has no listener of the pool's: its connection failing mid-transaction
    // must fail the query (which it does), not the process.
    const onError = () => {};
    client.on('error', onError);
    let broken: unknown;
    let ended = false;
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`); // one round trip
      const result = await guard.run(() => fn(surface(client, () => ended)));
      await client.query('COMMIT');
      stats.commits++;
      stats.transactions++;
      return result;
    } catch (err) {
      if (isConnectionLoss(err)) {
        broken = err;
        throw unavailable(err);
      }
      await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw err;
    } finally {
      ended = true;
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : undefined);
    }
  };

  const tx = <T>(fn: (tx: Q) => Promise<T>): Promise<T> => {
    if (guard.inside()) return Promise.reject(new Error(NESTED_TX));
    if (closed) return Promise.reject(new Error('the database is closed'));
    return new Promise<T>((resolve, reject) => {
      let refused = false;
      const started = guard.queued((err) => {
        refused = true;
        reject(err);
      });
      // The line moves on when a transaction has ended, never earlier (not when one is refused).
      line = line.then(() => {
        started();
        return refused ? undefined : runTx(fn).then(resolve, reject);
      });
    });
  };

  return {
    dialect: 'postgres',
    all: read,
    get: async <T>(sql: string, params?: Params) => (await read<T>(sql, params))[0],
    // A write outside a transaction is a transaction of its own, in the same line as the others.
    run: (sql, params) => tx((t) => t.run(sql, params)),
    tx,
    stats: () => ({ ...stats, pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } }),
    close: async () => {
      closed = true;
      await line;
      await pool.end();
    },
  } as Db & { dialect: 'postgres' };
}
