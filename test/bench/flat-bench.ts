/**
 * `npm run bench:flat` — does a small WebDAV request cost the same on a big store as on a small one?
 *
 * For each layout and size: through the API of a compiled server (test/bench/compiled-server.ts) on
 * a temp data dir, the users, and for the measured user a 4 KiB file `one.bin` (uploaded, so its blob
 * exists), a folder `Big` and a folder `Copy100`; that server stops and the files are seeded straight
 * into its database (test/bench/flat-seed.ts: `Big` gets 1,000 entries, `Copy100` 100, the rest
 * spread in folders of 10). Then one server per size runs on its seeded store, all at once, and the
 * sizes are measured in turn, FLAT_ROUNDS times (the order reversed every other round), over HTTP as
 * the measured user:
 *   PROPFIND Depth 0 and GET of one.bin with wrk -c8 (req/s, and the server's CPU per request from
 *   /proc), PROPFIND Depth 1 of Big (median of FLAT_RUNS, ms), COPY Depth infinity of Copy100 to a
 *   new name (median of FLAT_COPIES, ms, end to end).
 * Each figure is the median of the rounds: on a shared machine a busy minute otherwise lands on one
 * size only and reads as a cost of the data (one run here put the same store's PROPFIND rate at
 * 7,000 and 12,000 req/s). Layouts: `users` — the files across 100 users (FLAT_USERS), the measured
 * one among them; `one` — every file in the measured user's drive. Then one line per layout: largest
 * size / smallest, per figure. Goal (issue 10): within 20% — a rate at least 0.8×, a time at most 1.2×.
 *
 * Env: FLAT_SIZES (10000,1000000), FLAT_LAYOUTS (users,one), FLAT_USERS (100), FLAT_ROUNDS (3),
 *      FLAT_WRK_SECS (5), FLAT_RUNS (20), FLAT_COPIES (5), COFFER_ENV ("VAR=value ..." for the
 *      servers), BENCH_KEEP=1.
 * Needs wrk (Debian package).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log, startCompiledServer, type CompiledServer } from './compiled-server.js';
import { seedFlat } from './flat-seed.js';
import { median } from './stats.js';
import { haveWrk, runWrk } from './wrk.js';

const SIZES = (process.env.FLAT_SIZES ?? '10000,1000000').split(',').map(Number);
const LAYOUTS = (process.env.FLAT_LAYOUTS ?? 'users,one').split(',') as Layout[];
const USERS = Number(process.env.FLAT_USERS ?? 100);
const ROUNDS = Number(process.env.FLAT_ROUNDS ?? 3);
const WRK_SECS = Number(process.env.FLAT_WRK_SECS ?? 5);
const RUNS = Number(process.env.FLAT_RUNS ?? 20);
const COPIES = Number(process.env.FLAT_COPIES ?? 5);
const ADMIN_PASSWORD = 'bench-admin-password';
const PASSWORD = 'flat-bench-password-42';
/** The measured user's password once the measuring server has re-hashed it at its own bcrypt cost. */
const MEASURED_PASSWORD = 'flat-bench-measured-42';
const PROPFIND_ALLPROP = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

type Layout = 'users' | 'one';
interface Figures {
  propfind0Rps: number;
  propfind0CpuUs: number;
  getRps: number;
  getCpuUs: number;
  propfind1Ms: number;
  copyMs: number;
}
const COLUMNS: [keyof Figures, string, boolean][] = [
  ['propfind0Rps', 'PROPFIND D0 c=8 (req/s)', true],
  ['getRps', 'GET 4 KiB c=8 (req/s)', true],
  ['propfind0CpuUs', 'CPU / PROPFIND D0 (µs)', false],
  ['getCpuUs', 'CPU / GET (µs)', false],
  ['propfind1Ms', 'PROPFIND D1, 1,000 entries (ms)', false],
  ['copyMs', 'COPY 100-file folder (ms)', false],
];

