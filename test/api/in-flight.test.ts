/**
 * Uploads still being received count against the owner's room: parallel uploads cannot each
 * stage the whole remaining quota in tmp/. Every upload path takes part (API raw PUT, multipart,
 * edit link, WebDAV PUT).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { basic, davUser, type DavUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { send, type SendOptions, type SendResult } from '../support/send.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, expectHealthy, MiB, patternChunk, tempFiles, usedBytes } from '../support/store.js';

/**
 * Bytes in tmp/ at one moment, or null when that moment cannot be known. Files are stat'd one after
 * another: a file removed after its stat gives its room to another that then grows before its own
 * stat, and the sum would count the same room twice. Such a pass (a file gone by the end) is dropped.
 */
function tmpBytes(dataDir: string): number | null {
  const files = tempFiles(dataDir);
  let sum = 0;
  for (const f of files) {
    try {
      sum += fs.statSync(path.join(dataDir, 'tmp', f)).size;
    } catch {
      return null;
    }
  }
  const still = new Set(tempFiles(dataDir));
  return files.every((f) => still.has(f)) ? sum : null;
}

describe('uploads in flight count against the room left', function () {
  this.timeout(120_000);
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const ROOM = 8 * MiB;
  const body = patternChunk(7, 7 * MiB);

  /**
   * Six 7 MiB uploads at once, through every door, into an 8 MiB quota. A multipart body is spooled
   * and then staged, so it briefly takes twice its size in tmp/: `multipart: false` sends a third
   * raw PUT instead, where the peak in tmp/ is measured.
   */
  function sixUploads(
    u: DavUser,
    token: string,
    o: Pick<SendOptions, 'chunked' | 'expectContinue'>,
    multipart = true,
  ): Promise<SendResult>[] {
    const bearer = { authorization: `Bearer ${u.token}` };
    const boundary = 'inFlightBoundary';
    const form = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="multi.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const dav = { authorization: basic(u.username, u.password) };
    return [
      send(srv.url, { ...o, method: 'PUT', path: `/api/folders/${u.rootId}/files/api-1.bin`, headers: bearer, body }),
      send(srv.url, { ...o, method: 'PUT', path: `/api/folders/${u.rootId}/files/api-2.bin`, headers: bearer, body }),
      multipart
        ? send(srv.url, {
            ...o,
            method: 'POST',
            path: `/api/folders/${u.rootId}/upload`,
            headers: { ...bearer, 'content-type': `multipart/form-data; boundary=${boundary}` },
            body: form,
          })
        : send(srv.url, {
            ...o,
            method: 'PUT',
            path: `/api/folders/${u.rootId}/files/api-3.bin`,
            headers: bearer,
            body,
          }),
      send(srv.url, { ...o, method: 'PUT', path: `/api/public/${token}/files/link.bin`, headers: {}, body }),
      send(srv.url, { ...o, method: 'PUT', path: '/dav/dav-1.bin', headers: dav, body }),
      send(srv.url, { ...o, method: 'PUT', path: '/dav/dav-2.bin', headers: dav, body }),
    ];
  }

  async function userWithLink(): Promise<{ u: DavUser; token: string }> {
    const u = await davUser(srv, { quotaBytes: ROOM });
    const drop = await api(srv.url).as(u).mkdir(u.rootId, 'drop');
    const res = await api(srv.url).as(u).post(`/api/nodes/${drop.id}/links`, { permission: 'edit' });
    expect(res.status, await res.clone().text()).to.equal(201);
    return { u, token: ((await res.json()) as { token: string }).token };
  }

  it('known lengths: one of six 7 MiB uploads into 8 MiB is taken, five get 507 before their bodies are sent', async () => {
    const { u, token } = await userWithLink();
    const results = await Promise.all(sixUploads(u, token, { expectContinue: true }));
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(ok.length, results.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n')).to.equal(1);
    for (const r of refused) {
      expect(r.dropped).to.equal(null);
      expect(r.status, r.text).to.equal(507);
      expect(r.continued, '507 came before 100 Continue').to.equal(false);
      expect(r.sent, 'no body byte was sent').to.equal(0);
    }
    expect(await usedBytes(srv, u.id)).to.equal(7 * MiB);
    expect(tempFiles(srv.dataDir)).to.deep.equal([]);
  });

  it('chunked: six 7 MiB uploads into 8 MiB never stage more than the room in tmp/; one is taken', async () => {
    const { u, token } = await userWithLink();
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, tmpBytes(srv.dataDir) ?? 0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const results = await Promise.all(sixUploads(u, token, { chunked: true }, false));
    sampling = false;
    await sampler;
    const summary = results.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n');
    for (const r of results) {
      expect(r.dropped, summary).to.equal(null);
      expect([201, 507], summary).to.include(r.status);
    }
    const ok = results.filter((r) => r.status === 201);
    expect(ok.length, summary).to.equal(1);
    // Bytes are counted before they are written, and an upload cut off holds its room until its
    // temp file is gone: what tmp/ holds never passes the room.
    expect(peak, `peak bytes in tmp/: ${peak}`).to.be.at.most(ROOM);
    expect(peak, 'the sampler saw the uploads').to.be.greaterThan(MiB);
    expect(await usedBytes(srv, u.id)).to.equal(7 * MiB);
    // Temp files of uploads that were cut off are removed after their answer went out: allow a loaded machine time.
    await eventually(() => tempFiles(srv.dataDir).length === 0, 10_000, 'tmp/ to be empty');
  });

  it('the room comes back when the uploads are over: the next upload that fits is taken', async () => {
    const u = await davUser(srv, { quotaBytes: ROOM });
    const a = api(srv.url).as(u);
    const first = await send(srv.url, {
      method: 'PUT',
      path: `/api/folders/${u.rootId}/files/a.bin`,
      headers: { authorization: `Bearer ${u.token}` },
      body: patternChunk(8, 5 * MiB),
      chunked: true,
    });
    expect(first.status).to.equal(201);
    const refused = await a.put(`/api/folders/${u.rootId}/files/b.bin`, patternChunk(9, 4 * MiB));
    expect(refused.status).to.equal(507);
    expect((await a.put(`/api/folders/${u.rootId}/files/c.bin`, patternChunk(10, 3 * MiB))).status).to.equal(201);
  });
});
