/**
 * One SQLite connection (better-sqlite3) with its prepared statements: each SQL text is prepared
 * once on first use and reused (an LRU keyed by the text), so a hot query is one bind and one step.
 *
 * Statements run on the calling thread, synchronously. An indexed query takes a few microseconds
 * here, less than the thread-pool round trip node-sqlite3 made for every statement (README: "The
 * database executor"); the methods still answer promises so that the executor's contract is the
 * same as PostgreSQL's.
 *
 * Waiting for a lock held by another process (a `npm run user` beside the server, a backup) must not
 * stall the event loop, so SQLite's own busy handler, which sleeps in place, is off: a statement that
 * finds the database busy is retried after a short timer, until `busyTimeoutMs` has passed.
 */
import Database from 'better-sqlite3';
import type { Params } from '../types.js';
import { paramValue, positionalParams } from '../sql-params.js';

const CACHE_SIZE = 256;
/** The first retry of a busy statement waits this long, doubling up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 50;

interface Prepared {
  stmt: Database.Statement;
  /** One parameter name per `?` of the statement text, in order. */
  names: string[];
}

export class SqliteConnection {
  private readonly cache = new Map<string, Prepared>();
  /** Statements run through `all`/`run` since opening (transaction control and PRAGMAs not counted). */
  statements = 0;
  private version: Database.Statement | undefined;

  private constructor(
    private readonly handle: Database.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  static open(file: string, opts: { readonly: boolean; busyTimeoutMs: number }): SqliteConnection {
    const handle = new Database(file, { readonly: opts.readonly, fileMustExist: opts.readonly, timeout: 0 });
    return new SqliteConnection(handle, opts.busyTimeoutMs);
  }

  /** Runs SQL text as is, without a cache entry (PRAGMAs, transaction control). */
  exec(sql: string): Promise<void> {
    return this.whenFree(sql, () => void this.handle.exec(sql));
  }

  all<T>(sql: string, params?: Params): Promise<T[]> {
    const p = this.prepared(sql);
    const values = bind(p.names, sql, params);
    this.statements++;
    // A statement that returns no rows (an UPDATE sent through all()) answers none, as node-sqlite3 did.
    if (!p.stmt.reader) return this.whenFree(sql, () => (p.stmt.run(values), []));
    return this.whenFree(sql, () => p.stmt.all(values) as T[]);
  }

  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: Params): Promise<number> {
    const p = this.prepared(sql);
    const values = bind(p.names, sql, params);
    this.statements++;
    return this.whenFree(sql, () => p.stmt.run(values).changes);
  }

  /**
   * `PRAGMA data_version`: changes when another connection has committed since this one last looked
   * (https://sqlite.org/pragma.html#pragma_data_version). Not counted in `statements`: it reads no
   * table, only the WAL index in shared memory.
   */
  dataVersion(): Promise<number> {
    this.version ??= this.handle.prepare('PRAGMA data_version').pluck();
    const stmt = this.version;
    return this.whenFree('PRAGMA data_version', () => stmt.get() as number);
  }

  close(): void {
    this.cache.clear();
    this.handle.close();
  }

  private prepared(sql: string): Prepared {
    const hit = this.cache.get(sql);
    if (hit) {
      // Most recently used last: Map keeps insertion order, so the first key is the eviction candidate.
      this.cache.delete(sql);
      this.cache.set(sql, hit);
      return hit;
    }
    const { text, names } = shapeOf(sql);
    let stmt: Database.Statement;
    try {
      stmt = this.handle.prepare(text);
    } catch (err) {
      throw normalized(err, sql);
    }
    const p = { stmt, names };
    this.cache.set(sql, p);
    // An evicted statement is garbage-collected by better-sqlite3 (it finalizes it then).
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }

  /** Runs `work` now; while the database is locked by another process, again after a short timer. */
  private whenFree<T>(sql: string, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (err) {
      if (!isBusy(err)) return Promise.reject(normalized(err, sql));
    }
    return (async () => {
      const deadline = Date.now() + this.busyTimeoutMs;
      for (let wait = FIRST_RETRY_MS; ; wait = Math.min(wait * 2, MAX_RETRY_MS)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          return work();
        } catch (err) {
          if (!isBusy(err) || Date.now() >= deadline) throw normalized(err, sql);
        }
      }
    })();
  }
}

function bind(names: string[], sql: string, params: Params | undefined): unknown[] {
  const out = new Array<unknown>(names.length);
  for (let i = 0; i < out.length; i++) {
    const v = paramValue(params, names[i]!, sql);
    // SQLite has no boolean (node-sqlite3 bound true/false as 1/0; better-sqlite3 refuses them).
    out[i] = typeof v === 'boolean' ? Number(v) : v;
  }
  return out;
}

const shapes = new Map<string, { text: string; names: string[] }>();

/** A statement's text with plain `?` placeholders and the parameter name of each, parsed once per text. */
function shapeOf(sql: string): { text: string; names: string[] } {
  let shape = shapes.get(sql);
  if (!shape) {
    shape = positionalParams(sql);
    shapes.set(sql, shape);
    if (shapes.size > CACHE_SIZE) shapes.delete(shapes.keys().next().value as string);
  }
  return shape;
}

/** A statement's text with plain `?` placeholders and its values in their order (scan-reader.ts). */
export function positionalValues(sql: string, params: Params | undefined): { text: string; values: unknown[] } {
  const { text, names } = shapeOf(sql);
  return { text, values: bind(names, sql, params) };
}

const isBusy = (err: unknown) => /^SQLITE_BUSY/.test((err as { code?: string } | null)?.code ?? '');

/**
 * The driver reports extended result codes (SQLITE_CONSTRAINT_UNIQUE); callers test the primary one
 * (SQLITE_CONSTRAINT, SQLITE_FULL, SQLITE_READONLY), as node-sqlite3 gave it. The extended code stays
 * in `extendedCode`, and the SQL text is added for the log.
 */
export function normalized(err: unknown, sql: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: string; extendedCode?: string; sql?: string };
  const primary = /^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/.exec(e.code ?? '');
  if (primary && primary[2]) {
    e.extendedCode = e.code;
    e.code = primary[1];
  }
  e.sql = sql;
  return e;
}
