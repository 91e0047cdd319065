/**
 * WAL checkpoints off the request path. By default SQLite checkpoints inside the COMMIT that takes
 * the WAL past 1,000 pages: that commit — some upload's or COPY's — then also copies the WAL into
 * the database file (and fsyncs it), which made every other COPY of a 1,000-file folder 10–15 ms
 * slower here, growing with the database. So the writer's automatic checkpoint is off and this
 * connection of its own runs a PASSIVE checkpoint (it never blocks the writer or the readers) once a
 * second after writes, on a pool thread. Should checkpoints fall behind — readers holding old
 * snapshots — a commit that finds the WAL past `FALLBACK_PAGES` checkpoints itself again, as SQLite
 * would have: the WAL never grows without bound.
 */
import sqlite3 from 'sqlite3';
import { SqliteConnection } from './connection.js';

const INTERVAL_MS = 1000;
/** The writer's own automatic checkpoint, kept as a backstop (SQLite's default is 1,000). */
export const FALLBACK_PAGES = 10_000;

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private checkpointed = 0;
  private running: Promise<void> | undefined;

  private constructor(
    private readonly conn: SqliteConnection,
    private readonly commits: () => number,
  ) {}

  static async start(file: string, synchronous: 'FULL' | 'NORMAL', commits: () => number): Promise<Checkpointer> {
    const conn = await SqliteConnection.open(file, sqlite3.OPEN_READWRITE, 10_000);
    // The checkpoint fsyncs the database file as the writer's setting asks (FULL and NORMAL both do).
    await conn.exec(`PRAGMA synchronous = ${synchronous}`);
    const c = new Checkpointer(conn, commits);
    c.timer = setInterval(() => c.tick(), INTERVAL_MS);
    c.timer.unref();
    return c;
  }

  private tick(): void {
    const commits = this.commits();
    if (this.running || commits === this.checkpointed) return;
    this.running = this.conn
      .exec('PRAGMA wal_checkpoint(PASSIVE)')
      .then(
        () => void (this.checkpointed = commits),
        () => undefined, // busy (another process checkpoints) or a transient error: the next tick tries again
      )
      .finally(() => (this.running = undefined));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.conn.close();
  }
}
