/**
 * `npm run backup -- <dir>` while the server runs: the new directory is a data directory of its own —
 * a server started on it has the same users, files (small ones inline in the snapshot, larger ones
 * as blob files), shares, bin and versions, and `npm run fsck` finds it clean. It refuses to write
 * into a directory that is not empty.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Dav, davUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { createTestDatabase, TEST_POSTGRES, type TestDatabase } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { patternChunk, sha256 } from '../support/store.js';
import { cleanEnv, ensureBuild, ROOT } from './support.js';

const script = (name: string, dataDir: string, args: string[] = [], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [`dist/server/${name}.js`, ...args], {
    cwd: ROOT,
    env: cleanEnv({ DATA_DIR: dataDir, ...env }),
    encoding: 'utf8',
  });

describe('npm run backup (a running server, restored as a data directory)', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let restored: TestServer | undefined;
  let restoredDb: TestDatabase | undefined;
  const backupDir = path.join(os.tmpdir(), `coffer-backup-${process.pid}-${Date.now()}`);

  before(async () => {
    ensureBuild();
    srv = await startTestServer();
  });
  after(async () => {
    await restored?.close();
    await restoredDb?.drop();
    await srv.close();
    fs.rmSync(backupDir, { recursive: true, force: true });
  });

  it('backs up users, small and large files, a share, the bin and a version; the copy serves them and fsck is clean', async () => {
    const alice = await davUser(srv);
    const bob = await davUser(srv);
    const dav = Dav.for(srv, alice);
    const small = patternChunk(1, 4096); // inline in the database
    const large = patternChunk(2, 300_000); // a blob file
    expect(await dav.mkcol('/dav/Plans')).to.equal(201);
    expect((await dav.request('PUT', '/dav/Plans/small.txt', { body: small })).status).to.equal(201);
    expect((await dav.request('PUT', '/dav/Plans/large.bin', { body: large })).status).to.equal(201);
    expect((await dav.request('PUT', '/dav/Plans/large.bin', { body: patternChunk(3, 200_000) })).status).to.equal(204); // the first content becomes a version
    expect((await dav.request('PUT', '/dav/old.txt', { body: 'to the bin' })).status).to.equal(201);
    expect((await dav.request('DELETE', '/dav/old.txt')).status).to.equal(204);
    const a = api(srv.url).as(alice);
    const plans = await a.children(alice.rootId);
    const share = await a.post(`/api/nodes/${plans.find((n) => n.name === 'Plans')!.id}/shares`, {
      user: bob.username,
      permission: 'view',
    });
    expect(share.status).to.equal(201);

    // From the server's own blob store (a bucket with TEST_BLOB_STORE=s3): the backup keeps them on disk.
    const res = script('backup', srv.dataDir, [backupDir], { ...srv.databaseEnv, ...srv.blobStoreEnv });
    expect(res.status, res.stdout + res.stderr).to.equal(0);
    expect(res.stdout)
      .to.match(/1 blob files|2 blob files/)
      .and.match(/small files inside the snapshot/);
    // The token secret travels inside the database: alice's session from the original works on the copy (below).
    expect(fs.existsSync(path.join(backupDir, 'jwt-secret'))).to.equal(false);
    // On PostgreSQL the dump is restored into a new database first, as the backup's message says.
    restoredDb = await createTestDatabase();
    if (TEST_POSTGRES) {
      const dump = path.join(backupDir, 'coffer.dump');
      const r = spawnSync('pg_restore', ['--no-owner', `--dbname=${restoredDb.env.DATABASE_URL}`, dump], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).to.equal(0);
    }
    const fsck = script('fsck', backupDir, [], restoredDb.env);
    expect(fsck.status, fsck.stdout + fsck.stderr).to.equal(0);
    expect(fsck.stdout).to.match(/clean: no problems found/);

    restored = await startTestServer({ env: { DATA_DIR: backupDir, BLOB_STORE: 'local', ...restoredDb.env } });
    const back = Dav.for(restored, alice);
    const got = async (p: string) => Buffer.from(await (await back.request('GET', p)).arrayBuffer());
    expect(sha256(await got('/dav/Plans/small.txt'))).to.equal(sha256(small));
    expect(sha256(await got('/dav/Plans/large.bin'))).to.equal(sha256(patternChunk(3, 200_000)));
    const sharedToBob = await Dav.for(restored, bob).request('GET', '/dav/Shared%20with%20me/Plans/small.txt');
    expect(sharedToBob.status).to.equal(200);
    const r = api(restored.url).as(alice);
    const largeNode = (await r.children(plans.find((n) => n.name === 'Plans')!.id)).find(
      (n) => n.name === 'large.bin',
    )!;
    const versions = (
      (await (await r.get(`/api/nodes/${largeNode.id}/versions`)).json()) as { items: { id: string }[] }
    ).items;
    expect(versions).to.have.length(1);
    const v = await r.get(`/api/nodes/${largeNode.id}/versions/${versions[0]!.id}/content`);
    expect(sha256(Buffer.from(await v.arrayBuffer()))).to.equal(sha256(large));
    const bin = (await (await r.get('/api/trash')).json()) as { items: { name: string }[] };
    expect(bin.items.map((i) => i.name)).to.deep.equal(['old.txt']);
  });

  it('refuses a directory that is not empty, and says how it is used without one', () => {
    const full = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-backup-full-'));
    fs.writeFileSync(path.join(full, 'something'), 'already here');
    const again = script('backup', srv.dataDir, [full]);
    fs.rmSync(full, { recursive: true, force: true });
    expect(again.status).to.equal(2);
    expect(again.stderr).to.contain('is not empty');
    const none = script('backup', srv.dataDir);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.contain('usage: npm run backup -- <new directory>');
  });
});
