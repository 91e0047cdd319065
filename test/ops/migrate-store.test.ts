/**
 * `npm run migrate-store -- --blobs s3://…` on a running local-disk install: every blob file the
 * database refers to lands in the bucket with the same bytes (size and sha256 read back from the
 * store), small files stay in the database, a second run copies nothing, a run after damage copies
 * exactly the missing and the wrong-sized objects, and a server started on the same data directory
 * with BLOB_STORE pointing at the bucket (its blobs/ folder gone) serves everything and fsck is clean.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { sharedS3Server, type S3TestServer } from '../support/s3.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { blobRows, expectFsckClean, hashBody, MiB, patternChunk, sha256 } from '../support/store.js';
import { cleanEnv, ensureBuild, ROOT } from './support.js';

describe('npm run migrate-store (local disk → S3-compatible bucket)', function () {
  this.timeout(180_000);
  let s3: S3TestServer;
  let bucket: string;
  let srv: TestServer;
  let moved: TestServer | undefined;
  let u: TestUser;
  let a: Api;
  const files = new Map<string, Buffer>();

  const s3Env = () => {
    const { BLOB_STORE: _, ...rest } = s3.env(bucket, { prefix: 'coffer' });
    return { ...rest, S3_PART_SIZE: '5MiB' };
  };
  const migrate = (args: string[]) =>
    spawnSync(process.execPath, ['dist/server/migrate-store.js', ...args], {
      cwd: ROOT,
      env: cleanEnv({ DATA_DIR: srv.dataDir, ...srv.databaseEnv, ...s3Env() }),
      encoding: 'utf8',
      timeout: 120_000,
    });
  const target = () => `s3://${bucket}/coffer`;
  const object = async (hash: string) => {
    const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: `coffer/${hash}` }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };

  before(async () => {
    ensureBuild();
    s3 = await sharedS3Server();
    bucket = await s3.newBucket();
    srv = await startTestServer({ env: { BLOB_STORE: 'local' } }); // the source is a local-disk install on every run
    u = await createUser(srv);
    a = api(srv.url).as(u);
    files.set('small.txt', patternChunk(1, 4096)); // inline: stays in the database
    files.set('a.bin', patternChunk(2, 300_000));
    files.set('b.bin', patternChunk(3, 200_000));
    files.set('big.bin', patternChunk(4, 6 * MiB)); // above S3_PART_SIZE: a multipart upload
    for (const [name, bytes] of files) await a.upload(u.rootId, name, bytes);
    await a.upload(u.rootId, 'a.bin', patternChunk(5, 100_000), '?overwrite=true'); // a.bin's first bytes: a version
    files.set('a.bin', patternChunk(5, 100_000));
  });
  after(async () => {
    await moved?.close();
    await srv.close();
  });

  it('copies every referenced blob file, verified, while the server runs; a second run copies nothing', async () => {
    const r = migrate(['--blobs', target()]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const onDisk = (await blobRows(srv)).filter((b) => b.size > 64 * 1024);
    expect(onDisk).to.have.length(4); // 300 kB (kept as a version), 200 kB, 100 kB, 6 MiB
    expect(r.stdout).to.match(new RegExp(`: 4 copied \\(\\d+ bytes, re-hashed\\), 0 already there, 1 small files`));
    for (const b of onDisk) {
      const bytes = await object(b.hash);
      expect(bytes.length, b.hash).to.equal(b.size);
      expect(sha256(bytes)).to.equal(b.hash);
    }
    const again = migrate(['--blobs', target()]);
    expect(again.status, again.stdout + again.stderr).to.equal(0);
    expect(again.stdout).to.match(/: 0 copied \(0 bytes, re-hashed\), 4 already there/);
  });

  it('resumes: copies again exactly the objects that are missing or have the wrong size', async () => {
    const [gone, cut] = (await blobRows(srv)).filter((b) => b.size > 64 * 1024);
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `coffer/${gone!.hash}` }));
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `coffer/${cut!.hash}`, Body: Buffer.alloc(10) }));
    const r = migrate(['--blobs', target()]);
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/: 2 copied \(\d+ bytes, re-hashed\), 2 already there/);
    for (const b of [gone!, cut!]) expect(sha256(await object(b.hash))).to.equal(b.hash);
  });

  it('refuses a database it cannot use before copying anything, without echoing the password; a bucket it cannot reach; says how it is used', () => {
    const r = migrate(['--to', 'postgres://coffer:secret-pw@127.0.0.1:1/coffer', '--blobs', target()]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('postgres://…@127.0.0.1:1/coffer cannot be used').and.not.contain('secret-pw');
    const lost = migrate(['--blobs', 's3://no-such-bucket-here/coffer']);
    expect(lost.status).to.equal(2);
    expect(lost.stderr).to.contain('s3://no-such-bucket-here/coffer cannot be reached');
    const none = migrate([]);
    expect(none.status).to.equal(2);
    expect(none.stderr).to.contain('usage: npm run migrate-store -- --blobs s3://bucket/prefix');
  });

  it('a server on the same data directory with BLOB_STORE set to the bucket serves every file; fsck is clean', async () => {
    await srv.stop();
    fs.rmSync(path.join(srv.dataDir, 'blobs'), { recursive: true, force: true });
    moved = await startTestServer({
      env: { DATA_DIR: srv.dataDir, ...srv.databaseEnv, ...s3.env(bucket, { prefix: 'coffer' }) },
    });
    const m = api(moved.url).as(u);
    const listed = await m.children(u.rootId);
    for (const [name, bytes] of files) {
      const node = listed.find((n) => n.name === name)!;
      expect((await hashBody(await m.get(`/api/files/${node.id}/content`))).sha256, name).to.equal(sha256(bytes));
    }
    await expectFsckClean(moved);
  });

  it('npm run fsck on the S3 install checks sizes by default and re-hashes with --deep', async () => {
    const victim = (await blobRows(moved!)).find((b) => b.size > 64 * 1024)!;
    await moved!.stop();
    const fsck = (args: string[]) =>
      spawnSync(process.execPath, ['dist/server/fsck.js', ...args], {
        cwd: ROOT,
        env: cleanEnv({ DATA_DIR: srv.dataDir, ...srv.databaseEnv, ...s3.env(bucket, { prefix: 'coffer' }) }),
        encoding: 'utf8',
        timeout: 60_000,
      });
    const clean = fsck(['--deep']);
    expect(clean.status, clean.stdout + clean.stderr).to.equal(0);
    expect(clean.stdout).to.contain(`(blobs in s3://${bucket}/coffer)`);
    const bytes = await object(victim.hash);
    bytes[100] = bytes[100]! ^ 0xff; // same size, other bytes
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `coffer/${victim.hash}`, Body: bytes }));
    const quick = fsck([]);
    expect(quick.status, quick.stdout).to.equal(0);
    expect(quick.stdout).to.contain('sizes only; with --deep every blob is re-hashed');
    const deep = fsck(['--deep']);
    expect(deep.status, deep.stdout).to.equal(1);
    expect(deep.stdout).to.contain(`PROBLEM: blob ${victim.hash}: content hashes to`);
  });
});
