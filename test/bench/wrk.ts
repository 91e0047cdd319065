/**
 * wrk (the Debian package) for a benchmark's fixed-concurrency phases: a client lighter than Node's,
 * so that on a small machine the figures are the server's. Every answer must be 2xx/3xx and no
 * socket may fail, as the shared davbench.sh demands.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
}

export function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `wrk --version` exits 1 after printing its version; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const toMs = (v: string): number => {
  const n = parseFloat(v);
  return v.endsWith('us') ? n / 1000 : v.endsWith('ms') ? n : v.endsWith('s') ? n * 1000 : n;
};
const lua = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal here (ASCII)

export function runWrk(opts: {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  secs: number;
  connections?: number;
}): WrkResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-wrk-'));
  try {
    const script = path.join(dir, 'req.lua');
    const lines = [`wrk.method = ${lua(opts.method)}`];
    for (const [k, v] of Object.entries(opts.headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
    if (opts.body !== undefined) lines.push(`wrk.body = ${lua(opts.body)}`);
    fs.writeFileSync(script, lines.join('\n') + '\n');
    const c = opts.connections ?? 8;
    const out = execFileSync(
      'wrk',
      [`-t${Math.min(2, c)}`, `-c${c}`, `-d${opts.secs}s`, '--latency', '-s', script, opts.url],
      { encoding: 'utf8' },
    );
    const fail = /Non-2xx or 3xx responses: \d+|Socket errors:.*/.exec(out);
    if (fail) throw new Error(`wrk ${opts.method} ${opts.url}: ${fail[0]}`);
    const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
    const p50 = /^\s+50%\s+(\S+)/m.exec(out);
    const p99 = /^\s+99%\s+(\S+)/m.exec(out);
    if (!rps || !p50 || !p99) throw new Error(`wrk ${opts.method} ${opts.url}: unexpected output:\n${out}`);
    return { rps: Number(rps[1]), p50ms: toMs(p50[1]!), p99ms: toMs(p99[1]!) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
