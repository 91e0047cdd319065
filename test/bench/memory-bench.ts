/**
 * `npm run bench:memory`: the server's resident memory while it streams a 1 GiB WebDAV upload and a
 * 1 GiB download at the same time (DESIGN.md §8: under 100 MiB, without giving up throughput).
 * Runs the compiled server in a child process (production mode, with the node flags of `npm start`
 * unless BENCH_NODE_OPTIONS gives others, glibc's MALLOC_* variables passed through), samples VmRSS every 20 ms and reads VmHWM, and prints idle RSS, the peak,
 * and both transfer rates. BENCH_MIB changes the size (default 1024).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { log, startCompiledServer } from './compiled-server.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 1024);
const USER = 'alice';
const PASS = 'wonderland-42';
const auth = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');

function status(pid: number): { rss: number; hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** A body of `size` bytes from one random MiB repeated: cheap for the client, incompressible enough. */
function body(size: number): Readable {
  const block = randomBytes(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(MiB, size - sent);
      sent += n;
      this.push(n === MiB ? block : block.subarray(0, n));
    },
  });
}

function put(url: string, size: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'PUT', headers: { authorization: auth, 'content-length': size } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode! < 300
            ? resolve((performance.now() - started) / 1000)
            : reject(new Error(`PUT ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    body(size).pipe(req);
  });
}

function get(url: string): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: auth } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ seconds: (performance.now() - started) / 1000, bytes }));
      })
      .on('error', reject);
  });
}

/**
 * The node flags of package.json's `start` script (`node <flags> dist/server/main.js`): the goal is
 * about the server as users run it, and a bench without them measured a configuration nobody runs.
 */
function startFlags(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const flags = /^node\s+(.*?)\s*dist\/server\/main\.js$/.exec(pkg.scripts.start.trim());
  if (!flags)
    throw new Error(`package.json's start script is not "node <flags> dist/server/main.js": ${pkg.scripts.start}`);
  return flags[1]!;
}

async function main() {
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? startFlags();
  // glibc's malloc tunables (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, …) reach the server as given.
  const arenas = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'))) as Record<
    string,
    string
  >;
  const server = await startCompiledServer({
    ADMIN_PASSWORD: 'bench-admin-password',
    NODE_OPTIONS: nodeOptions,
    DEFAULT_QUOTA: '100GiB',
    ...arenas,
  });
  try {
    const admin = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const made = await fetch(`${server.url}/api/admin/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ username: USER, email: 'alice@bench.test', password: PASS }),
    });
    if (made.status !== 201) throw new Error(`create user: ${made.status} ${await made.text()}`);
    const size = SIZE_MIB * MiB;
    log(`seeding the file to download (${SIZE_MIB} MiB)`);
    await put(`${server.url}/dav/down.bin`, size);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = status(server.pid).rss;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, status(server.pid).rss)), 20);
    const [upSecs, down] = await Promise.all([
      put(`${server.url}/dav/up.bin`, size),
      get(`${server.url}/dav/down.bin`),
    ]);
    clearInterval(sampler);
    if (down.bytes !== size) throw new Error(`the download returned ${down.bytes} bytes`);
    const hwm = status(server.pid).hwm;
    const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
    console.log(
      `\nmemory benchmark: ${SIZE_MIB} MiB up and ${SIZE_MIB} MiB down at once over WebDAV (node options: ${nodeOptions || 'none'}${Object.entries(
        arenas,
      )
        .map(([k, v]) => `, ${k}=${v}`)
        .join('')})\n`,
    );
    console.log('| idle RSS | peak RSS (sampled) | VmHWM | upload | download |');
    console.log('|---:|---:|---:|---:|---:|');
    console.log(
      `| ${mib(idle)} | ${mib(peak)} | ${mib(hwm)} | ${(SIZE_MIB / upSecs).toFixed(0)} MiB/s | ${(SIZE_MIB / down.seconds).toFixed(0)} MiB/s |`,
    );
    console.log(`\ngoal: peak under 100 MiB — ${Math.max(peak, hwm) < 100 * MiB ? 'met' : 'NOT met'}`);
  } catch (err) {
    server.showLog();
    throw err;
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
