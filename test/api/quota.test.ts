import http from 'node:http';
import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  storedBlobs,
  blobRows,
  eventually,
  expectHealthy,
  expectNoUnreferencedBlobs,
  MiB,
  patternChunk,
  rawSocket,
  tempFiles,
  usedBytes,
} from '../support/store.js';

/** Sends only the request head on a raw socket and collects everything the server answers until it closes or `ms` pass. */
async function headOnly(url: string, head: string, ms = 1500): Promise<string> {
  const s = await rawSocket(url);
  let got = '';
  s.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  s.write(head);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve();
    });
    s.on('data', () => {
      // Done as soon as a complete final (non-1xx) response has arrived.
      const m = /HTTP\/1\.1 [2-5]\d\d[^\r]*\r\n[\s\S]*?\r\n\r\n/.exec(got);
      if (m) {
        const len = /content-length: (\d+)/i.exec(m[0]);
        if (len && got.length >= m.index + m[0].length + Number(len[1])) {
          clearTimeout(t);
          resolve();
        }
      }
    });
  });
  s.destroy();
  return got;
}

describe('quota', function () {
  this.timeout(60_000);
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  it('20 concurrent 1 MiB uploads into a 10 MiB quota: usage never passes it, every refusal is a clean 507', async () => {
    const u = await createUser(srv, { quotaBytes: 10 * MiB });
    const a = api(srv.url).as(u);
    const rowsBefore = (await blobRows(srv)).length;
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await a.put(`/api/folders/${u.rootId}/files/part-${i}.bin`, patternChunk(1000 + i));
        return { i, status: res.status, body: await res.json() };
      }),
    );
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    for (const r of refused) {
      expect(r.status, JSON.stringify(r.body)).to.equal(507);
      expect(r.body.error.code).to.equal('quota_exceeded');
    }
    expect(ok.length).to.equal(10, 'exactly ten 1 MiB files fit into 10 MiB');
    const used = await usedBytes(srv, u.id);
    expect(used).to.equal(ok.length * MiB);
    expect(used).to.be.at.most(10 * MiB);
    const names = (await a.children(u.rootId)).map((n) => n.name).sort();
    expect(names).to.deep.equal(ok.map((r) => `part-${r.i}.bin`).sort());
    const me = await a.json(a.get('/api/auth/me'));
    expect(me.user.usedBytes).to.equal(used);

    // No new blob reference for a refused upload; after GC nothing unreferenced remains.
    await expectNoUnreferencedBlobs(srv);
    const rows = await blobRows(srv);
    expect(rows.length).to.equal(rowsBefore + ok.length);
    expect((await storedBlobs(srv)).length).to.equal(rows.length);
    expect(tempFiles(srv.dataDir)).to.deep.equal([]);
  });

  it('refuses a known Content-Length over the remaining quota with 507 before sending 100 Continue', async () => {
    const u = await createUser(srv, { quotaBytes: 10 * MiB });
    await api(srv.url)
      .as(u)
      .upload(u.rootId, 'four.bin', patternChunk(4, 4 * MiB));
    const rowsBefore = (await blobRows(srv)).length;
    const host = new URL(srv.url).host;
    const answer = await headOnly(
      srv.url,
      `PUT /api/folders/${u.rootId}/files/too-big.bin HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${u.token}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${7 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
    );
    const firstLine = answer.split('\r\n')[0];
    expect(firstLine, answer.slice(0, 200)).to.match(/^HTTP\/1\.1 507 /);
    expect(answer).to.not.include('100 Continue');
    expect(answer).to.include('"quota_exceeded"');
    expect((await api(srv.url).as(u).children(u.rootId)).map((n) => n.name)).to.deep.equal(['four.bin']);
    expect(await usedBytes(srv, u.id)).to.equal(4 * MiB);
    expect((await blobRows(srv)).length).to.equal(rowsBefore);
  });

  it('answers a refused upload (no credentials, unknown folder, taken name) without 100 Continue', async () => {
    const u = await createUser(srv);
    await api(srv.url).as(u).upload(u.rootId, 'taken.txt', 'x');
    const host = new URL(srv.url).host;
    for (const [path, auth, status] of [
      [`/api/folders/${u.rootId}/files/a.bin`, '', 401],
      [`/api/folders/00000000-0000-4000-8000-000000000000/files/a.bin`, `Authorization: Bearer ${u.token}\r\n`, 404],
      [`/api/folders/${u.rootId}/files/taken.txt`, `Authorization: Bearer ${u.token}\r\n`, 409],
      [`/api/folders/${u.rootId}/files/%2E%2E`, `Authorization: Bearer ${u.token}\r\n`, 400],
    ] as const) {
      const answer = await headOnly(
        srv.url,
        `PUT ${path} HTTP/1.1\r\nHost: ${host}\r\n${auth}Content-Length: ${MiB}\r\nExpect: 100-continue\r\n\r\n`,
      );
      expect(answer.split('\r\n')[0], `${path}: ${answer.slice(0, 200)}`).to.match(
        new RegExp(`^HTTP/1\\.1 ${status} `),
      );
      expect(answer).to.not.include('100 Continue');
    }
  });

  it('refuses a multipart upload whose Content-Length cannot fit with 507 before 100 Continue', async () => {
    const u = await createUser(srv, { quotaBytes: 2 * MiB });
    const host = new URL(srv.url).host;
    const answer = await headOnly(
      srv.url,
      `POST /api/folders/${u.rootId}/upload HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${u.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: ${8 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
    );
    expect(answer.split('\r\n')[0], answer.slice(0, 200)).to.match(/^HTTP\/1\.1 507 /);
    expect(answer).to.not.include('100 Continue');
    expect(await usedBytes(srv, u.id)).to.equal(0);
  });

  it('refuses a multipart upload whose files pass the quota with 507, leaving no node and no temp file', async () => {
    const u = await createUser(srv, { quotaBytes: 2 * MiB });
    const a = api(srv.url).as(u);
    const form = new FormData();
    form.append('f', new Blob([new Uint8Array(patternChunk(30, 1536 * 1024))]), 'one.bin');
    form.append('f', new Blob([new Uint8Array(patternChunk(31, 1536 * 1024))]), 'two.bin');
    const res = await fetch(`${srv.url}/api/folders/${u.rootId}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.token}` },
      body: form,
    });
    expect(res.status).to.equal(507);
    expect((await res.json()).error.code).to.equal('quota_exceeded');
    expect(await a.children(u.rootId)).to.deep.equal([]);
    expect(await usedBytes(srv, u.id)).to.equal(0);
    await eventually(() => tempFiles(srv.dataDir).length === 0, 3000, 'multipart temp files to go');
  });

  it('sends 100 Continue for an upload that fits, then stores it', async () => {
    const u = await createUser(srv, { quotaBytes: 10 * MiB });
    const body = patternChunk(5, 2 * MiB);
    const { status, continued } = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(`${srv.url}/api/folders/${u.rootId}/files/fits.bin`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${u.token}`, 'content-length': body.length, expect: '100-continue' },
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, continued }));
      });
      req.on('error', reject);
    });
    expect(continued).to.equal(true);
    expect(status).to.equal(201);
    expect(await usedBytes(srv, u.id)).to.equal(2 * MiB);
  });

  it('cuts off a body of unknown length as soon as it passes the remaining quota (507)', async () => {
    const u = await createUser(srv, { quotaBytes: 3 * MiB });
    const chunk = patternChunk(6, 256 * 1024);
    const { status, body, sent } = await new Promise<{ status: number; body: string; sent: number }>(
      (resolve, reject) => {
        let sent = 0;
        let done = false;
        const req = http.request(`${srv.url}/api/folders/${u.rootId}/files/endless.bin`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${u.token}`, 'transfer-encoding': 'chunked' },
        });
        const pump = () => {
          // Never more than 40 MiB: the server must answer long before.
          while (!done && sent < 40 * MiB) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!done) req.end();
        };
        req.on('response', (res) => {
          done = true;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text, sent }));
        });
        req.on('error', (err) => (done ? undefined : reject(err)));
        pump();
      },
    );
    expect(status).to.equal(507);
    expect(JSON.parse(body).error.code).to.equal('quota_exceeded');
    expect(sent).to.be.below(40 * MiB);
    expect(await usedBytes(srv, u.id)).to.equal(0);
    expect(await api(srv.url).as(u).children(u.rootId)).to.deep.equal([]);
    await eventually(() => tempFiles(srv.dataDir).length === 0, 3000, 'the partial temp file to go');
  });

  it('refuses a copy that does not fit with 507 and creates nothing', async () => {
    const u = await createUser(srv, { quotaBytes: 3 * MiB });
    const a = api(srv.url).as(u);
    const dir = await a.mkdir(u.rootId, 'dir');
    await a.upload(dir.id, 'a.bin', patternChunk(8, MiB));
    await a.upload(dir.id, 'b.bin', patternChunk(9, MiB));
    const single = await a.post(`/api/nodes/${(await a.children(dir.id))[0]!.id}/copy`, { parentId: u.rootId });
    expect(single.status).to.equal(201); // 3 MiB used now
    const res = await a.post(`/api/nodes/${dir.id}/copy`, { parentId: u.rootId, name: 'dir copy' });
    expect(res.status).to.equal(507);
    expect((await res.json()).error.code).to.equal('quota_exceeded');
    expect((await a.children(u.rootId)).map((n) => n.name)).to.deep.equal(['dir', 'a.bin']);
    expect(await usedBytes(srv, u.id)).to.equal(3 * MiB);
    const other = await a.mkdir(u.rootId, 'other');
    const bulk = await a.post('/api/nodes/bulk', { action: 'copy', ids: [dir.id], parentId: other.id });
    expect(bulk.status).to.equal(507);
    expect(await a.children(other.id)).to.deep.equal([]);
  });

  it('a replaced file keeps its old content as a version, which goes on counting toward the quota', async () => {
    const u = await createUser(srv, { quotaBytes: 2 * MiB });
    const a = api(srv.url).as(u);
    const file = await a.upload(u.rootId, 'grow.bin', patternChunk(10, 1536 * 1024));
    // 1.5 MiB stays as a version beside the new 0.25 MiB.
    const res = await a.put(`/api/folders/${u.rootId}/files/grow.bin?overwrite=true`, patternChunk(11, 256 * 1024));
    expect(res.status).to.equal(200);
    expect(await usedBytes(srv, u.id)).to.equal(1792 * 1024);
    const tooMuch = await a.put(`/api/folders/${u.rootId}/files/other.bin`, patternChunk(12, 512 * 1024));
    expect(tooMuch.status).to.equal(507);
    // Deleting the version gives its bytes back.
    const { items } = await a.json(a.get(`/api/nodes/${file.id}/versions`));
    expect((await a.delete(`/api/nodes/${file.id}/versions/${items[0].id}`)).status).to.equal(204);
    expect(await usedBytes(srv, u.id)).to.equal(256 * 1024);
  });
});

