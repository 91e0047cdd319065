/**
 * WORKERS=N: N processes serve the one port (node:cluster; the primary accepts connections and
 * hands them round-robin to the workers). A single Node process runs JavaScript on one core, and a
 * small WebDAV request is CPU-bound in JavaScript; workers use the machine's other cores.
 *
 * What they share is on disk, as for instances on several machines: the database (SQLite in WAL
 * mode is safe for several processes of one machine: readers beside one writer at a time, each
 * process waiting its turn for the write lock), the blob store, the token secret, locks, throttle
 * counters and sessions. Background jobs run once per run across them (domain/job-runs.ts). What
 * stays per process: the WebDAV credential cache (each worker checks a credential once), the
 * live-update stream cap and the uploads-in-flight reservation (the quota itself is one
 * conditional UPDATE in the database, so it holds across workers).
 *
 * The primary prepares the data directory first (migrations, the token secret, the first admin) so
 * that workers starting at once never race for them, then restarts a worker that dies, with a
 * growing delay, as pm2 would.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Config } from '../config/index.js';
import { createApp, printFirstAdminPassword } from './app.js';
import { printReachableUrls } from './addresses.js';
import type { Log } from './log.js';
import { answerScrapes } from './metrics.js';

interface Listening {
  kind: 'coffer:listening';
  url: string;
}

const isListening = (m: unknown): m is Listening => (m as Listening | null)?.kind === 'coffer:listening';

/** In a worker: tells the primary where it listens (the primary logs the address once). */
export function announceListening(url: string): void {
  process.send?.({ kind: 'coffer:listening', url } satisfies Listening);
}

export function workerCount(config: Config): number {
  return config.workers === 0 ? os.availableParallelism() : config.workers;
}

/** Runs the primary: prepares the data directory, forks the workers, keeps them running, stops them on SIGTERM. */
export async function runPrimary(config: Config, log: Log): Promise<void> {
  const count = workerCount(config);
  // Opened as a server would, without listening and without jobs, then closed.
  const setup = await createApp({ ...config, jobsEnabled: false }, { log });
  const firstAdminPassword = setup.firstAdminPassword;
  await setup.close();
  printFirstAdminPassword(firstAdminPassword);

  let stopping = false;
  let announced = false;
  const restarts: number[] = [];
  const fork = (): Worker => {
    const worker = cluster.fork();
    answerScrapes(worker);
    worker.on('message', (m: unknown) => {
      if (!isListening(m) || announced) return;
      announced = true;
      log.info({ url: m.url, dataDir: config.dataDir, workers: count }, 'Coffer is listening');
      printReachableUrls(config, m.url);
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    // 0.2 s, 0.4 s, … up to 15 s while workers keep dying within a minute of each other.
    const delay = Math.min(15_000, 200 * 2 ** (restarts.length - 1));
    log.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });
  for (let i = 0; i < count; i++) fork();

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    // Each worker closes its server and database on SIGTERM (main.ts), as a single process does.
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      w.process.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
