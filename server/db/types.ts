/** The executor contract every dialect implements (see index.ts). */
export type Params = Record<string, unknown>;

/** Which SQL dialect the executor speaks: repositories pick per-dialect variants by it where SQL differs. */
export type Dialect = 'sqlite' | 'postgres';

/** How a read may be run. */
export interface ReadOptions {
  /**
   * The read's cost grows with the data (a count over every node, a LIKE over a drive's names, a
   * sweep): the SQLite executor runs it on a worker thread instead of the event loop. Inside a
   * transaction, and on PostgreSQL (its own server process), it changes nothing.
   */
  scan?: boolean;
}
export const SCAN: ReadOptions = { scan: true };

/** A query surface: the database itself, or an open transaction. */
export interface Q {
  all<T = Record<string, unknown>>(sql: string, params?: Params, opts?: ReadOptions): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: Params, opts?: ReadOptions): Promise<T | undefined>;
  /** Runs an INSERT/UPDATE/DELETE and returns the number of rows changed. */
  run(sql: string, params?: Params): Promise<number>;
}

export interface Db extends Q {
  readonly dialect: Dialect;
  /**
   * The one way to open a write transaction. Keep it short: no file I/O beyond metadata calls.
   * Concurrent transactions may share one commit; each caller is answered once its own is durable.
   */
  tx<T>(fn: (tx: Q) => Promise<T>, opts?: TxOptions): Promise<T>;
  /**
   * Commits (each one fsync under DURABILITY=full), transactions committed and SQL statements run
   * (reads and writes, in transactions or not; not BEGIN/COMMIT) since opening.
   */
  stats(): {
    commits: number;
    transactions: number;
    statements: number;
    /** A pooled engine's connections (PostgreSQL): open, idle, and requests waiting for one. */
    pool?: { total: number; idle: number; waiting: number };
  };
  /**
   * A number that changes whenever anything is committed to the database: at once for this
   * process's commits, from the next event-loop turn for another process's (SQLite: `PRAGMA
   * data_version` on the reading connection, read once per turn: executor.ts). A read cached under
   * one version is still exact while the version is the same (read-cache.ts).
   * Absent where the engine has no such cheap signal (PostgreSQL): nothing is cached there.
   */
  version?(): Promise<number>;
  close(): Promise<void>;
}

/** What a caller knows of a transaction before it runs. */
export interface TxOptions {
  /**
   * It changes a handful of rows, however much the drive holds: one upload, one folder, one lock,
   * one property set — never a tree operation, whose rows grow with the folder. The SQLite executor
   * keeps such a transaction's rollback records in memory instead of a temporary file
   * (group-commit.ts says why and what it saves); an unmarked one is always correct, only slower.
   */
  small?: boolean;
}
export const SMALL_TX: TxOptions = { small: true };

export interface OpenOptions {
  /** `full` (default): a committed transaction survives a power cut. `relaxed`: it survives a crash of the process. */
  durability?: 'full' | 'relaxed';
  /** Connections in the pool (PostgreSQL), default 10. */
  poolSize?: number;
  /**
   * How long a transaction may run no statement while others wait behind it before they are refused
   * as opened inside it (tx-guard.ts); default 10 s.
   */
  stallMs?: number;
}
