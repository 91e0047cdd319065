/**
 * The one worker thread that does the database work which must not hold the event loop: reads
 * marked SCAN (scan-reader.ts) and the WAL checkpoints (checkpointer.ts). One thread for both,
 * started on first use: each thread is a V8 instance of its own (~8 MiB resident), and a process
 * that never scans and never writes needs none. A checkpoint due during a long scan waits for it
 * (the writer's fallback checkpoint still bounds the WAL).
 *
 * It uses the process's one better-sqlite3, hence one copy of SQLite: two copies in one process
 * would not see each other's POSIX locks (https://sqlite.org/howtocorrupt.html, section 2.2.1).
 * Values cross the thread boundary by structured clone, which turns a Buffer into a plain
 * Uint8Array: both sides turn them back.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// CommonJS, evaluated in the worker. Its connections open on first use: a read-only one for scans
// (statements prepared once per text), a read-write one for checkpoints.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let reader, writer;
const cache = new Map();
const buffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);
function scan(text, values) {
  reader ??= new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
  let stmt = cache.get(text);
  if (!stmt) {
    stmt = reader.prepare(text);
    cache.set(text, stmt);
    if (cache.size > 64) cache.delete(cache.keys().next().value);
  }
  return stmt.all(values.map(buffer));
}
function checkpoint(synchronous) {
  if (!writer) {
    writer = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
    writer.pragma('synchronous = ' + synchronous);
  }
  writer.pragma('wal_checkpoint(PASSIVE)');
  return true;
}
parentPort.on('message', (m) => {
  if (m.op === 'close') {
    reader?.close();
    writer?.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, result: m.op === 'scan' ? scan(m.text, m.values) : checkpoint(m.synchronous) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: String(err && err.message), code: err && err.code } });
  }
});
`;

export type DbThreadRequest =
  { op: 'scan'; text: string; values: unknown[] } | { op: 'checkpoint'; synchronous: 'FULL' | 'NORMAL' };

interface Answer {
  id: number;
  result?: unknown;
  error?: { message: string; code?: string };
}

export class DbThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private next = 1;
  private ended: Error | undefined;

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {}

  /** The worker's answer; rejects with its error (message and SQLite code). */
  async request(req: DbThreadRequest): Promise<unknown> {
    if (this.ended) throw this.ended;
    const worker = (this.worker ??= this.start());
    const id = this.next++;
    if (this.waiting.size === 0) worker.ref(); // keeps the process up while an answer is due
    const answer = await new Promise<Answer>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, ...req });
    });
    if (this.waiting.size === 0) this.worker?.unref();
    if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    return answer.result;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.ended ??= new Error('the database is closed');
    if (!worker) return;
    worker.ref();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ op: 'close' });
    await exited;
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { driver, file: this.file, busyTimeoutMs: this.busyTimeoutMs },
    });
    worker.unref();
    worker.on('message', (a: Answer) => {
      this.waiting.get(a.id)?.(a);
      this.waiting.delete(a.id);
    });
    const fail = (err: Error) => {
      this.ended ??= err;
      for (const resolve of this.waiting.values()) resolve({ id: 0, error: { message: err.message } });
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the database thread has ended')));
    return worker;
  }
}
