/**
 * `npm run bench:scale`: do search, permission checks and listings stay flat as the store grows?
 * Seeds N files in N/10 folders across 100 users straight into SQLite (the search index takes them
 * in as the server's backlog indexing does; sizes and quotas are not charged, which these reads never look at),
 * adds for one user a 1,000-entry folder and a file 20 levels under a folder shared with another
 * user, then times the domain calls the API and WebDAV make: median and p95 of 50 runs, in ms.
 * `npm run bench:scale:pg` runs the same on PostgreSQL (a throwaway cluster, scripts/test-postgres.sh:
 * a fresh database per size, the trigram index doing the searches).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { createApp, type App } from '../../server/app.js';
import { indexWholeBacklog } from '../../server/db/search-backlog.js';
import { userActor } from '../../server/domain/actor.js';
import { searchNodes } from '../../server/domain/search.js';
import { getUser } from '../../server/domain/users.js';
import { createTestDatabase, TEST_POSTGRES } from '../support/database.js';

const SIZES = (process.env.SCALE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const USERS = 100;
const RUNS = 50;
const WORDS = ['report', 'invoice', 'photo', 'draft', 'notes', 'budget', 'scan', 'letter', 'summary', 'backup'];

async function time(fn: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)]!, p95: t[Math.floor(t.length * 0.95)]! };
}

class Seeder {
  private rows: unknown[][] = [];
  constructor(
    private readonly app: App,
    private readonly now: number,
  ) {}
  add(id: string, ownerId: string, parentId: string, kind: 'file' | 'folder', name: string): string {
    this.rows.push([
      id,
      ownerId,
      parentId,
      kind,
      name,
      name.toLowerCase(),
      kind === 'file' ? 1000 : 0,
      randomUUID(),
      this.now,
      this.now,
    ]);
    return id;
  }
  async flushIfFull(): Promise<void> {
    if (this.rows.length >= 450) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const params: Record<string, unknown> = {};
    const values = this.rows.map((r, i) => {
      r.forEach((v, j) => (params[`p${i}_${j}`] = v));
      return `(${r.map((_, j) => `$p${i}_${j}`).join(',')})`;
    });
    this.rows = [];
    await this.app.db.run(
      `INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, size, etag, created_at, modified_at) VALUES ${values.join(',')}`,
      params,
    );
  }
}

async function main() {
  const engine = TEST_POSTGRES ? 'PostgreSQL' : 'SQLite';
  console.log(
    `scale benchmark on ${engine}: ${USERS} users, files in folders of 10; median / p95 of ${RUNS} runs (ms)\n`,
  );
  const head = [
    'files',
    'folders',
    'search (rare name)',
    'search (common word, limit 50)',
    'access check, 20 levels under a share',
    'list 1,000 entries',
  ];
  const table: string[][] = [head];
  for (const size of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-scale-'));
    const database = await createTestDatabase(); // SQLite in dir, or a fresh PostgreSQL database
    const app = await createApp(
      loadConfig({
        ...database.env,
        DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        BCRYPT_COST: '4',
        JOBS_ENABLED: 'false',
        LOG_LEVEL: 'silent',
        ADMIN_PASSWORD: 'bench-password',
      }),
    );
    const sys = { kind: 'system' as const, origin: { via: 'system' as const } };
    const users = [];
    for (let u = 0; u < USERS; u++)
      users.push(
        await app.accounts.createUser(sys, { username: `user${u}`, email: `u${u}@x.test`, password: 'password-1' }),
      );
    const seeder = new Seeder(app, Date.now());
    const t0 = performance.now();
    const folders = Math.ceil(size / 10);
    for (let f = 0; f < folders; f++) {
      const owner = users[f % USERS]!;
      const folder = seeder.add(randomUUID(), owner.id, owner.rootId, 'folder', `Folder ${f}`);
      for (let i = 0; i < 10 && f * 10 + i < size; i++)
        seeder.add(randomUUID(), owner.id, folder, 'file', `${WORDS[(f + i) % WORDS.length]} ${f}-${i}.pdf`);
      await seeder.flushIfFull();
    }
    // user0: a 1,000-entry folder, a chain 20 levels deep under "Shared", and one rare name.
    const alice = users[0]!;
    const big = seeder.add(randomUUID(), alice.id, alice.rootId, 'folder', 'Big');
    for (let i = 0; i < 1000; i++) {
      seeder.add(randomUUID(), alice.id, big, 'file', `entry ${i}.txt`);
      await seeder.flushIfFull();
    }
    const shared = seeder.add(randomUUID(), alice.id, alice.rootId, 'folder', 'Shared');
    let parent = shared;
    for (let d = 1; d <= 20; d++) parent = seeder.add(randomUUID(), alice.id, parent, 'folder', `Level ${d}`);
    const deep = seeder.add(randomUUID(), alice.id, parent, 'file', 'deep.txt');
    seeder.add(randomUUID(), alice.id, parent, 'file', `needle-${randomUUID().slice(0, 8)}.txt`);
    await seeder.flush();
    const seedSeconds = (performance.now() - t0) / 1000;

    const owner = userActor((await getUser(app.db, alice.id))!, { via: 'api' });
    const guest = userActor((await getUser(app.db, users[1]!.id))!, { via: 'api' });
    await app.sharing.shareWithUser(owner, shared, { user: 'user1', permission: 'view' });
    // A running server indexes new names within seconds (search-backlog.ts): measure it settled.
    await indexWholeBacklog(app.db, 10_000);
    await app.db.run('ANALYZE');
    const clock = { now: () => Date.now() };
    const rare = await time(() => searchNodes(app.db, clock, owner, { q: 'needle' }));
    const common = await time(() => searchNodes(app.db, clock, guest, { q: 'invoice', limit: 50 }));
    const access = await time(() => app.drive.stat(guest, deep));
    const list = await time(() => app.drive.list(owner, big, { limit: 1000 }));
    const fmt = (x: { median: number; p95: number }) => `${x.median.toFixed(1)} / ${x.p95.toFixed(1)}`;
    table.push([
      size.toLocaleString('en'),
      folders.toLocaleString('en'),
      fmt(rare),
      fmt(common),
      fmt(access),
      fmt(list),
    ]);
    console.log(`  ${size.toLocaleString('en')} files seeded in ${seedSeconds.toFixed(1)} s`);
    await app.close();
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log('\n' + table.map((r) => '| ' + r.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |').join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
