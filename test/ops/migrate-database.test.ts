/**
 * `npm run migrate-store -- --to postgres://… --blobs s3://…`: a SQLite and local-disk install —
 * 1,000 files in folders, a share, a public link, the recycle bin, a WebDAV lock, dead properties,
 * a version, the activity log and a session — moved to PostgreSQL and an S3-compatible bucket while
 * it serves. A server started on the target serves the same tree with the same content hashes, the
 * same shares and link, bin, lock and properties; a session issued before the move is still valid
 * (the token secret moved with the rows); fsck is clean. A second copy into the same database is
 * refused. Needs PostgreSQL: it runs in the PostgreSQL pass (TEST_DATABASE_URL).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { basic, Dav, davUser, type DavUser } from '../dav/support.js';
import { lock } from '../dav/lock-requests.js';
import { createTestDatabase, skipOnSqlite, type TestDatabase } from '../support/database.js';
import { api } from '../support/http.js';
import { sharedS3Server, type S3TestServer } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectFsckClean } from '../support/store.js';
import { cleanEnv, ensureBuild, ROOT } from './support.js';

/** Every path under the user's home with its ETag (the content hash for a file), via PROPFIND. */
async function tree(dav: Dav): Promise<string[]> {
  const xml = await (await dav.propfind('/dav/', 'infinity')).text();
  const out: string[] = [];
  for (const m of xml.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
    const href = /<D:href>([^<]*)<\/D:href>/.exec(m[1]!)?.[1];
    const etag = /<D:getetag>([^<]*)<\/D:getetag>/.exec(m[1]!)?.[1] ?? '';
    out.push(`${href} ${m[1]!.includes('<D:collection/>') ? 'folder' : etag}`);
  }
  return out.sort();
}

