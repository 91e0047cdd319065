/**
 * bcryptjs on a small pool of worker threads. bcryptjs is pure JavaScript: on the main thread even
 * its async API blocks the event loop in ~100 ms slices, so a burst of sign-ins would delay every
 * other request (health checks, downloads, WebDAV). Here each hash or compare runs whole on a
 * worker; the main thread only passes messages.
 *
 * The worker is an `eval` script that `require()`s bcryptjs by absolute path (its CommonJS entry),
 * so the same code runs under tsx (tests) and compiled in dist/ without a separate worker file.
 * Workers start on first use, hold the process open only while they have work, end after
 * IDLE_MS without any (each holds a V8 isolate, ~15 MiB of resident memory, for sign-ins that come
 * a few times a day) and on close().
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', (task) => {
  try {
    const result = task.op === 'hash' ? bcrypt.hashSync(task.secret, task.cost) : bcrypt.compareSync(task.secret, task.hash);
    parentPort.postMessage({ id: task.id, result });
  } catch (err) {
    parentPort.postMessage({ id: task.id, error: String((err && err.message) || err) });
  }
});
`;

type Task =
  | { id: number; op: 'hash'; secret: string; cost: number }
  | { id: number; op: 'compare'; secret: string; hash: string };

interface Pending {
  task: Task;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
  idle?: NodeJS.Timeout;
}

const IDLE_MS = 30_000;

/**
 * Default size: one worker per core, keeping one core for the event loop, at most 2 — sign-ins
 * are rare, and a throttled burst reaches bcrypt only LOGIN_MAX_FAILURES times per account.
 */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(2, os.availableParallelism() - 1));
}

export class BcryptPool {
  private readonly bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly cost: number,
    private readonly size = defaultPoolSize(),
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Workers alive now (they end after idleMs without work). */
  get workers(): number {
    return this.slots.length;
  }

  hash(secret: string): Promise<string> {
    return this.submit({ id: this.nextId++, op: 'hash', secret, cost: this.cost }) as Promise<string>;
  }

  compare(secret: string, hash: string): Promise<boolean> {
    return this.submit({ id: this.nextId++, op: 'compare', secret, hash }) as Promise<boolean>;
  }

  /** Ends every worker; queued and running work is refused. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('The password hasher has shut down');
    for (const p of this.queue.splice(0)) p.reject(gone);
    await Promise.all(
      this.slots.splice(0).map((s) => {
        clearTimeout(s.idle);
        s.busy?.reject(gone);
        return s.worker.terminate();
      }),
    );
  }

  private submit(task: Task): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('The password hasher has shut down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => !s.busy) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const job = this.queue.shift()!;
      clearTimeout(slot.idle);
      slot.busy = job;
      slot.worker.ref();
      slot.worker.postMessage(job.task);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath: this.bcryptPath } });
    const slot: Slot = { worker, busy: undefined };
    worker.unref();
    worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const job = slot.busy;
      if (!job || job.task.id !== msg.id) return;
      slot.busy = undefined;
      worker.unref();
      if (msg.error !== undefined) job.reject(new Error(`bcrypt ${job.task.op} failed: ${msg.error}`));
      else job.resolve(msg.result);
      this.dispatch();
      if (!slot.busy) slot.idle = setTimeout(() => this.retireIdle(slot), this.idleMs).unref();
    });
    // A worker that dies takes only its own task with it; the next task starts a fresh one.
    const retire = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      slot.busy?.reject(err);
      slot.busy = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', retire);
    worker.on('exit', (code) => retire(new Error(`bcrypt worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private retireIdle(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (slot.busy || i < 0) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
  }
}
