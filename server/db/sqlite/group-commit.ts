/**
 * Group commit: the write transactions of this process share COMMITs. With synchronous=FULL every
 * COMMIT is an fsync of the WAL (milliseconds on a real disk), while the statements of a small
 * transaction take microseconds; so while one COMMIT is on the disk, the transactions that arrive
 * queue up, and the writer then runs them one after another inside ONE SQLite transaction and
 * commits them with one fsync. Each caller is answered only after that COMMIT succeeded.
 *
 * Isolation between the logical transactions of a batch: each one after the first runs under its
 * own SAVEPOINT, and a failure rolls back to it, so one failed transaction never undoes or fails
 * another (the first needs no savepoint: if it fails, the whole SQLite transaction is its own).
 * Only what takes the whole SQLite transaction down (a failed COMMIT, a disk error that makes SQLite
 * roll back everything) fails every transaction of the batch, and then none of them took effect.
 *
 * SQLite has one writer anyway; this runs them on one connection in one queue, so no connection
 * ever waits for a lock held by another of ours (connection.ts waits for other processes' locks).
 *
 * Where the savepoints' rollback records live. To roll back to a savepoint SQLite keeps the original
 * of every page changed after it (the sub-journal): in memory up to 64 KiB, then in a temporary file.
 * A batch of small uploads passes that at once — strace of 400 WebDAV PUTs at c=8: 14,102 `pwrite`s
 * to temporary files against 6,910 to the WAL — and every page then costs two system calls on the
 * event loop. `PRAGMA temp_store = MEMORY` keeps those records in memory, but for a tree operation
 * they grow with the folder (emptying a bin of 220,000 files: peak RSS 356 MiB, 163 with the file), so
 * only a batch made of transactions marked `small` (TxOptions) runs with it: such a batch takes no
 * other transaction — the first one that is not small starts the next batch — and a batch of
 * other transactions keeps the temporary file. SQLite reads the setting when a transaction begins
 * and refuses to change it inside one: it is set before BEGIN, and only when it changes.
 */
import { NESTED_TX, TxGuard } from '../tx-guard.js';
import type { Params, Q, TxOptions } from '../types.js';
import type { SqliteConnection } from './connection.js';

interface Job {
  fn: (tx: Q) => Promise<unknown>;
  small: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** Tells the guard the job has left the queue. */
  started: () => void;
}

/** At most this many logical transactions share a COMMIT: bounds the wait of the first of them. */
const MAX_BATCH = 32;

export class GroupCommit {
  private readonly queue: Job[] = [];
  /** The writer loop while it runs; cleared by the loop itself in the same turn as its last queue check. */
  private draining: Promise<void> | undefined;
  /** Refuses a transaction opened inside one of ours (tx-guard.ts). */
  private readonly guard: TxGuard;
  /** SQLite COMMITs (each one fsync of the WAL under synchronous=FULL) and logical transactions committed. */
  readonly stats = { commits: 0, transactions: 0 };

  /** Whether the connection keeps rollback records in memory (temp_store = MEMORY) now. */
  private recordsInMemory = false;

  /** Called as soon as a COMMIT has succeeded, before any of its callers is answered. */
  private readonly committed: () => void;

  constructor(
    private readonly conn: SqliteConnection,
    opts: { stallMs?: number; committed?: () => void } = {},
  ) {
    this.guard = new TxGuard(opts.stallMs);
    this.committed = opts.committed ?? (() => {});
  }

  submit<T>(fn: (tx: Q) => Promise<T>, opts?: TxOptions): Promise<T> {
    if (this.guard.inside()) return Promise.reject(new Error(NESTED_TX));
    return new Promise<T>((resolve, reject) => {
      const small = opts?.small === true;
      const job: Job = { fn, small, resolve: resolve as (v: unknown) => void, reject, started: () => {} };
      job.started = this.guard.queued((err) => {
        const at = this.queue.indexOf(job);
        if (at >= 0) this.queue.splice(at, 1);
        reject(err);
      });
      this.queue.push(job);
      this.draining ??= this.drain();
    });
  }

