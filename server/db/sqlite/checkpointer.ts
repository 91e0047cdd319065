/**
 * WAL checkpoints off the request path. By default SQLite checkpoints inside the COMMIT that takes
 * the WAL past 1,000 pages: that commit — some upload's or COPY's — then also copies the WAL into
 * the database file (and fsyncs it), which made every other COPY of a 1,000-file folder 10–15 ms
 * slower here, growing with the database. So the writer's automatic checkpoint is off and a worker
 * thread with a connection of its own runs a PASSIVE checkpoint (it never blocks the writer or the
 * readers) once a second after writes: the copy and its fsync never hold the event loop, on which
 * the other connections run their statements (connection.ts). Should checkpoints fall behind, a
 * commit that finds the WAL past `FALLBACK_PAGES` checkpoints itself again, as SQLite would have:
 * the WAL never grows without bound.
 *
 * The checkpoints run on the database thread (db-thread.ts).
 */
import type { DbThread } from './db-thread.js';

const INTERVAL_MS = 1000;
/** The writer's own automatic checkpoint, kept as a backstop (SQLite's default is 1,000). */
export const FALLBACK_PAGES = 10_000;

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private checkpointed = 0;
  private running: Promise<void> | undefined;

  private constructor(
    private readonly thread: DbThread,
    private readonly synchronous: 'FULL' | 'NORMAL',
    private readonly commits: () => number,
  ) {}

  /** The checkpoint fsyncs the database file as the writer's setting asks (FULL and NORMAL both do). */
  static start(thread: DbThread, synchronous: 'FULL' | 'NORMAL', commits: () => number): Checkpointer {
    const c = new Checkpointer(thread, synchronous, commits);
    c.timer = setInterval(() => c.tick(), INTERVAL_MS);
    c.timer.unref();
    return c;
  }

  private tick(): void {
    const commits = this.commits();
    if (this.running || commits === this.checkpointed) return;
    this.running = this.thread
      .request({ op: 'checkpoint', synchronous: this.synchronous })
      .then(
        () => void (this.checkpointed = commits),
        () => undefined, // busy (another process checkpoints), or the thread is gone: the writer's fallback bounds the WAL
      )
      .finally(() => (this.running = undefined));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