function serverEnv(): Record<string, string> {
  const env: Record<string, string> = { ADMIN_PASSWORD, LOGIN_MAX_FAILURES_PER_IP: '1000000' };
  for (const kv of (process.env.COFFER_ENV ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(kv);
    if (!m) throw new Error(`COFFER_ENV: '${kv}' is not VAR=value`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

async function call(url: string, method: string, token: string | null, body?: unknown, raw?: Buffer) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url, {
    method,
    headers,
    body: raw ? new Uint8Array(raw) : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url} → ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as any;
}

/** Through the API: the users, and the measured user's templates. */
async function prepare(server: CompiledServer, layout: Layout) {
  const api = (p: string) => `${server.url}/api${p}`;
  const admin = (await call(api('/auth/login'), 'POST', null, { username: 'admin', password: ADMIN_PASSWORD })).token;
  const names = Array.from({ length: layout === 'users' ? USERS : 1 }, (_, i) => `flat${String(i).padStart(3, '0')}`);
  const ids: string[] = new Array(names.length);
  let next = 0;
  // bcrypt runs off the event loop: a few creations at once use both cores.
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const u = await call(api('/admin/users'), 'POST', admin, {
        username: names[i],
        email: `${names[i]}@example.test`,
        password: PASSWORD,
        quotaBytes: 2 ** 50,
      });
      ids[i] = u.user.id as string;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const session = await call(api('/auth/login'), 'POST', null, { username: names[0], password: PASSWORD });
  const root = session.user.rootId as string;
  const content = randomBytes(4096);
  const file = await call(api(`/folders/${root}/files/one.bin`), 'PUT', session.token, undefined, content);
  const big = await call(api('/folders'), 'POST', session.token, { parentId: root, name: 'Big' });
  const copy = await call(api('/folders'), 'POST', session.token, { parentId: root, name: 'Copy100' });
  const id = (n: any) => (n.node ?? n).id as string;
  return { owners: ids, user: names[0]!, content, fileId: id(file), bigId: id(big), copyId: id(copy) };
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

/** The measured user's WebDAV on one server. */
interface DavSession {
  server: CompiledServer;
  dav: string;
  auth: string;
  req: (method: string, url: string, headers?: Record<string, string>, body?: string) => Promise<Buffer>;
  propfind: (url: string, depth: string) => Promise<Buffer>;
}

const entries = (xml: Buffer) => (xml.toString('utf8').match(/<([A-Za-z][\w.-]*:)?response[\s>]/g) ?? []).length;

/** Logs the measured user in on a seeded server (its password re-hashed there) and checks the store. */
async function session(server: CompiledServer, user: string, content: Buffer): Promise<DavSession> {
  const api = (p: string) => `${server.url}/api${p}`;
  const { token } = await call(api('/auth/login'), 'POST', null, { username: user, password: PASSWORD });
  await call(api('/auth/password'), 'POST', token, { currentPassword: PASSWORD, newPassword: MEASURED_PASSWORD });
  const dav = `${server.url}/dav`;
  const auth = 'Basic ' + Buffer.from(`${user}:${MEASURED_PASSWORD}`).toString('base64');
  const req = async (method: string, url: string, headers: Record<string, string> = {}, body?: string) => {
    const r = await fetch(url, { method, headers: { authorization: auth, ...headers }, body });
    const buf = Buffer.from(await r.arrayBuffer());
    if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${buf.toString('utf8', 0, 300)}`);
    return buf;
  };
  const propfind = (url: string, depth: string) =>
    req('PROPFIND', url, { depth, 'content-type': 'application/xml' }, PROPFIND_ALLPROP);

  // Checks first: the seeded store answers, and the file is the uploaded one.
  if (!(await req('GET', `${dav}/one.bin`)).equals(content)) throw new Error('GET one.bin: not the uploaded bytes');
  if (!(await propfind(`${dav}/one.bin`, '0')).includes('getcontentlength'))
    throw new Error('PROPFIND one.bin: no size');
  const listed = entries(await propfind(`${dav}/Big/`, '1'));
  if (listed !== 1001) throw new Error(`PROPFIND Depth 1 of Big listed ${listed} entries, expected 1,001`);

  return { server, dav, auth, req, propfind };
}

async function measure({ server, dav, auth, req, propfind }: DavSession): Promise<Figures> {
  const wrk = (method: string, headers: Record<string, string>, body?: string) => {
    const c0 = cpuSeconds(server.pid);
    const r = runWrk({
      url: `${dav}/one.bin`,
      method,
      headers: { Authorization: auth, ...headers },
      body,
      secs: WRK_SECS,
    });
    return { rps: r.rps, cpuUs: (1e6 * (cpuSeconds(server.pid) - c0)) / (r.rps * WRK_SECS) };
  };
  log(`  wrk PROPFIND Depth 0, c=8, ${WRK_SECS} s`);
  const pf0 = wrk('PROPFIND', { Depth: '0', 'Content-Type': 'application/xml' }, PROPFIND_ALLPROP);
  log(`  wrk GET 4 KiB, c=8, ${WRK_SECS} s`);
  const get = wrk('GET', {});

  log(`  PROPFIND Depth 1 of the 1,000-entry folder ×${RUNS}, COPY of the 100-file folder ×${COPIES}`);
  const d1: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await propfind(`${dav}/Big/`, '1');
    d1.push(performance.now() - t0);
  }
  const copies: number[] = [];
  for (let i = 0; i < COPIES; i++) {
    const t0 = performance.now();
    await req('COPY', `${dav}/Copy100/`, { destination: `${dav}/copy-${i}/`, depth: 'infinity', overwrite: 'F' });
    copies.push(performance.now() - t0);
  }
  const copied = entries(await propfind(`${dav}/copy-0/`, '1'));
  if (copied !== 101) throw new Error(`the COPY of Copy100 lists ${copied} entries, expected 101`);
  for (let i = 0; i < COPIES; i++) await req('DELETE', `${dav}/copy-${i}/`);
  return {
    propfind0Rps: pf0.rps,
    propfind0CpuUs: pf0.cpuUs,
    getRps: get.rps,
    getCpuUs: get.cpuUs,
    propfind1Ms: median(d1),
    copyMs: median(copies),
  };
}

interface Store {
  size: number;
  dataDir: string;
  user: string;
  content: Buffer;
  seedSeconds: number;
}

/** A data dir holding the users and templates (made through the API) and `size` files seeded straight into its database. */
async function seed(layout: Layout, size: number): Promise<Store> {
  const what = `${label(layout)}, ${size.toLocaleString('en')} files`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-flat-'));
  try {
    log(`${what}: the users and the templates, through the API`);
    const t0 = performance.now();
    // The users are made at bcrypt cost 4 (100 hashes at cost 12 take a minute here); the measured
    // user's password is changed on the measuring server, so its hash has that server's cost.
    const server = await startCompiledServer({ ...serverEnv(), BCRYPT_COST: '4' }, { dataDir });
    let prep;
    try {
      prep = await prepare(server, layout);
    } catch (err) {
      server.showLog();
      throw err;
    } finally {
      await server.stop();
    }
    log(`${what}: API part done in ${((performance.now() - t0) / 1000).toFixed(1)} s; seeding the database`);
    const seeded = await seedFlat({
      dbFile: path.join(dataDir, 'coffer.sqlite'),
      owners: prep.owners,
      files: size,
      folderTemplate: prep.bigId,
      fileTemplate: prep.fileId,
      fill: { [prep.bigId]: 1000, [prep.copyId]: 100 },
    });
    log(`${what}: ${seeded.rows.toLocaleString('en')} rows in ${seeded.seconds.toFixed(1)} s`);
    return { size, dataDir, user: prep.user, content: prep.content, seedSeconds: seeded.seconds };
  } catch (err) {
    if (process.env.BENCH_KEEP) log(`data kept in ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Every size of one layout on a server of its own, measured in turn ROUNDS times; medians per size. */
async function layoutFigures(layout: Layout): Promise<{ size: number; f: Figures & { seedSeconds: number } }[]> {
  const stores: Store[] = [];
  const servers: CompiledServer[] = [];
  try {
    for (const size of SIZES) stores.push(await seed(layout, size));
    const sessions: DavSession[] = [];
    for (const store of stores) {
      const server = await startCompiledServer(serverEnv(), { dataDir: store.dataDir });
      servers.push(server);
      sessions.push(await session(server, store.user, store.content));
    }
    const rounds: Figures[][] = stores.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = stores.map((_, i) => i);
      if (round % 2) order.reverse();
      for (const i of order) {
        log(`${label(layout)}, ${stores[i]!.size.toLocaleString('en')} files: round ${round + 1}/${ROUNDS}`);
        rounds[i]!.push(await measure(sessions[i]!));
      }
    }
    return stores.map((store, i) => {
      const f = {} as Figures;
      for (const [k] of COLUMNS) f[k] = median(rounds[i]!.map((r) => r[k]));
      return { size: store.size, f: { ...f, seedSeconds: store.seedSeconds } };
    });
  } catch (err) {
    for (const server of servers) server.showLog();
    throw err;
  } finally {
    for (const server of servers) await server.stop();
    for (const store of stores)
      if (process.env.BENCH_KEEP) log(`data kept in ${store.dataDir}`);
      else fs.rmSync(store.dataDir, { recursive: true, force: true });
  }
}

const label = (l: Layout) => (l === 'users' ? `${USERS} users` : 'one user');
const fmt = (x: number) => (x >= 100 ? String(Math.round(x)) : x.toFixed(1));

async function main() {
  if (!haveWrk()) throw new Error('wrk is not installed (Debian package wrk): it drives the c=8 phases');
  const results: { layout: Layout; size: number; f: Figures & { seedSeconds: number } }[] = [];
  for (const layout of LAYOUTS) {
    if (layout !== 'users' && layout !== 'one') throw new Error(`FLAT_LAYOUTS: unknown layout ${layout}`);
    for (const r of await layoutFigures(layout)) results.push({ layout, ...r });
  }
  const head = ['layout', 'files', 'seeded in (s)', ...COLUMNS.map(([, t]) => t)];
  const rows = [head, head.map((_, i) => (i < 2 ? '---' : '---:'))];
  for (const r of results)
    rows.push([
      label(r.layout),
      r.size.toLocaleString('en'),
      r.f.seedSeconds.toFixed(1),
      ...COLUMNS.map(([k]) => fmt(r.f[k])),
    ]);
  const lo = Math.min(...SIZES);
  const hi = Math.max(...SIZES);
  const short = (n: number) =>
    n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n);
  const verdicts: string[] = [];
  if (hi > lo)
    for (const layout of LAYOUTS) {
      const a = results.find((r) => r.layout === layout && r.size === lo)!.f;
      const b = results.find((r) => r.layout === layout && r.size === hi)!.f;
      rows.push([
        `**${label(layout)}: ${short(hi)} / ${short(lo)}**`,
        '',
        '',
        ...COLUMNS.map(([k, title, hib]) => {
          const q = b[k] / a[k];
          const ok = hib ? q >= 0.8 : q <= 1.2;
          if (!ok) verdicts.push(`${label(layout)}: ${title} ${q.toFixed(2)}`);
          return `${q.toFixed(2)} ${ok ? '✓' : '✗'}`;
        }),
      ]);
    }
  console.log(
    `\nflat benchmark: WebDAV as user flat000 over HTTP, seeded store of each size, the sizes' servers side by side;` +
      ` medians of ${ROUNDS} rounds (c=8 phases ${WRK_SECS} s with wrk; in each round the median of ${RUNS}` +
      ` PROPFIND Depth 1 and of ${COPIES} COPYs)\n`,
  );
  console.log(rows.map((r, i) => (i === 1 ? `|${r.join('|')}|` : `| ${r.join(' | ')} |`)).join('\n'));
  if (hi > lo)
    console.log(
      `\ngoal: ${short(hi)} within 20% of ${short(lo)} (a rate ≥ 0.80×, a time or CPU ≤ 1.20×): ` +
        (verdicts.length ? `NOT MET — ${verdicts.join('; ')}` : 'met in every column'),
    );
}

main().catch((err: unknown) => {
  console.error('bench:flat failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
