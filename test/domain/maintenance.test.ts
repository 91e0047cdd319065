import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  ageReleasedBlob,
  ageStoredBlob,
  blobExists,
  blobRows,
  expectFsckClean,
  expectHealthy,
  patternChunk,
  readStoredBlob,
  sha256,
  storedBlobs,
  writeStoredBlob,
} from '../support/store.js';

/** Above the inline limit (64 KiB): these bytes go to a blob file. */
const FILE = 80 * 1024;

describe('blob garbage collection (domain, on a real server)', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const row = async (hash: string) => (await blobRows(srv)).find((r) => r.hash === hash);
  /** Replaces a file's content and deletes the version that kept the old bytes: they are released. */
  async function replaceForgetting(name: string, body: string | Buffer): Promise<void> {
    const node = await a.upload(u.rootId, name, body, '?overwrite=true');
    const { items } = await a.json(a.get(`/api/nodes/${node.id}/versions`));
    for (const v of items) expect((await a.delete(`/api/nodes/${node.id}/versions/${v.id}`)).status).to.equal(204);
  }

  it('keeps a released blob during the grace period and removes row and file after it', async () => {
    const old = patternChunk(1, FILE);
    await a.upload(u.rootId, 'v.bin', old);
    await replaceForgetting('v.bin', patternChunk(2, FILE));
    expect(await row(sha256(old))).to.include({ ref_count: 0 });
    const kept = await srv.app.collectGarbage(60_000);
    expect(kept.blobsRemoved).to.equal(0);
    expect(await blobExists(srv, sha256(old))).to.equal(true);
    const swept = await srv.app.collectGarbage(0);
    expect(swept.blobsRemoved).to.equal(1);
    expect(await row(sha256(old))).to.equal(undefined);
    expect(await blobExists(srv, sha256(old))).to.equal(false);
  });

  it('a blob that regains a reference before GC is kept', async () => {
    const bytes = patternChunk(3, 4000); // inline
    await a.upload(u.rootId, 'w.bin', bytes);
    await replaceForgetting('w.bin', 'other'); // released
    const again = await a.upload(u.rootId, 'w2.bin', bytes); // dedups onto it again
    await srv.app.collectGarbage(0);
    expect(await row(sha256(bytes))).to.include({ ref_count: 1 });
    expect(Buffer.from(await (await a.get(`/api/files/${again.id}/content`)).arrayBuffer()).equals(bytes)).to.equal(
      true,
    );
  });

  it('removes blob files without a row and stale temp files, but only past the grace period', async () => {
    const orphan = '0'.repeat(63) + '1';
    await writeStoredBlob(srv, orphan, Buffer.from('orphan'));
    const temp = path.join(srv.dataDir, 'tmp', 'crashed-upload.part');
    fs.writeFileSync(temp, 'partial');
    await srv.app.collectGarbage(60_000);
    expect(await blobExists(srv, orphan)).to.equal(true);
    expect(fs.existsSync(temp)).to.equal(true);
    const old = new Date(Date.now() - 120_000);
    await ageStoredBlob(srv, orphan, old.getTime());
    fs.utimesSync(temp, old, old);
    const r = await srv.app.collectGarbage(60_000);
    expect(r.orphanFilesRemoved).to.equal(1);
    expect(r.tempFilesRemoved).to.equal(1);
    expect(await blobExists(srv, orphan)).to.equal(false);
    expect(fs.existsSync(temp)).to.equal(false);
  });

  const age = (hash: string) => ageReleasedBlob(srv, hash);

  it('never deletes a blob that a concurrent upload dedups onto (GC racing uploads)', async () => {
    const bytes = patternChunk(4, FILE);
    for (let i = 0; i < 8; i++) {
      await a.upload(u.rootId, `race-${i}.bin`, bytes);
      await replaceForgetting(`race-${i}.bin`, `replaced ${i}`); // bytes now unreferenced
      await age(sha256(bytes)); // a candidate for the collector, unless an upload touches it
      const [up] = await Promise.all([
        a.upload(u.rootId, `race-${i}-again.bin`, bytes),
        srv.app.collectGarbage(60_000),
        srv.app.collectGarbage(60_000),
      ]);
      const res = await a.get(`/api/files/${up.id}/content`);
      expect(res.status).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes), `round ${i}`).to.equal(true);
      await a.delete(`/api/nodes/${up.id}`);
    }
    await expectFsckClean(srv);
    const known = new Set((await blobRows(srv)).map((r) => r.hash));
    expect((await storedBlobs(srv)).filter((h) => !known.has(h))).to.deep.equal([]);
  });

  it('spares a blob an upload has placed but not yet committed (placed before its transaction)', async () => {
    // An upload places its blob (here: dedups onto the released one, refreshing its mtime) before the
    // transaction that takes the reference. Between the two, the collector must leave it alone
    // although its row is unreferenced and was released long ago.
    const bytes = patternChunk(5, FILE);
    await a.upload(u.rootId, 'pending.bin', bytes);
    await replaceForgetting('pending.bin', 'other');
    await age(sha256(bytes));
    const staged = await srv.app.blobs.stage(Readable.from([bytes]));
    await srv.app.blobs.place(staged); // the upload's first step; its transaction has not run yet
    const r = await srv.app.collectGarbage(60_000);
    expect(r.blobsRemoved).to.equal(0);
    expect(await row(sha256(bytes))).to.include({ ref_count: 0 });
    expect((await readStoredBlob(srv, sha256(bytes))).equals(bytes)).to.equal(true);
    // Once the grace period has passed without a reference, the blob goes.
    await age(sha256(bytes));
    expect((await srv.app.collectGarbage(60_000)).blobsRemoved).to.equal(1);
    expect(await row(sha256(bytes))).to.equal(undefined);
    expect(await blobExists(srv, sha256(bytes))).to.equal(false);
  });
});
