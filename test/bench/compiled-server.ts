/**
 * The benchmarks' server: the compiled dist/server/main.js (built if stale) in a child process,
 * NODE_ENV=production, on a free port and a temporary data dir, so its CPU and memory are not
 * mixed with the client's.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export interface CompiledServer {
  url: string;
  pid: number;
  dataDir: string;
  /** Prints the last lines of the server's log (after a failure) and keeps the file. */
  showLog(): void;
  /** Stops the server and removes its data dir (unless BENCH_KEEP) and log. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the compiled server. With `opts.dataDir` it runs on that existing data dir (e.g. to restart
 * on a store seeded meanwhile) and `stop()` leaves the dir to the caller.
 */
export async function startCompiledServer(
  env: Record<string, string>,
  opts: { dataDir?: string } = {},
): Promise<CompiledServer> {
  log('building the server and console if stale (scripts/ensure-build.mjs)');
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`the build failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serverLog = path.join(os.tmpdir(), `coffer-bench-server-${process.pid}-${port}.log`);
  const logFd = fs.openSync(serverLog, 'w');
  const server = spawn(process.execPath, ['dist/server/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', logFd, logFd],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      BCRYPT_COST: '12',
      JOBS_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  let exited = false;
  server.once('exit', () => (exited = true));
  const kill = () => {
    try {
      server.kill('SIGTERM');
    } catch {
      /* gone */
    }
  };
  const interrupted = () => process.exit(130);
  process.on('exit', kill);
  process.on('SIGINT', interrupted);
  let failed = false;
  const running: CompiledServer = {
    url,
    pid: server.pid!,
    dataDir,
    showLog() {
      failed = true;
      log(
        `server log kept in ${serverLog}; its last lines:\n${fs.readFileSync(serverLog, 'utf8').split('\n').slice(-15).join('\n')}`,
      );
    },
    async stop() {
      kill();
      if (!exited) await new Promise((r) => server.once('exit', r).once('error', r));
      process.off('exit', kill);
      process.off('SIGINT', interrupted);
      if (!failed) fs.rmSync(serverLog, { force: true });
      if (!ownsDataDir) return;
      if (!process.env.BENCH_KEEP) fs.rmSync(dataDir, { recursive: true, force: true });
      else log(`data kept in ${dataDir}`);
    },
  };
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 200) {
      running.showLog();
      await running.stop();
      throw new Error('the server did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return running;
}

/**
 * Runs a benchmark against a fresh compiled server: stops it afterwards, shows its log on failure,
 * and exits non-zero with `bench:<name> failed: …` when the benchmark throws.
 */
export function runBench(
  name: string,
  env: Record<string, string>,
  bench: (server: CompiledServer) => Promise<void>,
): void {
  const run = async () => {
    const server = await startCompiledServer(env);
    try {
      await bench(server);
    } catch (err) {
      server.showLog();
      throw err;
    } finally {
      await server.stop();
    }
  };
  run().catch((err: unknown) => {
    console.error(`bench:${name} failed:`, err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
