import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { fsck } from '../../server/domain/maintenance.js';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  expectFsckClean,
  hideStoredBlob,
  MiB,
  patternChunk,
  readStoredBlob,
  storedBlobs,
  writeStoredBlob,
} from '../support/store.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const fsckJs = path.join(root, 'dist/server/fsck.js');

const newestSource = (dir: string): number =>
  (fs.readdirSync(path.join(root, dir), { recursive: true }) as string[])
    .filter((p) => p.endsWith('.ts'))
    .reduce((t, p) => Math.max(t, fs.statSync(path.join(root, dir, p)).mtimeMs), 0);

/** The compiled `npm run fsck` script; (re)built when dist/ is missing or older than the sources. Returns why not, if it cannot be had. */
function ensureBuilt(): string | null {
  const sources = Math.max(...['config', 'server', 'dav', 'storage'].map(newestSource));
  if (fs.existsSync(fsckJs) && fs.statSync(fsckJs).mtimeMs >= sources) return null;
  // tsc emits even when another file has a type error; only a missing output file is fatal here.
  spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')],
    { cwd: root, encoding: 'utf8' },
  );
  return fs.existsSync(fsckJs) ? null : 'dist/server/fsck.js could not be built (npx tsc -p tsconfig.build.json)';
}

function runFsck(srv: TestServer, args: string[] = []) {
  const r = spawnSync(process.execPath, [fsckJs, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: srv.dataDir,
      LOG_LEVEL: 'silent',
      ...srv.databaseEnv,
      ...srv.blobStoreEnv,
    },
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A store with some history: nested folders, dedup, replace, copy, trash. */
async function populate(srv: TestServer, u: TestUser): Promise<Api> {
  const a = api(srv.url).as(u);
  const d = await a.mkdir(u.rootId, 'd');
  const e = await a.mkdir(d.id, 'e');
  const f = await a.upload(d.id, 'f.bin', patternChunk(1, MiB));
  await a.upload(e.id, 'same.bin', patternChunk(1, MiB)); // dedup
  await a.upload(d.id, 'f.bin', patternChunk(2, 1000), '?overwrite=true');
  await a.post(`/api/nodes/${d.id}/copy`, { parentId: u.rootId, name: 'd copy' });
  await a.upload(u.rootId, 'trashed.txt', 'bin me');
  await a.delete(`/api/nodes/${(await a.children(u.rootId)).find((n) => n.name === 'trashed.txt')!.id}`);
  await a.patch(`/api/nodes/${f.id}`, { parentId: e.id });
  return a;
}

describe('fsck: the integrity check', function () {
  this.timeout(90_000);

  describe('the domain function against a live server', () => {
    let srv: TestServer;
    let u: TestUser;
    before(async () => {
      srv = await startTestServer();
      u = await createUser(srv);
      await populate(srv, u);
    });
    after(() => srv.close());

    it('finds a store built through the API clean, re-hashing every blob', async () => {
      await expectFsckClean(srv);
      const report = await fsck(srv.app.db, srv.app.blobs, { verifyContent: true });
      expect(report.checked.users).to.equal(2);
      expect(report.checked.files).to.be.greaterThan(4);
    });

    const problems = async () => (await fsck(srv.app.db, srv.app.blobs, { verifyContent: true })).problems;
    const row = (sql: string) => srv.app.db.get<Record<string, unknown>>(sql);

    it('reports a wrong used_bytes', async () => {
      await srv.app.db.run('UPDATE users SET used_bytes = used_bytes + 7 WHERE id = $id', { id: u.id });
      try {
        const p = await problems();
        expect(
          p.some((x) => x.includes(u.username) && /used_bytes/.test(x)),
          p.join('\n'),
        ).to.equal(true);
      } finally {
        await srv.app.db.run('UPDATE users SET used_bytes = used_bytes - 7 WHERE id = $id', { id: u.id });
      }
      await expectFsckClean(srv);
    });

    it('reports a wrong ref_count', async () => {
      const b = (await row('SELECT hash FROM blobs WHERE ref_count > 0 LIMIT 1'))!.hash as string;
      await srv.app.db.run('UPDATE blobs SET ref_count = ref_count + 1 WHERE hash = $b', { b });
      try {
        const p = await problems();
        expect(
          p.some((x) => x.includes(b) && /ref_count/.test(x)),
          p.join('\n'),
        ).to.equal(true);
      } finally {
        await srv.app.db.run('UPDATE blobs SET ref_count = ref_count - 1 WHERE hash = $b', { b });
      }
    });

    it('reports a missing blob file, a truncated one and one whose bytes changed', async () => {
      // A blob with a file (not inline); without ORDER BY, which one comes first is the engine's choice.
      const b = (await row(
        'SELECT hash FROM blobs WHERE size > 100 AND ref_count > 0 AND hash NOT IN (SELECT hash FROM inline_blobs) LIMIT 1',
      ))!.hash as string;
      const original = await readStoredBlob(srv, b);
      try {
        await srv.app.blobs.remove(b);
        expect((await problems()).some((x) => x.includes(b) && /missing/.test(x))).to.equal(true);
        await writeStoredBlob(srv, b, original.subarray(0, 10));
        expect((await problems()).some((x) => x.includes(b) && /bytes/.test(x))).to.equal(true);
        const flipped = Buffer.from(original);
        flipped[50] = flipped[50]! ^ 0xff;
        await writeStoredBlob(srv, b, flipped);
        expect((await problems()).some((x) => x.includes(b) && /hashes to/.test(x))).to.equal(true);
        // Without re-hashing, a same-size change goes unseen (that is what --quick means).
        expect((await fsck(srv.app.db, srv.app.blobs)).ok).to.equal(true);
      } finally {
        await writeStoredBlob(srv, b, original);
      }
      await expectFsckClean(srv);
    });

    it('reports a node whose size differs from its blob, and an owner that differs from its parent', async () => {
      const n = (await row("SELECT id, size FROM nodes WHERE kind = 'file' AND deleted_at IS NULL LIMIT 1"))!;
      await srv.app.db.run('UPDATE nodes SET size = size + 1 WHERE id = $id', { id: n.id });
      await srv.app.db.run('UPDATE users SET used_bytes = used_bytes + 1 WHERE id = $id', { id: u.id });
      try {
        expect((await problems()).some((x) => x.includes(n.id as string) && /size/.test(x))).to.equal(true);
      } finally {
        await srv.app.db.run('UPDATE nodes SET size = size - 1 WHERE id = $id', { id: n.id });
        await srv.app.db.run('UPDATE users SET used_bytes = used_bytes - 1 WHERE id = $id', { id: u.id });
      }
      const folder = (await row(
        `SELECT id, owner_id FROM nodes WHERE kind = 'folder' AND parent_id IS NOT NULL AND owner_id = '${u.id}' LIMIT 1`,
      ))!;
      const other = (await row(`SELECT id FROM users WHERE id <> '${u.id}' LIMIT 1`))!;
      await srv.app.db.run('UPDATE nodes SET owner_id = $o WHERE id = $id', { o: other.id, id: folder.id });
      try {
        expect((await problems()).some((x) => x.includes(folder.id as string) && /owner/.test(x))).to.equal(true);
      } finally {
        await srv.app.db.run('UPDATE nodes SET owner_id = $o WHERE id = $id', { o: u.id, id: folder.id });
      }
      await expectFsckClean(srv);
    });
  });

  describe('`npm run fsck` (dist/server/fsck.js) on a stopped server', () => {
    let srv: TestServer;
    before(async function () {
      const why = ensureBuilt();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      srv = await startTestServer();
      await populate(srv, await createUser(srv));
      await srv.stop();
    });
    after(() => srv?.close());

    it('exits 0 and prints the "clean" line for a healthy store', () => {
      const { code, out } = runFsck(srv);
      expect(code, out).to.equal(0);
      expect(out).to.match(/^clean: no problems found$/m);
      expect(out).to.match(/fsck .*: \d+ files, \d+ blobs, 2 users/);
    });

    it('exits 1 and prints each problem when the store is damaged', async () => {
      const victim = (await storedBlobs(srv))[0]!;
      const putBack = await hideStoredBlob(srv, victim);
      try {
        const { code, out } = runFsck(srv);
        expect(code, out).to.equal(1);
        expect(out).to.match(/PROBLEM: blob [0-9a-f]{64}: file missing/);
        expect(out).to.match(/\d+ problem\(s\) found/);
      } finally {
        await putBack();
      }
      expect(runFsck(srv, ['--quick']).code).to.equal(0);
    });
  });
});
