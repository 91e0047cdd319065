/**
 * `npm run bench:api` — the JSON API measured the way a person uses it, beside the seed report.
 *
 * The server runs as a separate process (the compiled dist/server/main.js, NODE_ENV=production,
 * BCRYPT_COST 12 as in production) on a temp data dir, so its memory can be read from
 * /proc/<pid>/status without the client's buffers in it. The data set is seeded through the API:
 * 10,000 small files in 1,000 folders (10 top folders × 99 subfolders, 10 files each) plus one
 * folder holding 1,000 files. Each figure is the median of 20 runs, client-side wall time, body
 * fully read.
 *
 * Env: BENCH_RUNS (20), BENCH_FILES_PER_FOLDER (10), BENCH_BIG_MIB (1024), BENCH_KEEP=1 keeps the data dir.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { log, runBench } from './compiled-server.js';
import { median, ms } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const FILES_PER_FOLDER = Number(process.env.BENCH_FILES_PER_FOLDER ?? 10);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024);
const MiB = 1024 * 1024;
const ADMIN_PASSWORD = 'bench-admin-password';
const USER = { username: 'bench', email: 'bench@example.test', password: 'bench-password-42' };

function procStatus(pid: number): { rss: number; hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** CPU time the process has used (user + system), in ms. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 1/100 s (USER_HZ)
}

/** Resets VmHWM (Linux: writing 5 to clear_refs); false when not permitted. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

runBench('api', { ADMIN_PASSWORD, LOGIN_MAX_FAILURES_PER_IP: '1000000' }, async ({ url, pid }) => {
  const startRss = procStatus(pid).rss;

  const call = async (
    method: string,
    p: string,
    token: string | null,
    body?: unknown,
    raw?: Buffer,
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: BodyInit | undefined;
    if (raw) payload = raw as unknown as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    return fetch(url + p, { method, headers, body: payload });
  };
  const ok = async <T>(res: Promise<Response>, what: string): Promise<T> => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const login = () =>
    ok<{ token: string; user: { rootId: string } }>(
      call('POST', '/api/auth/login', null, { username: USER.username, password: USER.password }),
      'login',
    );

  const admin = await ok<{ token: string }>(
    call('POST', '/api/auth/login', null, { username: 'admin', password: ADMIN_PASSWORD }),
    'admin login',
  );
  await ok(call('POST', '/api/admin/users', admin.token, { ...USER, quotaBytes: 50 * 1024 * MiB }), 'create user');
  const session = await login();
  const token = session.token;
  const rootId = session.user.rootId;
  type Node = { id: string; name: string };
  const mkdir = (parentId: string, name: string) =>
    ok<Node>(call('POST', '/api/folders', token, { parentId, name }), `mkdir ${name}`);
  const put = (parentId: string, name: string, data: Buffer) =>
    ok<Node>(
      call('PUT', `/api/folders/${parentId}/files/${encodeURIComponent(name)}`, token, undefined, data),
      `upload ${name}`,
    );

  // ---- seed -------------------------------------------------------------------------------------
  const KINDS = ['report', 'invoice', 'photo', 'notes', 'budget', 'draft', 'scan', 'slides', 'minutes', 'contract'];
  const EXT = ['.pdf', '.pdf', '.jpg', '.md', '.xlsx', '.docx', '.png', '.pptx', '.txt', '.pdf'];
  const seedStart = performance.now();
  const folders: Node[] = [];
  const tops: Node[] = [];
  for (let t = 0; t < 10; t++) tops.push(await mkdir(rootId, `Department ${t}`));
  folders.push(...tops);
  const subJobs: Array<[string, string]> = [];
  for (const top of tops) for (let s = 0; s < 99; s++) subJobs.push([top.id, `Project ${String(s).padStart(2, '0')}`]);
  const pool = async <T>(items: T[], n: number, fn: (x: T, i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (next < items.length) {
          const i = next++;
          await fn(items[i]!, i);
        }
      }),
    );
  };
  await pool(subJobs, 8, async ([parent, name]) => folders.push(await mkdir(parent, name)));
  const fileJobs: Array<[string, string]> = [];
  let n = 0;
  for (const f of folders) {
    for (let k = 0; k < FILES_PER_FOLDER; k++, n++)
      fileJobs.push([f.id, `${KINDS[n % 10]}-${String(n).padStart(5, '0')}${EXT[n % 10]}`]);
  }
  await pool(fileJobs, 8, ([parent, name], i) =>
    put(parent, name, Buffer.from(`${name}\n${i}\n${'x'.repeat(200 + (i % 1800))}`)),
  );
  const big = await mkdir(rootId, 'Big folder');
  const bigJobs = Array.from({ length: 1000 }, (_, i) => `entry-${String(i).padStart(4, '0')}.txt`);
  await pool(bigJobs, 8, (name, i) => put(big.id, name, Buffer.from(`big ${i}\n`)));
  const seedMs = performance.now() - seedStart;
  const seededRss = procStatus(pid).rss;
  const leaf = folders[folders.length - 1]!;
  log(`seeded ${fileJobs.length + 1000} files in ${folders.length + 1} folders in ${ms(seedMs)}`);

  // ---- timed operations ----------------------------------------------------------------------------
  const rows: Array<{ op: string; ours: string; seed: string; note?: string }> = [];
  const time = async (label: string, fn: (i: number) => Promise<unknown>) => {
    await fn(-1); // warm-up, not counted
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await fn(i);
      xs.push(performance.now() - t);
    }
    log(`${label}: median ${ms(median(xs))} (min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))})`);
    return median(xs);
  };
  const drain = async (res: Promise<Response>, expect = 200) => {
    const r = await res;
    if (r.status !== expect) throw new Error(`${r.url}: ${r.status} ${await r.text()}`);
    return r.arrayBuffer();
  };

  const tLogin = await time('login', () => login());
  rows.push({ op: 'login (bcrypt cost 12)', ours: ms(tLogin), seed: '180 ms' });

  const payload = randomBytes(10 * MiB);
  const uploadsDir = await mkdir(rootId, 'Uploads');
  const uploaded: Node[] = [];
  const tUp = await time('upload 10 MiB', async (i) => {
    payload.writeUInt32BE(i + 1, 0); // new content every run: no dedup shortcut
    const node = await put(uploadsDir.id, `upload-${i + 1}.bin`, payload);
    uploaded.push(node);
  });
  rows.push({ op: 'upload 10 MiB (fsynced)', ours: ms(tUp), seed: '1.2 s (10 MB)' });

  const tDown = await time('download 10 MiB', (i) =>
    drain(call('GET', `/api/files/${uploaded[(i + uploaded.length) % uploaded.length]!.id}/content`, token)),
  );
  rows.push({ op: 'download 10 MiB', ours: ms(tDown), seed: '0.8 s (10 MB)' });

  let listed = 0;
  const tList = await time('list 1,000-entry folder', async () => {
    const r = await ok<{ items: unknown[]; total: number }>(
      call('GET', `/api/nodes/${big.id}/children?limit=1000`, token),
      'children',
    );
    listed = r.items.length;
  });
  if (listed !== 1000) throw new Error(`listing returned ${listed} items, not 1000`);
  rows.push({ op: 'list a 1,000-entry folder', ours: ms(tList), seed: '120 ms (folder navigation)' });

  const tNav = await time('open a folder (children + breadcrumbs)', () =>
    Promise.all([
      drain(call('GET', `/api/nodes/${leaf.id}/children`, token)),
      drain(call('GET', `/api/nodes/${leaf.id}/path`, token)),
    ]),
  );
  rows.push({ op: 'open a folder: children + breadcrumbs', ours: ms(tNav), seed: '120 ms (folder navigation)' });

  const tCrumbs = await time('breadcrumbs', () => drain(call('GET', `/api/nodes/${leaf.id}/path`, token)));
  rows.push({ op: 'breadcrumbs (GET /nodes/:id/path)', ours: ms(tCrumbs), seed: '—' });

  const probe = await call('GET', '/api/search?q=invoice-00421', token);
  if (probe.status === 200) {
    const hits = (await probe.json()) as { items?: unknown[] };
    const tSearch = await time('search', (i) =>
      drain(call('GET', `/api/search?q=${KINDS[(i + 10) % 10]}-0${String(100 + (((i + 20) * 37) % 900))}`, token)),
    );
    rows.push({
      op: `search by name, ${fileJobs.length + 1000} files`,
      ours: ms(tSearch),
      seed: '150 ms',
      note: `probe hits: ${hits.items?.length ?? '?'}`,
    });
  } else {
    await probe.arrayBuffer();
    rows.push({
      op: 'search',
      ours: 'n/a',
      seed: '150 ms',
      note: `GET /api/search answered ${probe.status}: not built yet`,
    });
  }

  // ---- 1 GiB upload and download: the server's memory -------------------------------------------
  const peakBefore = procStatus(pid).hwm;
  const rssBeforeUp = procStatus(pid).rss;
  const canReset = resetPeak(pid);
  const sampler = (() => {
    let max = 0;
    const t = setInterval(() => (max = Math.max(max, procStatus(pid).rss)), 20);
    return { stop: () => (clearInterval(t), Math.max(max, procStatus(pid).rss)) };
  })();
  const chunk = randomBytes(MiB);
  const upStart = performance.now();
  const bigNode = await new Promise<Node>((resolve, reject) => {
    const req = http.request(`${url}/api/folders/${uploadsDir.id}/files/one-gib.bin`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${token}`,
        'content-length': String(BIG_MIB * MiB),
        'content-type': 'application/octet-stream',
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        res.statusCode === 201
          ? resolve(JSON.parse(body) as Node)
          : reject(new Error(`1 GiB upload: ${res.statusCode} ${body}`)),
      );
    });
    let i = 0;
    const write = () => {
      while (i < BIG_MIB) {
        chunk.writeUInt32BE(i++, 0);
        if (!req.write(Buffer.from(chunk))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
  const upSecs = (performance.now() - upStart) / 1000;
  const upRss = sampler.stop();
  const upHwm = procStatus(pid).hwm;
  log(
    `1 GiB upload: ${upSecs.toFixed(1)} s, peak RSS sampled ${(upRss / MiB).toFixed(0)} MiB, VmHWM ${(upHwm / MiB).toFixed(0)} MiB${canReset ? ' (reset before the upload)' : ''}`,
  );

  const rssBeforeDown = procStatus(pid).rss;
  resetPeak(pid);
  const downSampler = (() => {
    let max = 0;
    const t = setInterval(() => (max = Math.max(max, procStatus(pid).rss)), 20);
    return { stop: () => (clearInterval(t), Math.max(max, procStatus(pid).rss)) };
  })();
  const downStart = performance.now();
  let got = 0;
  const res = await fetch(`${url}/api/files/${bigNode.id}/content`, { headers: { authorization: `Bearer ${token}` } });
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) got += part.length;
  const downSecs = (performance.now() - downStart) / 1000;
  const downRss = downSampler.stop();
  const downHwm = procStatus(pid).hwm;
  if (got !== BIG_MIB * MiB) throw new Error(`1 GiB download returned ${got} bytes`);

  const mibs = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
  const peakUp = Math.max(upRss, canReset ? upHwm : 0);
  const peakDown = Math.max(downRss, canReset ? downHwm : 0);
  rows.push({
    op: `peak RSS while uploading ${BIG_MIB} MiB`,
    ours: mibs(peakUp),
    seed: '< 150 MiB (goal)',
    note: `+${mibs(peakUp - rssBeforeUp)} over the RSS before it; ${(BIG_MIB / upSecs).toFixed(0)} MiB/s, fsynced; ${peakUp < 150 * MiB ? 'under the goal' : 'OVER THE GOAL'}`,
  });
  rows.push({
    op: `peak RSS while downloading ${BIG_MIB} MiB`,
    ours: mibs(peakDown),
    seed: '< 150 MiB (goal)',
    note: `+${mibs(peakDown - rssBeforeDown)} over the RSS before it; ${(BIG_MIB / downSecs).toFixed(0)} MiB/s`,
  });

  // After the memory figures: zlib's buffers for 21,000 entries leave RSS high for a while.
  const cpuBefore = cpuMs(pid);
  const tZip = await time('ZIP of the 1,000-entry folder', () => drain(call('GET', `/api/nodes/${big.id}/zip`, token)));
  const zipCpuUs = (cpuMs(pid) - cpuBefore) / (RUNS + 1); // ms per ZIP of 1,000 entries = µs per entry
  rows.push({
    op: 'ZIP download of the 1,000-entry folder',
    ours: ms(tZip),
    seed: '—',
    note: `server CPU ${zipCpuUs.toFixed(0)} µs per entry`,
  });

  // ---- report -------------------------------------------------------------------------------------------
  const w = [
    Math.max(...rows.map((r) => r.op.length), 9),
    Math.max(...rows.map((r) => r.ours.length), 16),
    Math.max(...rows.map((r) => r.seed.length), 11),
  ];
  const line = (a: string, b: string, c: string, d = '') =>
    `| ${a.padEnd(w[0]!)} | ${b.padStart(w[1]!)} | ${c.padEnd(w[2]!)} | ${d}`;
  console.log(`\nCoffer JSON API — ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores`);
  console.log(
    `data set: ${fileJobs.length + 1000} files in ${folders.length + 1} folders (seeded through the API in ${ms(seedMs)}); medians of ${RUNS} runs`,
  );
  console.log(
    `server RSS: ${mibs(startRss)} at start, ${mibs(seededRss)} after seeding, ${mibs(peakBefore)} peak (VmHWM) before the ${BIG_MIB} MiB transfers\n`,
  );
  console.log(line('operation', `Coffer (median)`, 'seed report', 'note'));
  console.log(line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!), '---'));
  for (const r of rows) console.log(line(r.op, r.ours, r.seed, r.note ?? ''));
  if (peakUp >= 150 * MiB) process.exitCode = 1;
});
