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
 * The worker uses the same better-sqlite3 (the same SQLite library) as the rest of the process:
 * two copies of SQLite in one process would not see each other's POSIX locks
 * (https://sqlite.org/howtocorrupt.html, section 2.2.1).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const INTERVAL_MS = 1000;
/** The writer's own automatic checkpoint, kept as a backstop (SQLite's default is 1,000). */
export const FALLBACK_PAGES = 10_000;

// CommonJS, evaluated in the worker: it opens its connection, then runs one checkpoint per message.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 10000 });
db.pragma('synchronous = ' + workerData.synchronous);
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage(true);
  } catch {
    parentPort.postMessage(false); // busy (another process checkpoints) or transient: the next tick tries again
  }
});
`;

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private checkpointed = 0;
  private running: Promise<boolean> | undefined;
  private answer: ((ok: boolean) => void) | undefined;
  /** The worker ended (closed, or failed to open its connection): no more checkpoints from here. */
  private ended = false;

  private constructor(
    private readonly worker: Worker,
    private readonly commits: () => number,
  ) {
    worker.on('message', (ok: boolean) => this.answer?.(ok));
    const end = () => {
      this.ended = true;
      this.answer?.(false);
    };
    worker.on('error', end); // the writer's fallback checkpoint still bounds the WAL
    worker.on('exit', end);
  }

  static start(file: string, synchronous: 'FULL' | 'NORMAL', commits: () => number): Checkpointer {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // The checkpoint fsyncs the database file as the writer's setting asks (FULL and NORMAL both do).
    const worker = new Worker(WORKER, { eval: true, workerData: { driver, file, synchronous } });
    worker.unref(); // a process that forgets close() still exits
    const c = new Checkpointer(worker, commits);
    c.timer = setInterval(() => c.tick(), INTERVAL_MS);
    c.timer.unref();
    return c;
  }

  private tick(): void {
    const commits = this.commits();
    if (this.ended || this.running || commits === this.checkpointed) return;
    this.running = new Promise<boolean>((resolve) => {
      this.answer = resolve;
      this.worker.postMessage('checkpoint');
    });
    void this.running.then((ok) => {
      if (ok) this.checkpointed = commits;
      this.answer = undefined;
      this.running = undefined;
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.ended) return;
    this.worker.ref(); // an unreferenced worker's exit would not keep the process waiting for it
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await exited;
  }
}
