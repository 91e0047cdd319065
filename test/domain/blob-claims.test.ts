/**
 * The collector on one instance and uploads on another, sharing one database and one bucket
 * (server/domain/blob-claims.ts). The object store's check and deletion are two requests; a proxy
 * holds one of them back so that the other instance acts exactly in between. Always on S3 (s3rver):
 * the local disk's removal is atomic and claims nothing.
 */
import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sharedS3Server } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ageReleasedBlob, blobExists, blobRows, expectFsckClean, patternChunk, sha256 } from '../support/store.js';

/** Above the inline limit (64 KiB): these bytes go to an object. */
const FILE = 80 * 1024;

describe('blob claims: the collector and uploads on two instances sharing a bucket', function () {
  this.timeout(60_000);
  let proxy: FaultProxy;
  let uploader: TestServer;
  let collector: TestServer;
  let u: TestUser;
  let a: Api;

  before(async () => {
    const s3 = await sharedS3Server();
    const bucket = await s3.newBucket();
    proxy = await startFaultProxy(s3.port);
    const env = s3.env(bucket, { endpoint: proxy.url });
    uploader = await startTestServer({ env });
    collector = await startTestServer({ env, shareStoreWith: uploader });
    u = await createUser(uploader);
    a = api(uploader.url).as(u);
  });
  after(async () => {
    await expectFsckClean(uploader);
    await collector.close();
    await uploader.close();
    await proxy.close();
  });

  /** Uploads `bytes`, then deletes the file and empties the bin: its object is unreferenced and, aged, due for collection. */
  async function unreferenced(name: string, bytes: Buffer): Promise<string> {
    const node = await a.upload(u.rootId, name, bytes);
    expect((await a.delete(`/api/nodes/${node.id}`)).status).to.equal(204);
    expect((await a.delete('/api/trash')).status).to.be.oneOf([200, 204]);
    const hash = sha256(bytes);
    expect((await blobRows(uploader)).find((r) => r.hash === hash)).to.include({ ref_count: 0 });
    await ageReleasedBlob(uploader, hash);
    return hash;
  }
  const settledWithin = (p: Promise<unknown>, ms: number) =>
    Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);
  async function expectContent(id: string, bytes: Buffer): Promise<void> {
    const res = await a.get(`/api/files/${id}/content`);
    expect(res.status).to.equal(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).to.equal(true);
  }

  it('an upload of the same bytes waits for a deletion in progress, then stores its own copy', async () => {
    const bytes = patternChunk(21, FILE);
    const hash = await unreferenced('first.bin', bytes);
    // The collector has checked the object (old, unreferenced) and sent its DeleteObject, held here.
    const deletion = proxy.hold('DELETE');
    let gc, upload;
    try {
      gc = collector.app.collectGarbage(60_000);
      await deletion.held;
      // Without a claim this upload would refresh the object, commit its reference and lose its
      // bytes to the DeleteObject released below.
      upload = a.upload(u.rootId, 'again.bin', bytes);
      expect(await settledWithin(upload, 500), 'the upload waits while the deletion is in progress').to.equal(false);
    } finally {
      deletion.release();
    }
    expect((await gc).blobsRemoved).to.equal(1);
    const node = await upload;
    await expectContent(node.id, bytes);
    expect(await blobExists(uploader, hash)).to.equal(true);
    await expectFsckClean(uploader);
  });

  it('the collector leaves alone a blob that an upload on another instance is placing', async () => {
    const bytes = patternChunk(22, FILE);
    const hash = await unreferenced('second.bin', bytes);
    // The upload has claimed the blob and is refreshing the object (a CopyObject onto itself, held
    // here) before the transaction that takes its reference.
    const refresh = proxy.hold('PUT');
    let upload;
    try {
      upload = a.upload(u.rootId, 'placing.bin', bytes);
      await refresh.held;
      const r = await collector.app.collectGarbage(60_000);
      expect(r.blobsRemoved, 'the collector gave up on the claimed blob').to.equal(0);
      expect(await blobExists(collector, hash)).to.equal(true);
    } finally {
      refresh.release();
    }
    const node = await upload;
    await expectContent(node.id, bytes);
    expect((await blobRows(uploader)).find((row) => row.hash === hash)).to.include({ ref_count: 1 });
  });

  it('claims end with their upload or deletion, and the collector removes what is due', async () => {
    const bytes = patternChunk(23, FILE);
    const hash = await unreferenced('third.bin', bytes);
    const claims = () => uploader.app.db.all('SELECT id FROM blob_claims');
    expect(await claims()).to.deep.equal([]);
    expect((await collector.app.collectGarbage(60_000)).blobsRemoved).to.equal(1);
    expect(await blobExists(uploader, hash)).to.equal(false);
    expect(await claims()).to.deep.equal([]);
  });
});
