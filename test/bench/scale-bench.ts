/**
 * `npm run bench:scale`: do listing, search and permission checks stay flat from 10k to 1M files?
 * Seeds nodes straight into SQLite (the schema's own triggers keep the search index in step), then
 * times the domain calls the API and WebDAV make. Prints one table; medians of 20 runs.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { createApp, type App } from '../../server/app.js';
import { userActor } from '../../server/domain/actor.js';
import { searchNodes } from '../../server/domain/search.js';
import { getUser } from '../../server/domain/users.js';

const SIZES = (process.env.SCALE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const RUNS = 20;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  return median(t);
}

const WORDS = ['report', 'invoice', 'photo', 'draft', 'notes', 'budget', 'scan', 'letter', 'summary', 'backup'];

/** Folders of 1,000 files each, three levels deep (root/a/b/c), plus one 1,000-entry folder. */
async function seed(app: App, ownerId: string, rootId: string, files: number, now: number): Promise<{ deepFile: string; deepFolder: string; bigFolder: string; shareRoot: string }> {
  const folders = Math.ceil(files / 1000);
  let deepFolder = rootId;
  let deepFile = '';
  let shareRoot = '';
  const rows: unknown[][] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const params: Record<string, unknown> = {};
    const values = rows.map((r, i) => {
      r.forEach((v, j) => (params[`p${i}_${j}`] = v));
      return `(${r.map((_, j) => `$p${i}_${j}`).join(',')})`;
    });
    await app.db.run(`INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, size, etag, created_at, modified_at) VALUES ${values.join(',')}`, params);
    rows.length = 0;
  };
  await app.db.tx(async () => undefined);
  for (let f = 0; f < folders; f++) {
    const a = randomUUID(), b = randomUUID(), c = randomUUID();
    const top = `Area ${f}`;
    rows.push([a, ownerId, rootId, 'folder', top, top.toLowerCase(), 0, randomUUID(), now, now]);
    rows.push([b, ownerId, a, 'folder', 'Year', 'year', 0, randomUUID(), now, now]);
    rows.push([c, ownerId, b, 'folder', 'Month', 'month', 0, randomUUID(), now, now]);
    if (f === folders - 1) { deepFolder = c; shareRoot = a; }
    for (let i = 0; i < 1000 && f * 1000 + i < files; i++) {
      const id = randomUUID();
      const name = `${WORDS[i % WORDS.length]} ${f}-${i}.pdf`;
      rows.push([id, ownerId, c, 'file', name, name.toLowerCase(), 1000 + i, randomUUID(), now, now]);
      if (f === folders - 1) deepFile = id;
      if (rows.length >= 450) await flush();
    }
    await flush();
  }
  const needle = `needle-${randomUUID().slice(0, 8)}.txt`;
  rows.push([randomUUID(), ownerId, deepFolder, 'file', needle, needle, 1, randomUUID(), now, now]);
  await flush();
  return { deepFile, deepFolder, bigFolder: deepFolder, shareRoot };
}

async function main() {
  console.log(`scale benchmark: listing, search and access checks at ${SIZES.join(', ')} files (median of ${RUNS} runs, ms)\n`);
  const table: string[][] = [['files', 'list 1,000', 'search rare', 'search common (limit 50)', 'grantee stat (inherited share, depth 4)', 'breadcrumbs']];
  for (const size of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-scale-'));
    const app = await createApp(loadConfig({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', BCRYPT_COST: '4', JOBS_ENABLED: 'false', LOG_LEVEL: 'silent', ADMIN_PASSWORD: 'bench-password' }));
    const sys = { kind: 'system' as const, origin: { via: 'system' as const } };
    const owner = await app.accounts.createUser(sys, { username: 'owner', email: 'o@x.test', password: 'password-1' });
    const guest = await app.accounts.createUser(sys, { username: 'guest', email: 'g@x.test', password: 'password-2' });
    const t0 = performance.now();
    const s = await seed(app, owner.id, owner.rootId, size, Date.now());
    const seedMs = performance.now() - t0;
    const ownerActor = userActor((await getUser(app.db, owner.id))!, { via: 'api' });
    const guestActor = userActor((await getUser(app.db, guest.id))!, { via: 'api' });
    await app.sharing.shareWithUser(ownerActor, s.shareRoot, { user: 'guest', permission: 'view' });
    const clock = { now: () => Date.now() };
    const list = await time(() => app.drive.list(ownerActor, s.bigFolder, { limit: 1000 }));
    const rare = await time(() => searchNodes(app.db, clock, ownerActor, { q: 'needle' }));
    const common = await time(() => searchNodes(app.db, clock, ownerActor, { q: 'invoice', limit: 50 }));
    const stat = await time(() => app.drive.stat(guestActor, s.deepFile));
    const crumbs = await time(() => app.drive.path(ownerActor, s.deepFile));
    table.push([size.toLocaleString('en'), list.toFixed(1), rare.toFixed(1), common.toFixed(1), stat.toFixed(2), crumbs.toFixed(2)]);
    console.log(`  ${size.toLocaleString('en')} files seeded in ${(seedMs / 1000).toFixed(1)} s`);
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log('\n' + table.map((r) => '| ' + r.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |').join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
