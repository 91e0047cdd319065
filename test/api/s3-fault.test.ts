/**
 * The object store fails mid-upload (a TCP proxy between Coffer and s3rver refuses connections, or
 * cuts them after some bytes): the client gets a 503 with Retry-After — not a hang, not a bare
 * 500 — through WebDAV and the API, no
 * node and no object appear, no multipart upload is left behind (or, when not even the abort could
 * reach the store, the GC's sweep aborts it), and the next upload works.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { S3BlobStore } from '../../storage/s3.js';
import { Dav } from '../dav/support.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { sharedS3Server, type S3TestServer } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, expectFsckClean, hashBody, MiB, patternChunk, sha256, tempFiles } from '../support/store.js';

describe('S3 faults: the object store refuses or drops the connection mid-upload', function () {
  this.timeout(120_000);
  let s3: S3TestServer;
  let bucket: string;
  let proxy: FaultProxy;
  let srv: TestServer;
  let u: TestUser;
  let a: Api;

  before(async () => {
    s3 = await sharedS3Server();
    bucket = await s3.newBucket();
    proxy = await startFaultProxy(s3.port);
    srv = await startTestServer({
      env: {
        ...s3.env(bucket, { endpoint: proxy.url }),
        S3_PART_SIZE: '5MiB',
        S3_PARTS_IN_FLIGHT: '2',
        S3_TIMEOUT: '1',
      },
    });
    u = await createUser(srv);
    a = api(srv.url).as(u);
  });
  afterEach(() => (proxy.mode = { kind: 'pass' }));
  after(async () => {
    // Each failure was logged for the operator, with the object store's own error as its cause.
    expect(srv.errors.length).to.be.greaterThan(0);
    for (const line of srv.errors) expect(JSON.parse(line).err.cause, line.slice(0, 300)).to.be.an('object');
    await expectFsckClean(srv);
    await srv.close();
    await proxy.close();
  });

  /** Nothing of a failed upload is left: no node, no object, no multipart upload, no temp file. */
  async function expectNothingLeft(name: string, hash: string): Promise<void> {
    expect((await a.children(u.rootId)).map((n) => n.name)).to.not.include(name);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `blobs/${hash}` })).then(
      () => 'found',
      (err: Error) => err.name,
    );
    expect(head, 'the object').to.equal('NotFound');
    expect(await s3.multipartUploads(bucket), 'multipart uploads left in the bucket').to.deep.equal([]);
    await eventually(() => tempFiles(srv.dataDir).length === 0, 3000, 'tmp/ to be empty');
  }

  async function expectUploadWorks(name: string, bytes: Buffer): Promise<void> {
    const node = await a.upload(u.rootId, name, bytes);
    const res = await a.get(`/api/files/${node.id}/content`);
    expect(res.status).to.equal(200);
    expect((await hashBody(res)).sha256).to.equal(sha256(bytes));
  }

  it('WebDAV PUT of a multipart-sized file, the connection cut mid-part: 5xx, nothing left, the next PUT works', async () => {
    const bytes = patternChunk(41, 12 * MiB);
    proxy.mode = { kind: 'cut', afterBytes: MiB };
    const res = await Dav.for(srv, u).put('/dav/cut.bin', bytes);
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('30');
    expect(proxy.faults).to.be.greaterThan(0);
    proxy.mode = { kind: 'pass' };
    await expectNothingLeft('cut.bin', sha256(bytes));
    expect((await Dav.for(srv, u).put('/dav/cut.bin', bytes)).status).to.equal(201);
    const back = await Dav.for(srv, u).request('GET', '/dav/cut.bin');
    expect((await hashBody(back)).sha256).to.equal(sha256(bytes));
  });

  it('API upload above the inline limit (one PutObject), the store refusing connections: 5xx, nothing left, the next works', async () => {
    const bytes = patternChunk(42, 200 * 1024);
    proxy.mode = { kind: 'refuse' };
    const started = Date.now();
    const res = await a.put(`/api/folders/${u.rootId}/files/refused.bin`, bytes);
    expect(res.status).to.equal(503);
    expect((await res.json()).error.code).to.equal('storage_unavailable');
    expect(Date.now() - started, 'answered, not hung').to.be.below(30_000);
    proxy.mode = { kind: 'pass' };
    await expectNothingLeft('refused.bin', sha256(bytes));
    await expectUploadWorks('refused.bin', bytes);
  });

  it('a store that goes away mid-upload and stays away (the abort cannot reach it): 5xx; the GC aborts the orphaned multipart upload', async () => {
    const bytes = patternChunk(43, 11 * MiB);
    proxy.mode = { kind: 'cut', afterBytes: 2 * MiB, thenRefuse: true };
    const res = await a.put(`/api/folders/${u.rootId}/files/gone.bin`, bytes);
    await res.arrayBuffer();
    expect(res.status).to.equal(503);
    proxy.mode = { kind: 'pass' };
    expect((await a.children(u.rootId)).map((n) => n.name)).to.not.include('gone.bin');
    const left = await s3.multipartUploads(bucket);
    expect(
      left.map((x) => x.key),
      'the upload the store never heard aborted',
    ).to.deep.equal([`blobs/${sha256(bytes)}`]);
    // The GC's sweep aborts multipart uploads older than a day; "a day later" stands in for the wait.
    expect(await (srv.app.blobs as S3BlobStore).abortStaleUploads(Date.now() + 1000)).to.equal(1);
    await expectNothingLeft('gone.bin', sha256(bytes));
    await expectUploadWorks('gone.bin', bytes);
  });

  it('a download while the store refuses connections fails at once (5xx), and works again after', async () => {
    const bytes = patternChunk(44, 300 * 1024);
    const node = await a.upload(u.rootId, 'read-me.bin', bytes);
    proxy.mode = { kind: 'refuse' };
    const res = await a.get(`/api/files/${node.id}/content`);
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('30');
    expect((await res.json()).error.code).to.equal('storage_unavailable');
    proxy.mode = { kind: 'pass' };
    expect((await hashBody(await a.get(`/api/files/${node.id}/content`))).sha256).to.equal(sha256(bytes));
  });

  it('a store that takes a request and never answers: 503 once S3_TIMEOUT has passed on every attempt, not a hang', async () => {
    const bytes = patternChunk(45, 200 * 1024);
    const node = await a.upload(u.rootId, 'silent.bin', bytes);
    for (const [method, send] of [
      ['PUT', () => a.put(`/api/folders/${u.rootId}/files/silent-too.bin`, patternChunk(46, 200 * 1024))],
      ['GET', () => a.get(`/api/files/${node.id}/content`)],
    ] as const) {
      const silent = proxy.hold(method);
      try {
        const started = Date.now();
        const res = await send();
        expect(res.status, method).to.equal(503);
        expect((await res.json()).error.code).to.equal('storage_unavailable');
        // Three attempts of one second each, and the SDK's backoff between them.
        expect(Date.now() - started, `${method} answered, not hung`).to.be.within(2500, 20_000);
      } finally {
        silent.release();
      }
    }
    await expectUploadWorks('silent-too.bin', patternChunk(46, 200 * 1024));
  });
});
