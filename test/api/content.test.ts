import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  storedBlobs,
  blobRows,
  expectHealthy,
  hashBody,
  MiB,
  patternChunk,
  patternStream,
  sha256,
} from '../support/store.js';

describe('file content: streaming upload and download', function () {
  this.timeout(120_000);
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

  const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());

  it('round-trips a 50 MiB streamed upload byte-identical (sha256) and serves exact ranges of it', async () => {
    const size = 50 * MiB;
    const { stream, sha256: want } = patternStream(size, 7);
    const res = await a.put(`/api/folders/${u.rootId}/files/big.bin`, stream);
    expect(res.status).to.equal(201);
    const node = (await res.json()) as NodeJson;
    expect(node.size).to.equal(size);
    expect(node.etag).to.equal(want, 'the ETag is the content hash');

    const down = await a.get(`/api/files/${node.id}/content`);
    expect(down.status).to.equal(200);
    expect(down.headers.get('content-length')).to.equal(String(size));
    expect(down.headers.get('accept-ranges')).to.equal('bytes');
    expect(await hashBody(down)).to.deep.equal({ sha256: want, length: size });

    // A range deep inside the file: bytes 40 MiB + 5 .. + 104 of the repeating 1 MiB pattern.
    const start = 40 * MiB + 5;
    const part = await a.get(`/api/files/${node.id}/content`, { range: `bytes=${start}-${start + 99}` });
    expect(part.status).to.equal(206);
    expect(part.headers.get('content-range')).to.equal(`bytes ${start}-${start + 99}/${size}`);
    expect((await bytes(part)).equals(patternChunk(7).subarray(5, 105))).to.equal(true);
  });

  describe('ranges, conditional requests and headers', () => {
    const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    let file: NodeJson;
    before(async () => {
      file = await a.upload(u.rootId, 'thousand.bin', content);
    });
    const get = (headers: Record<string, string> = {}, q = '') => a.get(`/api/files/${file.id}/content${q}`, headers);

    for (const [range, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-100', 900, 999],
      ['bytes=-5000', 0, 999],
      ['bytes=500-99999', 500, 999],
    ] as const) {
      it(`answers Range: ${range} with 206 and exactly bytes ${start}-${end}`, async () => {
        const res = await get({ range });
        expect(res.status).to.equal(206);
        expect(res.headers.get('content-range')).to.equal(`bytes ${start}-${end}/1000`);
        expect(res.headers.get('content-length')).to.equal(String(end - start + 1));
        expect((await bytes(res)).equals(content.subarray(start, end + 1))).to.equal(true);
      });
    }

    it('answers an unsatisfiable range with 416 and the total size', async () => {
      for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
        const res = await get({ range });
        expect(res.status, range).to.equal(416);
        expect(res.headers.get('content-range')).to.equal('bytes */1000');
        await res.arrayBuffer();
      }
    });

    it('ignores a malformed Range header and a stale If-Range (whole body, 200)', async () => {
      for (const headers of <Record<string, string>[]>[
        { range: 'bytes=abc' },
        { range: 'items=1-2' },
        { range: 'bytes=20-10' },
        { range: 'bytes=0-1', 'if-range': '"stale"' },
      ]) {
        const res = await get(headers);
        expect(res.status, JSON.stringify(headers)).to.equal(200);
        expect((await bytes(res)).equals(content)).to.equal(true);
      }
      const matching = await get({ range: 'bytes=0-1', 'if-range': `"${file.etag}"` });
      expect(matching.status).to.equal(206);
      await matching.arrayBuffer();
    });

    it('answers If-None-Match with the ETag with 304 and no body; another ETag gets the content', async () => {
      const first = await get();
      const etag = first.headers.get('etag')!;
      expect(etag).to.equal(`"${sha256(content)}"`);
      expect(first.headers.get('last-modified')).to.be.a('string');
      await first.arrayBuffer();
      for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const res = await get({ 'if-none-match': inm });
        expect(res.status, inm).to.equal(304);
        expect(await res.text()).to.equal('');
      }
      const other = await get({ 'if-none-match': '"something-else"' });
      expect(other.status).to.equal(200);
      expect((await bytes(other)).equals(content)).to.equal(true);
    });

    it('answers HEAD with the headers of a GET and no body', async () => {
      const res = await a.request('HEAD', `/api/files/${file.id}/content`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-length')).to.equal('1000');
      expect(res.headers.get('etag')).to.equal(`"${file.etag}"`);
      expect(await res.text()).to.equal('');
      const ranged = await a.request('HEAD', `/api/files/${file.id}/content`, undefined, { range: 'bytes=0-9' });
      expect(ranged.status).to.equal(206);
      expect(ranged.headers.get('content-length')).to.equal('10');
    });

    it('serves an empty file (and refuses any range of it)', async () => {
      const empty = await a.upload(u.rootId, 'empty.txt', '');
      expect(empty.size).to.equal(0);
      const res = await a.get(`/api/files/${empty.id}/content`);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal('');
      const ranged = await a.get(`/api/files/${empty.id}/content`, { range: 'bytes=0-' });
      expect(ranged.status).to.equal(416);
      await ranged.arrayBuffer();
    });

    it('refuses to download a folder as content', async () => {
      const res = await a.get(`/api/files/${u.rootId}/content`);
      expect(res.status).to.be.within(400, 499);
      expect((await res.json()).error.code).to.be.a('string');
    });
  });

  it('stores identical bytes once (dedup): one blob file and one row with two references', async () => {
    const body = patternChunk(99, 256 * 1024); // above the inline limit: a blob file (inline.test.ts: inline blobs)
    const filesBefore = (await storedBlobs(srv)).length;
    const rowsBefore = (await blobRows(srv)).length;
    const one = await a.upload(u.rootId, 'dup-1.bin', body);
    const two = await a.upload(u.rootId, 'dup-2.bin', body);
    expect(one.etag).to.equal(two.etag);
    expect((await storedBlobs(srv)).length).to.equal(filesBefore + 1);
    const rows = await blobRows(srv);
    expect(rows.length).to.equal(rowsBefore + 1);
    expect(rows.find((r) => r.hash === sha256(body))).to.include({ ref_count: 2, size: body.length });
  });

  it('sends Content-Disposition with an ASCII fallback and the exact UTF-8 name (RFC 6266/5987)', async () => {
    const name = "Résumé «final» 日本語 😀 (1)'s.txt";
    const f = await a.upload(u.rootId, name, 'hello');
    const res = await a.get(`/api/files/${f.id}/content?download=1`);
    const cd = res.headers.get('content-disposition')!;
    await res.arrayBuffer();
    expect(cd).to.match(/^attachment;/);
    const star = /filename\*=UTF-8''([^;\s]+)/.exec(cd);
    expect(star, cd).to.not.equal(null);
    expect(decodeURIComponent(star![1]!)).to.equal(name);
    const plain = /filename="([^"]*)"/.exec(cd);
    expect(plain, cd).to.not.equal(null);
    expect(plain![1]).to.match(/^[\x20-\x7e]+$/);
    // Inline by default for a harmless type; active content (HTML) is always an attachment.
    const inline = await a.get(`/api/files/${f.id}/content`);
    expect(inline.headers.get('content-disposition')).to.match(/^inline;/);
    await inline.arrayBuffer();
    const html = await a.upload(u.rootId, 'page.html', '<script>alert(1)</script>');
    const h = await a.get(`/api/files/${html.id}/content`);
    expect(h.headers.get('content-disposition')).to.match(/^attachment;/);
    expect(h.headers.get('x-content-type-options')).to.equal('nosniff');
    await h.arrayBuffer();
  });

  it('accepts a multipart upload of several files', async () => {
    const dir = await a.mkdir(u.rootId, 'multipart');
    const form = new FormData();
    form.append('files', new Blob(['first file']), 'first.txt');
    form.append('files', new Blob([new Uint8Array(patternChunk(3, 300_000))]), 'second ünï.bin');
    const res = await fetch(`${srv.url}/api/folders/${dir.id}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}` },
      body: form,
    });
    expect(res.status).to.equal(201);
    const { items } = (await res.json()) as { items: NodeJson[] };
    expect(items.map((n) => n.name)).to.deep.equal(['first.txt', 'second ünï.bin']);
    expect(items.map((n) => n.size)).to.deep.equal([10, 300_000]);
    expect(await (await a.get(`/api/files/${items[0]!.id}/content`)).text()).to.equal('first file');
    expect((await bytes(await a.get(`/api/files/${items[1]!.id}/content`))).equals(patternChunk(3, 300_000))).to.equal(
      true,
    );

    // A clash with an existing name refuses the upload; not multipart at all is a 400.
    const again = new FormData();
    again.append('f', new Blob(['x']), 'first.txt');
    const clash = await fetch(`${srv.url}/api/folders/${dir.id}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}` },
      body: again,
    });
    expect(clash.status).to.equal(409);
    const notForm = await a.post(`/api/folders/${dir.id}/upload`, { files: [] });
    expect(notForm.status).to.equal(400);
    const emptyForm = await fetch(`${srv.url}/api/folders/${dir.id}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}` },
      body: new FormData(),
    });
    expect(emptyForm.status).to.equal(400);
  });
});
