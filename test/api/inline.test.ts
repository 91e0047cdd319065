/**
 * Inline blobs: a body of at most INLINE_MAX_BYTES is stored in the database by its upload's
 * transaction (one fsync: the commit) and never touches the disk outside it; a larger one spills to
 * a temp file and a blob file. Both kinds are deduplicated, versioned, copied, zipped, ranged,
 * collected and checked the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { INLINE_MAX_BYTES } from '../../server/domain/blob-bytes.js';
import { fsck } from '../../server/domain/maintenance.js';
import { basic, Dav, davUser, type DavUser } from '../dav/support.js';
import { api, createUser, type Api, type NodeJson } from '../support/http.js';
import { send } from '../support/send.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  ageStoredBlob,
  blobRows,
  bytesPlace,
  expectFsckClean,
  expectHealthy,
  patternChunk,
  sha256,
  tempFiles,
  usedBytes,
  writeStoredBlob,
} from '../support/store.js';

const T = INLINE_MAX_BYTES;

describe('inline blobs: small files in the database', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let u: DavUser;
  let a: Api;
  let dav: Dav;
  let seed = 1000;
  const fresh = (size: number) => patternChunk(seed++, size);

  before(async () => {
    srv = await startTestServer({ env: { VERSIONS_COALESCE: '0' } });
    u = await davUser(srv);
    a = api(srv.url).as(u);
    dav = Dav.for(srv, u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const download = async (id: string, headers: Record<string, string> = {}) => {
    const res = await a.get(`/api/files/${id}/content`, headers);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const davGet = async (p: string, headers: Record<string, string> = {}) => {
    const res = await dav.request('GET', p, { headers });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };
  const row = async (hash: string) => (await blobRows(srv)).find((r) => r.hash === hash);
  const nodeNamed = async (folderId: string, name: string): Promise<NodeJson> =>
    (await a.children(folderId)).find((n) => n.name === name)!;

  it('keeps bodies of the limit − 1 and the limit inline and spills the limit + 1 to a blob file, through both doors, sent whole or in small chunks', async () => {
    const folder = await a.mkdir(u.rootId, 'boundary');
    for (const size of [T - 1, T, T + 1]) {
      for (const door of ['api', 'dav'] as const) {
        for (const chunked of [false, true]) {
          const bytes = fresh(size);
          const name = `${door}-${size}-${chunked ? 'chunked' : 'length'}.bin`;
          const r = await send(srv.url, {
            method: 'PUT',
            path: door === 'api' ? `/api/folders/${folder.id}/files/${name}` : `/dav/boundary/${name}`,
            headers:
              door === 'api'
                ? { authorization: `Bearer ${u.token}` }
                : { authorization: basic(u.username, u.password) },
            body: bytes,
            chunked,
            chunkSize: chunked ? 1000 : undefined, // the spill then happens in the middle of the stream
          });
          expect(r.status, `${name}: ${r.text.slice(0, 200)}`).to.equal(201);
          expect(await bytesPlace(srv, sha256(bytes)), name).to.equal(size <= T ? 'inline' : 'file');
          expect(await row(sha256(bytes)), name).to.include({ size, ref_count: 1 });
          const node = await nodeNamed(folder.id, name);
          expect(node.size, name).to.equal(size);
          expect(sha256((await download(node.id)).body), `${name} (API)`).to.equal(sha256(bytes));
          expect(sha256((await davGet(`/dav/boundary/${name}`)).body), `${name} (WebDAV)`).to.equal(sha256(bytes));
        }
      }
    }
    expect(tempFiles(srv.dataDir)).to.deep.equal([]);
  });

  it('a small body never touches the disk outside the database (no temp file, no blob file)', async function () {
    const seen: string[] = [];
    // On S3 there is no blobs/ to watch: what reaches the bucket is checked by bytesPlace elsewhere.
    const watched = srv.s3 ? ['tmp'] : ['tmp', 'blobs'];
    const watchers = watched.map((d) =>
      fs.watch(path.join(srv.dataDir, d), { recursive: true }, (event, file) => seen.push(`${d}/${file}: ${event}`)),
    );
    try {
      await a.upload(u.rootId, 'quiet-api.bin', fresh(T));
      expect((await dav.put('/dav/quiet-dav.bin', fresh(T))).status).to.equal(201);
      await new Promise((r) => setTimeout(r, 200)); // inotify events arrive asynchronously
      expect(seen, 'file system events for inline uploads').to.deep.equal([]);
      // The watchers do see an upload that spills (so the silence above means something).
      await a.upload(u.rootId, 'loud.bin', fresh(T + 1));
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.some((e) => e.startsWith('tmp/'))).to.equal(true);
      if (!srv.s3) expect(seen.some((e) => e.startsWith('blobs/'))).to.equal(true);
    } finally {
      for (const w of watchers) w.close();
    }
  });

  it('deduplicates inline blobs as it does file blobs: one row and one copy of the bytes, a reference per file and copy', async () => {
    const small = fresh(3000);
    const big = fresh(200 * 1024);
    const folder = await a.mkdir(u.rootId, 'dedup');
    const used = await usedBytes(srv, u.id);
    await a.upload(folder.id, 's1.txt', small);
    expect((await dav.put('/dav/dedup/s2.txt', small)).status).to.equal(201);
    await a.upload(folder.id, 'b1.bin', big);
    expect((await dav.put('/dav/dedup/b2.bin', big)).status).to.equal(201);
    const copy = await a.post(`/api/nodes/${folder.id}/copy`, { parentId: u.rootId, name: 'dedup copy' });
    expect(copy.status).to.equal(201);
    expect(await row(sha256(small))).to.include({ ref_count: 4, size: small.length });
    expect(await row(sha256(big))).to.include({ ref_count: 4, size: big.length });
    expect(await bytesPlace(srv, sha256(small))).to.equal('inline');
    expect(await bytesPlace(srv, sha256(big))).to.equal('file');
    const copies = await srv.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM inline_blobs WHERE hash = $h', {
      h: sha256(small),
    });
    expect(Number(copies!.n)).to.equal(1);
    expect(await usedBytes(srv, u.id)).to.equal(used + 4 * small.length + 4 * big.length);
    const copied = await a.children(((await copy.json()) as NodeJson).id);
    for (const n of copied) {
      expect(sha256((await download(n.id)).body), n.name).to.equal(sha256(n.name.startsWith('s') ? small : big));
    }
    await expectFsckClean(srv);
  });

  it('takes in the bytes of a blob an older, lower limit wrote to a file when they are uploaded again; the GC then drops the file', async () => {
    const bytes = fresh(5000);
    const hash = sha256(bytes);
    const first = await a.upload(u.rootId, 'was-a-file.txt', bytes);
    // As a store written when such a blob went to a file: the bytes in blobs/, no inline row.
    await writeStoredBlob(srv, hash, bytes);
    await srv.app.db.run('DELETE FROM inline_blobs WHERE hash = $hash', { hash });
    expect(await bytesPlace(srv, hash)).to.equal('file');
    expect((await download(first.id)).body.equals(bytes)).to.equal(true);
    await expectFsckClean(srv);

    const second = await a.upload(u.rootId, 'now-inline.txt', bytes); // dedups onto the file blob
    expect(await row(hash)).to.include({ ref_count: 2 });
    expect(await bytesPlace(srv, hash)).to.equal('both');
    await expectFsckClean(srv);
    await ageStoredBlob(srv, hash, Date.now() - 3600_000);
    const gc = await srv.app.collectGarbage(60_000);
    expect(gc.orphanFilesRemoved).to.equal(1);
    expect(await bytesPlace(srv, hash)).to.equal('inline');
    for (const n of [first, second]) expect((await download(n.id)).body.equals(bytes), n.name).to.equal(true);
    await expectFsckClean(srv);
  });

  it('serves Ranges of an inline file through the API and WebDAV: a part, a suffix, and 416 past the end', async () => {
    const bytes = fresh(10_000);
    const node = await a.upload(u.rootId, 'ranged.bin', bytes);
    expect(await bytesPlace(srv, node.etag)).to.equal('inline');
    const part = await download(node.id, { range: 'bytes=100-1099' });
    expect(part.status).to.equal(206);
    expect(part.headers.get('content-range')).to.equal('bytes 100-1099/10000');
    expect(part.body.equals(bytes.subarray(100, 1100))).to.equal(true);
    const tail = await davGet('/dav/ranged.bin', { range: 'bytes=-10' });
    expect(tail.status).to.equal(206);
    expect(tail.body.equals(bytes.subarray(9990))).to.equal(true);
    const mid = await davGet('/dav/ranged.bin', { range: 'bytes=9999-' });
    expect(mid.status).to.equal(206);
    expect(mid.body.equals(bytes.subarray(9999))).to.equal(true);
    expect((await download(node.id, { range: 'bytes=10000-' })).status).to.equal(416);
    expect((await davGet('/dav/ranged.bin', { range: 'bytes=20000-30000' })).status).to.equal(416);
    const head = await dav.request('HEAD', '/dav/ranged.bin');
    expect(head.headers.get('content-length')).to.equal('10000');
  });

  it('keeps versions of inline files; they download byte for byte and restore', async () => {
    const v1 = fresh(2000);
    const v2 = fresh(T);
    const v3 = fresh(T + 10); // the current content spills to a file; the versions stay inline
    const file = await a.upload(u.rootId, 'versioned.txt', v1);
    await a.upload(u.rootId, 'versioned.txt', v2, '?overwrite=true');
    expect((await dav.put('/dav/versioned.txt', v3)).status).to.equal(204);
    const list = (
      await a.json<{ items: { id: string; etag: string; size: number }[] }>(a.get(`/api/nodes/${file.id}/versions`))
    ).items;
    expect(list.map((v) => v.etag)).to.deep.equal([sha256(v2), sha256(v1)]);
    for (const [v, bytes] of [
      [list[0]!, v2],
      [list[1]!, v1],
    ] as const) {
      expect(await bytesPlace(srv, v.etag)).to.equal('inline');
      const res = await a.get(`/api/nodes/${file.id}/versions/${v.id}/content`);
      expect(res.status).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).to.equal(true);
      const ranged = await a.get(`/api/nodes/${file.id}/versions/${v.id}/content`, { range: 'bytes=5-9' });
      expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(5, 10))).to.equal(true);
    }
    const restored = await a.post(`/api/nodes/${file.id}/versions/${list[1]!.id}/restore`);
    expect(restored.status).to.equal(200);
    expect((await download(file.id)).body.equals(v1)).to.equal(true);
    expect((await davGet('/dav/versioned.txt')).body.equals(v1)).to.equal(true);
    await expectFsckClean(srv);
  });

  /** Replaces a file's content and deletes the versions that kept the old bytes: they are released. */
  async function replaceForgetting(id: string, name: string, body: Buffer): Promise<void> {
    await a.upload(u.rootId, name, body, '?overwrite=true');
    const { items } = await a.json<{ items: { id: string }[] }>(a.get(`/api/nodes/${id}/versions`));
    for (const v of items) expect((await a.delete(`/api/nodes/${id}/versions/${v.id}`)).status).to.equal(204);
  }

  it('collects released inline blobs after the grace period (overwritten, and purged from the bin): row and bytes go together', async () => {
    const old = fresh(4000);
    const node = await a.upload(u.rootId, 'gc-me.txt', old);
    await replaceForgetting(node.id, 'gc-me.txt', fresh(100));
    const binned = fresh(6000);
    const folder = await a.mkdir(u.rootId, 'gc-folder');
    await a.upload(folder.id, 'inside.txt', binned);
    expect((await a.delete(`/api/nodes/${folder.id}`)).status).to.equal(204);
    expect((await a.delete(`/api/trash/${folder.id}`)).status).to.equal(200);
    for (const b of [old, binned]) expect(await row(sha256(b))).to.include({ ref_count: 0 });
    expect((await srv.app.collectGarbage(60_000)).blobsRemoved).to.equal(0);
    for (const b of [old, binned]) expect(await bytesPlace(srv, sha256(b))).to.equal('inline');
    expect((await srv.app.collectGarbage(0)).blobsRemoved).to.equal(2);
    for (const b of [old, binned]) {
      expect(await row(sha256(b))).to.equal(undefined);
      expect(await bytesPlace(srv, sha256(b))).to.equal('none');
    }
    await expectFsckClean(srv);
  });

  it('never loses an inline blob that an upload dedups onto while the GC collects it', async () => {
    const bytes = fresh(8000);
    const hash = sha256(bytes);
    for (let i = 0; i < 8; i++) {
      const node = await a.upload(u.rootId, `race-${i}.txt`, bytes);
      await replaceForgetting(node.id, `race-${i}.txt`, fresh(10));
      await srv.app.db.run('UPDATE blobs SET released_at = $old WHERE hash = $hash', {
        old: Date.now() - 3600_000,
        hash,
      });
      const [again] = await Promise.all([
        a.upload(u.rootId, `race-${i}-again.txt`, bytes),
        srv.app.collectGarbage(60_000),
        srv.app.collectGarbage(60_000),
      ]);
      expect((await download(again.id)).body.equals(bytes), `round ${i}`).to.equal(true);
      expect(await row(hash), `round ${i}`).to.include({ ref_count: 1 });
      await a.delete(`/api/nodes/${again.id}`);
      await a.delete(`/api/trash/${again.id}`);
    }
    await expectFsckClean(srv);
  });

  it('fsck re-hashes inline bytes: it reports changed and truncated ones (--quick sees only the length)', async () => {
    const bytes = fresh(7000);
    const hash = sha256(bytes);
    await a.upload(u.rootId, 'checked.txt', bytes);
    const set = (b: Buffer) => srv.app.db.run('UPDATE inline_blobs SET bytes = $b WHERE hash = $hash', { b, hash });
    const problems = async (verifyContent = true) =>
      (await fsck(srv.app.db, srv.app.blobs, { verifyContent })).problems;
    try {
      const flipped = Buffer.from(bytes);
      flipped[123] = flipped[123]! ^ 0xff;
      await set(flipped);
      expect(await problems()).to.deep.equal([`blob ${hash}: inline content hashes to ${sha256(flipped)}`]);
      expect(await problems(false)).to.deep.equal([]);
      await set(bytes.subarray(0, 6000));
      expect(await problems(false)).to.deep.equal([`blob ${hash}: inline bytes are 6000 long, row says 7000`]);
    } finally {
      await set(bytes);
    }
    await expectFsckClean(srv);
  });

  it('holds the quota for inline bodies in flight: of 20 parallel 8 KiB uploads into 100 KiB, exactly 12 land', async () => {
    const small = await createUser(srv, { quotaBytes: 100 * 1024 });
    const s = api(srv.url).as(small);
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await s.put(`/api/folders/${small.rootId}/files/q-${i}.bin`, fresh(8192));
        return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
      }),
    );
    expect(results.filter((r) => r.status === 201)).to.have.length(12);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).to.equal(507);
      expect(r.body.error?.code).to.equal('quota_exceeded');
    }
    expect(await usedBytes(srv, small.id)).to.equal(12 * 8192);
    expect(await s.children(small.rootId)).to.have.length(12);
  });
});
