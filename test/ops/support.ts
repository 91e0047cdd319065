/** Helpers for the operations tests: build once, spawn the compiled server, wait for it, stop it. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm start`'s prestart step: compiles the server into dist/ when it is missing or stale. */
export function ensureBuild(): void {
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/ensure-build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `the server does not build (npm run build):\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
    );
  }
}

/** A minimal environment, so nothing from the developer's shell (ADMIN_PASSWORD, PORT…) leaks in. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  return { ...env, ...extra };
}

/** A server process's environment for tests: its data dir, a free port on loopback, cheap bcrypt, no jobs. */
export function serverEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    JOBS_ENABLED: 'false',
    ...extra,
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Waits until stdout contains the pattern; rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  /**
   * SIGTERM to the process (or to its whole group: npm does not pass signals on to the server it
   * started), then SIGKILL to the group after a grace period.
   */
  stop(opts?: { group?: boolean; graceMs?: number }): Promise<number | string>;
}

export function run(cmd: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  let done = false;
  void exited.then(() => (done = true));
  const signal = (sig: NodeJS.Signals, group: boolean) => {
    try {
      process.kill(group ? -child.pid! : child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (done) throw new Error(`process exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop({ group = false, graceMs = 10_000 } = {}) {
      if (done) return exited;
      signal('SIGTERM', group);
      const timer = setTimeout(() => signal('SIGKILL', true), graceMs);
      const code = await exited;
      clearTimeout(timer);
      signal('SIGKILL', true); // anything left in the group (a grandchild that ignored the signal)
      return code;
    },
  };
}

/** Polls GET url until it answers 200 or the deadline passes. */
export async function waitForHealth(url: string, ms = 30_000): Promise<Response> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status === 200) return res;
      last = res.status;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}/api/health did not answer 200 within ${ms} ms (last: ${String(last)})`);
}
