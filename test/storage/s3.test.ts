/**
 * The S3 blob store (storage/s3.ts) against a real S3-compatible server (s3rver): what it stores is
 * exactly what was sent (sizes and hashes read back from the server, and from s3rver's own files —
 * the SDK's default checksum framing would add bytes without an error), ranges, dedup with a
 * refreshed stamp, the GC's grace, paged listing, re-hashing, and the sweep of stale multipart uploads.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  CopyObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { blobStoreSettings, ConfigError, loadConfig } from '../../config/index.js';
import { S3BlobStore } from '../../storage/s3.js';
import { ObjectReader } from '../../storage/s3-reader.js';
import { MiB, patternChunk, sha256 } from '../support/store.js';
import { sharedS3Server, type S3TestServer } from '../support/s3.js';

const PART = 5 * MiB;

describe('S3 blob store (s3rver on loopback)', () => {
  let s3: S3TestServer;
  let bucket: string;
  let dataDir: string;
  let store: S3BlobStore;

  const newStore = (b: string, prefix = 'blobs') =>
    S3BlobStore.open(
      {
        bucket: b,
        prefix,
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        partSize: PART,
        partsInFlight: 2,
        timeoutSeconds: 60,
      },
      dataDir,
    );
  const put = async (bytes: Buffer) => {
    const staged = await store.stage(Readable.from([bytes]));
    await store.place(staged);
    return staged;
  };
  /** The object's bytes as s3rver keeps them on its disk. */
  const rawObject = (hash: string) => fs.readFileSync(path.join(s3.dir, bucket, 'blobs', `${hash}._S3rver_object`));
  const read = async (stream: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const setStamp = (hash: string, ms: number) =>
    s3.client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: `blobs/${hash}`,
        CopySource: `${bucket}/blobs/${hash}`,
        MetadataDirective: 'REPLACE',
        Metadata: { touched: String(ms) },
      }),
    );

  before(async () => {
    s3 = await sharedS3Server();
  });
  beforeEach(async () => {
    bucket = await s3.newBucket();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-s3store-'));
    store = await newStore(bucket);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores exactly the bytes sent, under <prefix>/<sha256>: one PutObject, and a multipart upload above the part size', async () => {
    for (const size of [1000, 70 * 1024, PART, 2 * PART + 12345]) {
      const bytes = patternChunk(size, size);
      const staged = await put(bytes);
      expect(staged.hash).to.equal(sha256(bytes));
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `blobs/${staged.hash}` }));
      expect(head.ContentLength, `stored size of ${size}`).to.equal(size);
      const raw = rawObject(staged.hash);
      expect(raw.length, `bytes on s3rver's disk for ${size}`).to.equal(size);
      expect(sha256(raw)).to.equal(staged.hash);
      expect(await store.verify(staged.hash)).to.deep.equal({ hash: staged.hash, size });
      expect(fs.existsSync(staged.tempPath), 'the temp file is gone once placed').to.equal(false);
    }
    expect(await s3.multipartUploads(bucket)).to.deep.equal([]);
  });

  it('keeps a body within memoryLimit in memory: no temp file, nothing in the bucket', async () => {
    const bytes = patternChunk(3, 4000);
    const staged = await store.stage(Readable.from([bytes]), { memoryLimit: 64 * 1024 });
    expect(staged.tempPath).to.equal(null);
    expect(staged.bytes?.equals(bytes)).to.equal(true);
    expect(fs.readdirSync(path.join(dataDir, 'tmp'))).to.deep.equal([]);
    expect(await store.stat(staged.hash)).to.equal(null);
  });

  it('opens a blob whole or by inclusive range, emits ready first, and fails a missing blob with ENOENT', async () => {
    const bytes = patternChunk(4, PART + 100);
    const { hash } = await put(bytes);
    const whole = store.open(hash);
    let ready = false;
    whole.once('ready', () => (ready = true));
    expect((await read(whole)).equals(bytes)).to.equal(true);
    expect(ready).to.equal(true);
    for (const [start, end] of [
      [0, 0],
      [10, 19],
      [PART - 1, PART + 1],
      [bytes.length - 1, bytes.length - 1],
    ] as const) {
      const got = await read(store.open(hash, { start, end }));
      expect(got.length, `bytes ${start}-${end}`).to.equal(end - start + 1);
      expect(got.equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`).to.equal(true);
    }
    const missing = store.open(sha256('nothing'));
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => missing.once('error', resolve));
    expect(err.code).to.equal('ENOENT');
  });

  it('a reader destroyed mid-body releases its request (the next reads work)', async () => {
    const bytes = patternChunk(5, 3 * MiB);
    const { hash } = await put(bytes);
    for (let i = 0; i < 8; i++) {
      const r = store.open(hash);
      await new Promise<void>((resolve) => r.once('data', () => resolve()));
      r.destroy();
    }
    expect(await store.verify(hash)).to.deep.equal({ hash, size: bytes.length });
  });

  it('dedups: placing existing content uploads nothing and refreshes its stamp', async () => {
    const bytes = patternChunk(6, 100 * 1024);
    const { hash } = await put(bytes);
    await setStamp(hash, Date.now() - 3600_000);
    const before = (await store.stat(hash))!;
    expect(before.mtimeMs).to.be.below(Date.now() - 3000_000);
    const again = await put(bytes);
    expect(again.hash).to.equal(hash);
    const after = (await store.stat(hash))!;
    expect(after.size).to.equal(bytes.length);
    expect(after.mtimeMs).to.be.above(Date.now() - 60_000);
    expect(fs.existsSync(again.tempPath)).to.equal(false);
    expect(sha256(rawObject(hash))).to.equal(hash);
  });

  it('replaces an object of the wrong size under a blob name (a damaged copy) instead of dedup-ing onto it', async () => {
    const bytes = patternChunk(9, 100 * 1024);
    await s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: `blobs/${sha256(bytes)}`, Body: bytes.subarray(0, 10) }),
    );
    const { hash } = await put(bytes);
    expect((await store.stat(hash))?.size).to.equal(bytes.length);
    expect(sha256(rawObject(hash))).to.equal(hash);
  });

  it('GC: removeUnlessTouched keeps an object touched within the grace period and removes an older one', async () => {
    const { hash } = await put(patternChunk(7, 80 * 1024));
    expect(await store.removeUnlessTouched(hash, 60_000)).to.equal(false);
    expect(await store.stat(hash)).to.not.equal(null);
    await setStamp(hash, Date.now() - 120_000);
    expect(await store.removeUnlessTouched(hash, 60_000)).to.equal(true);
    expect(await store.stat(hash)).to.equal(null);
    expect(await store.removeUnlessTouched(hash, 60_000), 'already gone').to.equal(true);
  });

  it('lists every blob under its prefix across pages, ignoring other keys', async () => {
    const hashes = Array.from({ length: 1005 }, (_, i) => sha256(`blob ${i}`));
    for (let i = 0; i < hashes.length; i += 50) {
      await Promise.all(
        hashes
          .slice(i, i + 50)
          .map((h) =>
            s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `blobs/${h}`, Body: Buffer.alloc(0) })),
          ),
      );
    }
    for (const key of ['blobs/readme.txt', `other/${sha256('x')}`, `blobs/deeper/${sha256('y')}`])
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    const listed: string[] = [];
    for await (const h of store.list()) listed.push(h);
    expect(listed.sort()).to.deep.equal([...hashes].sort());
  });

  it('verify re-hashes what is stored: changed bytes under a blob name show', async () => {
    const { hash } = await put(patternChunk(8, 90 * 1024));
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `blobs/${hash}`, Body: Buffer.alloc(90 * 1024) }));
    const v = await store.verify(hash);
    expect(v.size).to.equal(90 * 1024);
    expect(v.hash).to.not.equal(hash);
  });

  it('aborts multipart uploads under its prefix older than a day (the GC step), and only those', async () => {
    const start = (Key: string) => s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    await start(`blobs/${sha256('left by a crash')}`);
    await start(`elsewhere/${sha256('not ours')}`);
    expect(await store.sweepTemp(Date.now() - 60_000), 'a fresh upload may still be running').to.equal(0);
    expect(await store.abortStaleUploads(Date.now() + 1000)).to.equal(1);
    expect((await s3.multipartUploads(bucket)).map((u) => u.key)).to.deep.equal([`elsewhere/${sha256('not ours')}`]);
  });

  it('probe: answers for its bucket, rejects for a missing one', async () => {
    await store.probe();
    const lost = await newStore('no-such-bucket-here');
    try {
      let failed = false;
      await lost.probe().catch(() => (failed = true));
      expect(failed).to.equal(true);
    } finally {
      await lost.close();
    }
  });
});

describe('ObjectReader (storage/s3-reader.ts): the stream open() returns', () => {
  const body = (chunks: Buffer[]) => Readable.from(chunks, { objectMode: false });
  const read = async (r: Readable) => {
    const out: Buffer[] = [];
    for await (const c of r) out.push(c as Buffer);
    return Buffer.concat(out);
  };

  it('fails a body that ends short of its Content-Length (a connection cut mid-download) instead of ending quietly', async () => {
    const r = new ObjectReader(async () => ({ body: body([Buffer.alloc(10)]), length: 20 }));
    let err: Error | undefined;
    await read(r).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('object body ended after 10 of 20 bytes');
  });

  it('emits ready before the first byte, and passes the body through whole', async () => {
    const r = new ObjectReader(async () => ({ body: body([Buffer.from('abc'), Buffer.from('de')]), length: 5 }));
    await once(r, 'ready');
    expect((await read(r)).toString()).to.equal('abcde');
  });

  it('destroyed while the request is on its way: aborts it, and a body that still comes is dropped', async () => {
    let signal: AbortSignal | undefined;
    let late: Readable | undefined;
    const r = new ObjectReader(async (s) => {
      signal = s;
      await new Promise((resolve) => setTimeout(resolve, 50));
      late = body([Buffer.alloc(5)]);
      return { body: late, length: 5 };
    });
    r.on('error', () => {});
    await new Promise((resolve) => setImmediate(resolve));
    r.destroy();
    expect(signal?.aborted).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(late?.destroyed).to.equal(true);
  });
});

describe('BLOB_STORE configuration (config/index.ts)', () => {
  const base = { DATA_DIR: '/tmp/coffer-config-check' };
  const error = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as Error).message;
    }
    return null;
  };

  it('unset or local: the local disk; s3://bucket/prefix: the bucket, the prefix without slashes, and the S3 settings', () => {
    expect(loadConfig(base).blobStore).to.deep.equal({ kind: 'local' });
    expect(loadConfig({ ...base, BLOB_STORE: 'local' }).blobStore).to.deep.equal({ kind: 'local' });
    const s3 = loadConfig({
      ...base,
      BLOB_STORE: 's3://coffer-blobs/prod/eu/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PART_SIZE: '16MiB',
      S3_TIMEOUT: '2m',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    }).blobStore;
    expect(s3).to.deep.equal({
      kind: 's3',
      bucket: 'coffer-blobs',
      prefix: 'prod/eu',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      partSize: 16 * MiB,
      partsInFlight: 4,
      timeoutSeconds: 120,
    });
    expect(blobStoreSettings('s3://bucket', {})).to.include({ bucket: 'bucket', prefix: '', credentials: undefined });
  });

  it('refuses a bad location, half a credential pair and a part size S3 would refuse, naming the variable', () => {
    for (const bad of ['s3://', 's3://Upper', 'http://bucket/x', 's3://bucket//x', 's3://bucket/a/../b'])
      expect(error({ BLOB_STORE: bad }), bad).to.match(/BLOB_STORE: .* is not an S3 location/);
    expect(error({ BLOB_STORE: 's3://bucket', AWS_ACCESS_KEY_ID: 'id' })).to.match(/must be set together/);
    expect(error({ BLOB_STORE: 's3://bucket', S3_PART_SIZE: '1MiB' })).to.match(/S3_PART_SIZE/);
    expect(error({ BLOB_STORE: 's3://bucket', S3_ENDPOINT: 'ftp://x' })).to.match(/S3_ENDPOINT/);
    // The S3 settings are read only when BLOB_STORE names a bucket.
    expect(error({ S3_PART_SIZE: '1MiB' })).to.equal(null);
  });
});
