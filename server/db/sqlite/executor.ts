/**
 * The SQLite executor: better-sqlite3 connections, statements prepared once per connection and run
 * on the calling thread (connection.ts says why). WAL lets a reader work beside the writer, so
 * reads outside a transaction go to a read-only connection of their own — they never see a batch
 * of transactions that is still open on the writer — and every write goes through the one writer
 * connection, whose transactions share COMMITs (group-commit.ts). Reads marked SCAN, whose cost
 * grows with the data, go to a read-only connection on a worker thread (scan-reader.ts), which
 * also runs the WAL's checkpoints (checkpointer.ts): neither holds the event loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db, OpenOptions, Params, ReadOptions } from '../types.js';
import { SqliteConnection } from './connection.js';
import { Checkpointer, FALLBACK_PAGES } from './checkpointer.js';
import { GroupCommit } from './group-commit.js';
import { DbThread } from './db-thread.js';
import { ScanReader } from './scan-reader.js';

const BUSY_TIMEOUT_MS = 10_000;

export async function openSqlite(file: string, opts: OpenOptions): Promise<Db> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const writer = SqliteConnection.open(file, { readonly: false, busyTimeoutMs: BUSY_TIMEOUT_MS });
  // WAL is a property of the file (kept across opens); foreign_keys and synchronous are per connection.
  // synchronous=FULL fsyncs the WAL at every COMMIT: an acknowledged write survives a power cut.
  // NORMAL (DURABILITY=relaxed) fsyncs only at checkpoints: a power cut may lose the last commits,
  // never corrupt the database.
  await writer.exec('PRAGMA journal_mode = WAL');
  const synchronous = opts.durability === 'relaxed' ? 'NORMAL' : 'FULL';
  await writer.exec(
    `PRAGMA foreign_keys = ON; PRAGMA synchronous = ${synchronous}; PRAGMA wal_autocheckpoint = ${FALLBACK_PAGES}`,
  );
  const reader = SqliteConnection.open(file, { readonly: true, busyTimeoutMs: BUSY_TIMEOUT_MS });
  const thread = new DbThread(file, BUSY_TIMEOUT_MS);
  const scanner = new ScanReader(thread);
  // The database's version, read once per event-loop turn (below); our own commits drop it at once.
  let turnVersion: Promise<number> | undefined;
  const commits = new GroupCommit(writer, { stallMs: opts.stallMs, committed: () => (turnVersion = undefined) });
  const checkpointer = Checkpointer.start(thread, synchronous, () => commits.stats.commits);
  // SQL texts that turned out to write although they were sent as reads (an INSERT … RETURNING
  // through get()): they go to the writer from then on.
  const writes = new Set<string>();
  let closed = false;

  const read = async <T>(sql: string, params?: Params, opts?: ReadOptions): Promise<T[]> => {
    if (closed) throw new Error('the database is closed');
    if (!writes.has(sql)) {
      try {
        return await (opts?.scan ? scanner : reader).all<T>(sql, params);
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_READONLY') throw err;
        writes.add(sql);
      }
    }
    return commits.submit((tx) => tx.all<T>(sql, params));
  };

  return {
    dialect: 'sqlite',
    all: read,
    get: async <T>(sql: string, params?: Params, opts?: ReadOptions) => (await read<T>(sql, params, opts))[0],
    run: (sql, params) => {
      // Outside a transaction a write is a transaction of its own; inside one it would wait for the
      // transaction that is waiting for it, and submit() refuses it.
      if (closed) return Promise.reject(new Error('the database is closed'));
      return commits.submit((tx) => tx.run(sql, params));
    },
    tx: (fn, txOpts) => (closed ? Promise.reject(new Error('the database is closed')) : commits.submit(fn, txOpts)),
    // The reader's data_version changes with every commit of another connection: the writer's, or
    // another process's (a `npm run user`, another worker or instance on the same file). Reading it
    // costs a read transaction (two fcntl locks: ~15 µs of a small GET's ~100, measured), so the
    // requests handled in one event-loop turn share one reading. Our own commits drop it at once: a
    // write is seen by everything after it. Another process's commit is seen from the next turn on,
    // and a turn cannot wait while a reading is held: the pending setImmediate (ref'd: an unref'd
    // one would let the poll block) keeps libuv's poll from sleeping. Requests read in the same turn
    // as that commit were in flight together with it; either order is a correct answer to them.
    version: () => {
      if (closed) return Promise.reject(new Error('the database is closed'));
      if (!turnVersion) {
        const read = (turnVersion = reader.dataVersion());
        setImmediate(() => {
          if (turnVersion === read) turnVersion = undefined;
        });
      }
      return turnVersion;
    },
    stats: () => ({ ...commits.stats, statements: writer.statements + reader.statements + scanner.statements }),
    close: async () => {
      closed = true;
      await commits.idle();
      await checkpointer.close();
      await thread.close();
      reader.close();
      writer.close();
    },
  };
}
