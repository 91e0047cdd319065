/**
 * One node-sqlite3 connection with its prepared statements: each SQL text is prepared once on
 * first use and reused (an LRU keyed by the text), so a hot query costs one bind and one step on a
 * libuv pool thread, not a parse. Statements are always run to completion (`all`, or `run` then a
 * reset for statements that return rows): a statement left mid-iteration would keep its read
 * snapshot open and every later query on this connection would see stale data.
 */
import sqlite3 from 'sqlite3';
import type { Params } from '../types.js';
import { numberParams, paramValue } from '../sql-params.js';

const CACHE_SIZE = 256;

interface Prepared {
  stmt: sqlite3.Statement;
  names: string[];
  /** May return rows although run() was called (SELECT, PRAGMA, RETURNING): reset after a run. */
  yieldsRows: boolean;
  prepared: boolean;
  finalized: boolean;
  /** Settles with the prepare error (bad SQL) or null. */
  preparing: Promise<Error | null>;
}

export class SqliteConnection {
  private readonly cache = new Map<string, Prepared>();
  /** Queries handed to the driver and not yet answered (for choosing the least busy reader). */
  pending = 0;
  /** Statements run through `all`/`run` since opening (transaction control and PRAGMAs not counted). */
  statements = 0;

  private constructor(private readonly handle: sqlite3.Database) {}

  static open(file: string, mode: number, busyTimeoutMs: number): Promise<SqliteConnection> {
    return new Promise((resolve, reject) => {
      const handle = new sqlite3.Database(file, mode, (err) => {
        if (err) return reject(err);
        handle.configure('busyTimeout', busyTimeoutMs);
        resolve(new SqliteConnection(handle));
      });
    });
  }

  /** Runs SQL text as is, without a cache entry (PRAGMAs, transaction control). */
  exec(sql: string): Promise<void> {
    return this.track(
      new Promise((resolve, reject) => this.handle.exec(sql, (err) => (err ? reject(err) : resolve()))),
    );
  }

  async all<T>(sql: string, params?: Params): Promise<T[]> {
    this.statements++;
    const p = this.ready(sql) ?? (await this.prepare(sql));
    const bind = this.bind(p, sql, params);
    return this.track(
      new Promise<T[]>((resolve, reject) =>
        p.stmt.all<T>(bind, (err, rows) => (err ? reject(withSql(err, sql)) : resolve(rows))),
      ),
    );
  }

  /** Runs a statement; returns the number of rows it changed. */
  async run(sql: string, params?: Params): Promise<number> {
    this.statements++;
    const p = this.ready(sql) ?? (await this.prepare(sql));
    const bind = this.bind(p, sql, params);
    return this.track(
      new Promise<number>((resolve, reject) => {
        let changes = 0;
        p.stmt.run(bind, function (err) {
          if (err) return reject(withSql(err, sql));
          changes = this.changes;
          if (!p.yieldsRows) resolve(changes);
        });
        // Queued behind the run on the statement's own queue: no second round trip to wait for.
        if (p.yieldsRows) p.stmt.reset(() => resolve(changes));
      }),
    );
  }

  async close(): Promise<void> {
    const stmts = [...this.cache.values()].map((p) => p.stmt);
    this.cache.clear();
    await Promise.all(stmts.map((s) => new Promise<void>((resolve) => s.finalize(() => resolve()))));
    await new Promise<void>((resolve, reject) => this.handle.close((err) => (err ? reject(err) : resolve())));
  }

  /** The cached statement when it is prepared and usable now (the hot path: no await). */
  private ready(sql: string): Prepared | undefined {
    const hit = this.cache.get(sql);
    if (!hit?.prepared) return undefined;
    // Most recently used last: Map keeps insertion order, so the first key is the eviction candidate.
    this.cache.delete(sql);
    this.cache.set(sql, hit);
    return hit;
  }

  private async prepare(sql: string): Promise<Prepared> {
    let p = this.cache.get(sql);
    if (!p) {
      let done!: (err: Error | null) => void;
      const preparing = new Promise<Error | null>((resolve) => (done = resolve));
      // Numbered placeholders bound from an array: node-sqlite3 binds an object's keys one by one by
      // name, a quarter more of the main thread's time per query (measured), and each bind object
      // built with `$`-prefixed keys was a new hidden class for V8.
      const { text, names } = numberParams(sql, '?');
      p = {
        stmt: this.handle.prepare(text, (err) => done(err)),
        names,
        yieldsRows: /^\s*(SELECT|PRAGMA|VALUES|WITH|EXPLAIN)\b/i.test(sql) || /\bRETURNING\b/i.test(sql),
        prepared: false,
        finalized: false,
        preparing,
      };
      this.cache.set(sql, p);
      this.evict();
    }
    // node-sqlite3 drops (never calls back) work queued on a statement whose prepare failed: wait for it.
    const err = await p.preparing;
    if (err) {
      if (this.cache.get(sql) === p) this.cache.delete(sql);
      throw withSql(err, sql);
    }
    p.prepared = true;
    return p.finalized ? this.prepare(sql) : p;
  }

  private evict(): void {
    if (this.cache.size <= CACHE_SIZE) return;
    const [oldest, evicted] = this.cache.entries().next().value as [string, Prepared];
    this.cache.delete(oldest);
    evicted.finalized = true;
    evicted.stmt.finalize(); // runs after the statement's queued work
  }

  private bind(p: Prepared, sql: string, params: Params | undefined): unknown[] {
    const out = new Array<unknown>(p.names.length);
    for (let i = 0; i < out.length; i++) out[i] = paramValue(params, p.names[i]!, sql);
    return out;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending++;
    return work.finally(() => this.pending--);
  }
}

/** The driver's errors name neither the statement nor where it came from: add the SQL for the log. */
function withSql(err: Error, sql: string): Error {
  (err as Error & { sql?: string }).sql = sql;
  return err;
}
