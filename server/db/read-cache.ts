/**
 * Results of a hot read kept while the database is unchanged: an entry is good only under the
 * database version it was read at (Db.version: SQLite's data_version, which every commit of any
 * connection or process changes), and the first read that finds a newer version drops them all.
 * So a cached answer is always the one the query would give now — a password change, a disable, an
 * upload or a lock committed by this process is seen by the very next request, one committed by
 * another process (a CLI, another worker) from the next event-loop turn — and checking that costs a
 * read of the WAL index once per turn, not the query.
 *
 * Only what depends on nothing but the database may be cached (no `now` in the query: a result that
 * expires with time carries the time and the caller compares). Engines without a version
 * (PostgreSQL) cache nothing. Bounded in entries and in the bytes of the Buffers values hold.
 */
import type { Db, Q } from './types.js';

const MAX_ENTRIES = 2048;
/** Inline file contents ride in some values (a small GET's bytes): at most this many bytes of them. */
const MAX_BYTES = 4 * 1024 * 1024;

interface Entry<V> {
  /** The read, shared by the requests that ask for the same key while it runs. */
  value: Promise<V>;
  bytes: number;
}

class Cache<V> {
  private version = -1;
  private readonly entries = new Map<string, Entry<V>>();
  private bytes = 0;

  /** The read under `key` made at version `now`, dropping everything first when the version moved. */
  get(key: string, now: number): Promise<V> | undefined {
    if (now !== this.version) {
      this.entries.clear();
      this.bytes = 0;
      this.version = now;
      return undefined;
    }
    return this.entries.get(key)?.value;
  }

  /** Keeps `read`, made at `version`, once it succeeds (a failed read is not kept). */
  set(key: string, version: number, read: Promise<V>, bytes: (value: V) => number): void {
    // Read at an older version than the cache's: keeping it could keep a stale answer.
    if (version !== this.version) return;
    const entry: Entry<V> = { value: read, bytes: 0 };
    this.entries.set(key, entry);
    read.then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = bytes(value);
        this.bytes += entry.bytes;
        this.trim();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    this.trim();
  }

  private trim(): void {
    while (this.entries.size > MAX_ENTRIES || this.bytes > MAX_BYTES) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry<V>];
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }
}

/**
 * `read` memoized per database and key while the database is unchanged; requests that ask for the
 * same key while it is being read share that one read. `copy` gives each caller a value of its own
 * (callers may complete the objects they get); `bytes` says how many bytes of Buffers a value holds.
 * Inside a transaction, or on an engine without a version, `read` runs as is.
 */
export function readCache<A, V>(opts: {
  key: (args: A) => string;
  read: (q: Q, args: A) => Promise<V>;
  copy: (value: V) => V;
  bytes: (value: V) => number;
}): (q: Q, args: A) => Promise<V> {
  const caches = new WeakMap<Db, Cache<V>>();
  return async (q, args) => {
    const db = q as Partial<Db>;
    if (!db.version) return opts.read(q, args);
    let cache = caches.get(db as Db);
    if (!cache) caches.set(db as Db, (cache = new Cache<V>()));
    // The version is read before the query: a commit between them makes the entry older than the
    // next version seen, never newer than the data it holds.
    const version = await db.version();
    const key = opts.key(args);
    let read = cache.get(key, version);
    if (!read) cache.set(key, version, (read = opts.read(q, args)), opts.bytes);
    return opts.copy(await read);
  };
}
