/**
 * The SQLite executor: node-sqlite3 connections used directly, statements prepared once per
 * connection. WAL lets readers work beside the writer, so reads outside a transaction go to their
 * own read-only connections (the least busy of them: two pool threads can read at once), and every
 * write goes through the one writer connection, whose transactions share COMMITs (group-commit.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import type { Db, OpenOptions, Params } from '../types.js';
import { SqliteConnection } from './connection.js';
import { Checkpointer, FALLBACK_PAGES } from './checkpointer.js';
import { GroupCommit, NESTED_TX } from './group-commit.js';

const BUSY_TIMEOUT_MS = 10_000;

export async function openSqlite(file: string, opts: OpenOptions): Promise<Db> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // FULLMUTEX as node-sqlite3's own default: several pool threads may step statements of one connection.
  const writer = await SqliteConnection.open(
    file,
    sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE | sqlite3.OPEN_FULLMUTEX,
    BUSY_TIMEOUT_MS,
  );
  // WAL is a property of the file (kept across opens); foreign_keys and synchronous are per connection.
  // synchronous=FULL fsyncs the WAL at every COMMIT: an acknowledged write survives a power cut.
  // NORMAL (DURABILITY=relaxed) fsyncs only at checkpoints: a power cut may lose the last commits,
  // never corrupt the database.
  await writer.exec('PRAGMA journal_mode = WAL');
  const synchronous = opts.durability === 'relaxed' ? 'NORMAL' : 'FULL';
  await writer.exec(
    `PRAGMA foreign_keys = ON; PRAGMA synchronous = ${synchronous}; PRAGMA wal_autocheckpoint = ${FALLBACK_PAGES}`,
  );
  const readers = await Promise.all(
    Array.from({ length: Math.max(1, opts.readers ?? 2) }, () =>
      SqliteConnection.open(file, sqlite3.OPEN_READONLY | sqlite3.OPEN_FULLMUTEX, BUSY_TIMEOUT_MS),
    ),
  );
  const commits = new GroupCommit(writer);
  const checkpointer = await Checkpointer.start(file, synchronous, () => commits.stats.commits);
  // SQL texts that turned out to write although they were sent as reads (an INSERT … RETURNING
  // through get()): they go to the writer from then on.
  const writes = new Set<string>();
  let closed = false;

  const reader = () => readers.reduce((best, r) => (r.pending < best.pending ? r : best));
  const read = async <T>(sql: string, params?: Params): Promise<T[]> => {
    if (closed) throw new Error('the database is closed');
    if (!writes.has(sql)) {
      try {
        return await reader().all<T>(sql, params);
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
    get: async <T>(sql: string, params?: Params) => (await read<T>(sql, params))[0],
    run: (sql, params) => {
      // Outside a transaction a write is a transaction of its own; inside one it would wait for the
      // transaction that is waiting for it.
      if (commits.inside) return Promise.reject(new Error(NESTED_TX));
      if (closed) return Promise.reject(new Error('the database is closed'));
      return commits.submit((tx) => tx.run(sql, params));
    },
    tx: (fn) => (closed ? Promise.reject(new Error('the database is closed')) : commits.submit(fn)),
    stats: () => ({ ...commits.stats, statements: [writer, ...readers].reduce((n, c) => n + c.statements, 0) }),
    close: async () => {
      closed = true;
      await commits.idle();
      await checkpointer.close();
      await Promise.all([writer, ...readers].map((c) => c.close()));
    },
  };
}