describe('npm run migrate-store --to postgres:// (SQLite + local disk → PostgreSQL + S3)', function () {
  this.timeout(300_000);
  let s3: S3TestServer;
  let bucket: string;
  let target: TestDatabase;
  let src: TestServer;
  let moved: TestServer | undefined;
  let alice: DavUser, bob: DavUser;
  let sqliteDir: string | undefined;
  const sqliteUrl = () => `sqlite:${path.join(sqliteDir!, 'coffer.sqlite')}`;
  let seeded: { tree: string[]; shared: string[]; bin: string[]; linkToken: string; lockToken: string };

  before(async function () {
    skipOnSqlite(this, 'the target of the move is a PostgreSQL database');
    ensureBuild();
    s3 = await sharedS3Server();
    bucket = await s3.newBucket();
    target = await createTestDatabase();
    // The source: SQLite in its data dir and blobs on its disk, whatever the pass's engine and store.
    sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-migrate-src-'));
    src = await startTestServer({ env: { DATABASE_URL: sqliteUrl(), BLOB_STORE: 'local' } });
    alice = await davUser(src);
    bob = await davUser(src);
    const a = api(src.url).as(alice);
    const dav = Dav.for(src, alice);
    for (let f = 0; f < 10; f++) {
      const folder = await a.mkdir(alice.rootId, `folder-${f}`);
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          a.upload(folder.id, `file-${i}.txt`, i % 25 === 0 ? Buffer.alloc(100_000, f * 100 + i) : `f${f} i${i}`),
        ),
      );
    }
    await a.upload(alice.rootId, 'notes.txt', 'version one', '');
    await a.upload(alice.rootId, 'notes.txt', 'version two', '?overwrite=true');
    const shared = (await a.children(alice.rootId)).find((n) => n.name === 'folder-1')!;
    expect(
      (await a.post(`/api/nodes/${shared.id}/shares`, { user: bob.username, permission: 'view' })).status,
    ).to.equal(201);
    const link = (await (await a.post(`/api/nodes/${shared.id}/links`, { permission: 'view' })).json()) as {
      token: string;
    };
    const doomed = (await a.children(alice.rootId)).find((n) => n.name === 'folder-9')!;
    expect((await a.delete(`/api/nodes/${doomed.id}`)).status).to.equal(204);
    const patch = await dav.request('PROPPATCH', '/dav/notes.txt', {
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:colour>green</Z:colour></D:prop></D:set></D:propertyupdate>',
    });
    expect(patch.status).to.equal(207);
    const locked = await lock(dav, '/dav/folder-0/file-1.txt');
    expect(locked.status).to.equal(200);
    seeded = {
      tree: await tree(dav),
      shared: await tree(Dav.for(src, bob)),
      bin: ((await (await a.get('/api/trash')).json()) as { items: { name: string }[] }).items.map((i) => i.name),
      linkToken: link.token,
      lockToken: locked.token,
    };
    expect(seeded.tree.length).to.be.greaterThan(900); // the bin's 100 are not in the tree
  });

  after(async () => {
    await moved?.close();
    await src?.close();
    if (sqliteDir) fs.rmSync(sqliteDir, { recursive: true, force: true });
    await target?.drop();
  });

  const migrate = (args: string[]) =>
    spawnSync(process.execPath, ['dist/server/migrate-store.js', ...args], {
      cwd: ROOT,
      env: cleanEnv({
        DATA_DIR: src.dataDir,
        DATABASE_URL: sqliteUrl(),
        ...Object.fromEntries(Object.entries(s3.env(bucket, { prefix: 'coffer' })).filter(([k]) => k !== 'BLOB_STORE')),
      }),
      encoding: 'utf8',
      timeout: 240_000,
    });

  it('copies the rows and the blobs while the source serves, checking every table’s count', () => {
    const r = migrate(['--blobs', `s3://${bucket}/coffer`, '--to', target.env.DATABASE_URL!]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/blobs → s3:\/\/\S+: 40 copied/);
    expect(r.stdout).to.match(/database → postgres:\/\/\S+: \d+ rows in \d+ tables, the same count in each/);
    expect(r.stdout).not.to.contain(new URL(target.env.DATABASE_URL!).password || 'no-password-in-url');
  });

  it('serves the same install from PostgreSQL + S3: tree and hashes, share, link, bin, lock, properties, sessions; fsck clean', async () => {
    moved = await startTestServer({
      env: {
        ...target.env,
        ...s3.env(bucket, { prefix: 'coffer' }),
      },
    });
    const dav = Dav.for(moved, alice);
    expect(await tree(dav)).to.deep.equal(seeded.tree);
    expect(await tree(Dav.for(moved, bob))).to.deep.equal(seeded.shared);
    const a = api(moved.url).as(alice); // alice's session from the source: the token secret moved too
    const bin = ((await (await a.get('/api/trash')).json()) as { items: { name: string }[] }).items.map((i) => i.name);
    expect(bin).to.deep.equal(seeded.bin);
    expect((await api(moved.url).get(`/api/public/${seeded.linkToken}`)).status).to.equal(200);
    const put = (headers: Record<string, string>) =>
      new Dav(moved!.url, basic(alice.username, alice.password)).request('PUT', '/dav/folder-0/file-1.txt', {
        headers,
        body: 'changed',
      });
    expect((await put({})).status).to.equal(423);
    expect((await put({ if: `(<${seeded.lockToken}>)` })).status).to.equal(204);
    const props = await (await dav.propfind('/dav/notes.txt', '0')).text();
    expect(props).to.contain('green');
    const big = (await a.children(alice.rootId)).find((n) => n.name === 'folder-0')!;
    const file = (await a.children(big.id)).find((n) => n.name === 'file-0.txt')!;
    expect(Buffer.from(await (await a.get(`/api/files/${file.id}/content`)).arrayBuffer())).to.deep.equal(
      Buffer.alloc(100_000, 0),
    );
    const upload = await a.upload(alice.rootId, 'after-the-move.txt', 'new'); // identity columns moved past the copied rows
    expect(upload.name).to.equal('after-the-move.txt');
    await expectFsckClean(moved);
  });

  it('refuses to copy into a database that already holds an install', () => {
    const r = migrate(['--to', target.env.DATABASE_URL!]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('already holds a Coffer install');
  });
});
