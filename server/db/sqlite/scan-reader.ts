/**
 * Reads whose cost grows with the data — the administrator's totals over every node, a short search
 * term's LIKE over a drive's names, the collector's and fsck's sweeps (marked `SCAN` by their
 * repositories) — on a read-only connection in a worker thread. Every other statement runs on the
 * event loop (connection.ts), where a read of a million rows would hold every other request for
 * its whole duration; here it holds only this thread.
 *
 * Values cross the thread boundary by structured clone, which turns a Buffer into a plain
 * Uint8Array: both sides turn them back. The worker uses the process's one better-sqlite3 (see
 * checkpointer.ts on two copies of SQLite).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Params } from '../types.js';
import { normalized, positionalValues } from './connection.js';

// CommonJS, evaluated in the worker: one read-only connection, statements prepared once per text.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
const cache = new Map();
const buffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);
parentPort.on('message', ({ id, text, values }) => {
  if (id === 0) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    let stmt = cache.get(text);
    if (!stmt) {
      stmt = db.prepare(text);
      cache.set(text, stmt);
      if (cache.size > 64) cache.delete(cache.keys().next().value);
    }
    parentPort.postMessage({ id, rows: stmt.all(values.map(buffer)) });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
  }
});
`;

interface Answer {
  id: number;
  rows?: Record<string, unknown>[];
  error?: { message: string; code?: string };
}

export class ScanReader {
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void }>();
  private next = 1;
  private failure: Error | undefined;
  /** Statements run since opening. */
  statements = 0;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (a: Answer) => {
      this.waiting.get(a.id)?.resolve(a);
      this.waiting.delete(a.id);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.values()) w.resolve({ id: 0, error: { message: err.message } });
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the database scan thread has ended')));
  }

  static open(file: string, busyTimeoutMs: number): ScanReader {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, { eval: true, workerData: { driver, file, busyTimeoutMs } });
    worker.unref(); // referenced only while a read is under way (below)
    return new ScanReader(worker);
  }

  async all<T>(sql: string, params?: Params): Promise<T[]> {
    if (this.failure) throw this.failure;
    const { text, values } = positionalValues(sql, params);
    const id = this.next++;
    this.statements++;
    if (this.waiting.size === 0) this.worker.ref();
    const answer = await new Promise<Answer>((resolve) => {
      this.waiting.set(id, { resolve });
      this.worker.postMessage({ id, text, values });
    });
    if (this.waiting.size === 0) this.worker.unref();
    if (answer.error)
      throw normalized(Object.assign(new Error(answer.error.message), { code: answer.error.code }), sql);
    for (const row of answer.rows!) {
      for (const k in row) {
        const v = row[k];
        if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      }
    }
    return answer.rows as T[];
  }

  async close(): Promise<void> {
    if (this.failure) return;
    this.worker.ref();
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ id: 0 });
    await exited;
  }
}