describe('an upload cut off half-way', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
    await a.upload(u.rootId, 'keep.txt', 'already here');
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  async function cutUpload(head: (len: number) => string, firstPart: Buffer, total: number): Promise<void> {
    const s = await rawSocket(srv.url);
    s.on('error', () => {});
    s.write(head(total));
    await new Promise<void>((resolve) => s.write(firstPart, () => resolve()));
    await new Promise((r) => setTimeout(r, 150)); // let the server start streaming it to disk
    s.destroy();
  }

  async function expectNothingLeft(before: number): Promise<void> {
    // The server notices the abort asynchronously and removes its partial file itself (no GC needed).
    await eventually(() => tempFiles(srv.dataDir).length === 0, 3000, 'the partial temp file to go');
    expect((await a.children(u.rootId)).map((n: NodeJson) => n.name)).to.deep.equal(['keep.txt']);
    expect(await usedBytes(srv, u.id)).to.equal(before);
    await expectNoUnreferencedBlobs(srv);
    expect(tempFiles(srv.dataDir)).to.deep.equal([]);
  }

  it('leaves no node, no usage and no temp file (raw PUT)', async () => {
    const before = await usedBytes(srv, u.id);
    const host = new URL(srv.url).host;
    await cutUpload(
      (len) =>
        `PUT /api/folders/${u.rootId}/files/half.bin HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${u.token}\r\nContent-Length: ${len}\r\n\r\n`,
      patternChunk(20, 4 * MiB),
      8 * MiB,
    );
    await expectNothingLeft(before);
  });

  it('leaves no node, no usage and no temp file (multipart)', async () => {
    const before = await usedBytes(srv, u.id);
    const host = new URL(srv.url).host;
    const boundary = 'xXcutXx';
    const part = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      patternChunk(21, 2 * MiB),
    ]);
    await cutUpload(
      (len) =>
        `POST /api/folders/${u.rootId}/upload HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${u.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${len}\r\n\r\n`,
      part,
      6 * MiB,
    );
    await expectNothingLeft(before);
  });
});