  /** Resolves once every submitted transaction has been answered. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    // Statements run synchronously (connection.ts): a batch started at once would hold only the
    // transaction that started it. Waiting for the end of this turn of the event loop lets every
    // request that reached its transaction in the same turn join the batch and its one fsync.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0) await this.batch();
    } catch (err) {
      // A bug in the loop must not hang callers.
      for (const job of this.queue.splice(0)) {
        job.started();
        job.reject(err);
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async batch(): Promise<void> {
    let open = false;
    let done: { job: Job; value: unknown }[] = [];
    const failAll = (err: unknown) => {
      for (const d of done) d.job.reject(err);
      done = [];
    };
    const small = this.queue[0]!.small;
    for (let taken = 0; taken < MAX_BATCH && this.queue.length > 0; taken++) {
      if (small && !this.queue[0]!.small) break;
      const job = this.queue.shift()!;
      job.started();
      if (!open) {
        try {
          await this.keepRecordsInMemory(small);
          await this.conn.exec('BEGIN IMMEDIATE');
        } catch (err) {
          job.reject(err); // busy beyond busy_timeout (another process), or the disk: nothing ran
          continue;
        }
        open = true;
      }
      const savepoint = done.length > 0;
      try {
        if (savepoint) await this.conn.exec('SAVEPOINT logical');
      } catch (err) {
        this.queue.unshift(job);
        failAll(err);
        await this.conn.exec('ROLLBACK').catch(() => undefined);
        return;
      }
      const surface = new TxSurface(this.conn, this.guard);
      try {
        const value = await this.guard.run(() => job.fn(surface));
        await surface.end();
        if (savepoint) await this.conn.exec('RELEASE logical');
        done.push({ job, value });
      } catch (err) {
        await surface.end();
        if (savepoint) {
          // Fails when SQLite already rolled the whole transaction back (a disk error): the work of
          // the transactions before this one is gone too, so they fail with this error.
          const kept = await this.conn.exec('ROLLBACK TO logical; RELEASE logical').then(
            () => true,
            () => false,
          );
          if (!kept) {
            failAll(err);
            await this.conn.exec('ROLLBACK').catch(() => undefined);
            open = false;
          }
        } else {
          await this.conn.exec('ROLLBACK').catch(() => undefined);
          open = false;
        }
        job.reject(err);
      }
    }
    if (!open) return;
    try {
      await this.conn.exec('COMMIT');
    } catch (err) {
      await this.conn.exec('ROLLBACK').catch(() => undefined);
      failAll(err);
      return;
    }
    this.committed();
    this.stats.commits++;
    this.stats.transactions += done.length;
    for (const d of done) d.job.resolve(d.value);
  }

  private async keepRecordsInMemory(inMemory: boolean): Promise<void> {
    if (this.recordsInMemory === inMemory) return;
    await this.conn.exec(`PRAGMA temp_store = ${inMemory ? 'MEMORY' : 'FILE'}`);
    this.recordsInMemory = inMemory;
  }
}

/**
 * The query surface handed to one logical transaction. It refuses to run once the transaction has
 * ended (a statement that is not awaited must not leak into the next transaction of the batch), and
 * the writer waits for its stray statements before it rolls back or releases the savepoint.
 */
class TxSurface implements Q {
  private ended = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly conn: SqliteConnection,
    private readonly guard: TxGuard,
  ) {}

  all<T>(sql: string, params?: Params): Promise<T[]> {
    return this.track(() => this.conn.all<T>(sql, params));
  }

  async get<T>(sql: string, params?: Params): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.track(() => this.conn.run(sql, params));
  }

  async end(): Promise<void> {
    this.ended = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.ended) return Promise.reject(new Error('this transaction has already ended'));
    this.guard.statement();
    const p = work();
    this.inflight.add(p);
    void p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }
}
