/**
 * A full disk, for real: the data directory is a 2 MiB tmpfs (the database lives elsewhere), and
 * uploads bigger than what is left arrive through the API (raw PUT, multipart) and WebDAV (PUT),
 * with a known length or chunked, with and without `Expect: 100-continue`. Each gets a 507 it can
 * read — never a 500 or a dropped connection — the file already stored keeps its bytes, tmp/ is
 * left empty, the next small upload works, and fsck finds the store clean.
 * Mounting needs root; without it (or without tmpfs) the test says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { basic, davUser, type DavUser } from '../dav/support.js';
import { api, type Api } from '../support/http.js';
import { send, type SendResult } from '../support/send.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipOnPostgres, TEST_POSTGRES } from '../support/database.js';
import { eventually, expectHealthy, MiB, patternChunk, sha256, tempFiles } from '../support/store.js';

function mountTmpfs(dir: string, size: string): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
}

/** Mounts a tmpfs on `dir`, or skips the suite saying why. */
function mountOrSkip(ctx: Mocha.Context, dir: string, size: string): true {
  const why = mountTmpfs(dir, size);
  if (why) {
    console.log(`      skipped: ${why}`);
    ctx.skip();
  }
  return true;
}

describe('a full disk (DATA_DIR on a 2 MiB tmpfs)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let dbDir: string;
  let mounted = false;
  let srv: TestServer;
  let u: DavUser;
  let a: Api;
  let keep: Buffer;

  before(async function () {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-full-'));
    dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-full-db-'));
    mounted = mountOrSkip(this, dataDir, '2m');
    // The database off the full disk: a SQLite file elsewhere, or the test PostgreSQL database.
    const db: Record<string, string> = TEST_POSTGRES ? {} : { DATABASE_URL: `sqlite:${path.join(dbDir, 'db.sqlite')}` };
    srv = await startTestServer({ env: { DATA_DIR: dataDir, ...db } });
    u = await davUser(srv);
    a = api(srv.url).as(u);
    keep = patternChunk(1, 512 * 1024);
    await a.upload(u.rootId, 'keep.bin', keep);
  });

  after(async () => {
    try {
      if (srv) await expectHealthy(srv); // no internal error logged, fsck clean
    } finally {
      await srv?.close();
      if (mounted) spawnSync('umount', [dataDir]);
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(dbDir, { recursive: true, force: true });
    }
  });

  const big = patternChunk(2, 3 * MiB);

  async function expectIntact(r: SendResult, what: string, json: boolean): Promise<void> {
    expect(r.dropped, `${what}: the connection was dropped`).to.equal(null);
    expect(r.status, `${what}: ${r.text.slice(0, 300)}`).to.equal(507);
    if (json) expect(JSON.parse(r.text).error.code, what).to.equal('storage_full');
    else expect(r.text, what).to.include('<D:error');
    const res = await a.get(
      `/api/files/${(await a.children(u.rootId)).find((n) => n.name === 'keep.bin')!.id}/content`,
    );
    expect(sha256(Buffer.from(await res.arrayBuffer())), `${what}: keep.bin`).to.equal(sha256(keep));
    expect(
      (await a.children(u.rootId)).map((n) => n.name),
      what,
    ).to.deep.equal(['keep.bin']);
    await eventually(() => tempFiles(dataDir).length === 0, 3000, `${what}: tmp/ to be empty`);
  }

  const bearer = () => ({ authorization: `Bearer ${u.token}` });
  const davAuth = () => ({ authorization: basic(u.username, u.password) });

  for (const chunked of [false, true]) {
    for (const expectContinue of [false, true]) {
      const how = `${chunked ? 'chunked' : 'known length'}${expectContinue ? ', Expect: 100-continue' : ''}`;

      it(`API raw PUT (${how}): 507 storage_full`, async () => {
        const r = await send(srv.url, {
          method: 'PUT',
          path: `/api/folders/${u.rootId}/files/big.bin`,
          headers: bearer(),
          body: big,
          chunked,
          expectContinue,
        });
        await expectIntact(r, `API PUT ${how}`, true);
        if (!chunked && expectContinue) expect(r.continued, 'refused before 100 Continue').to.equal(false);
      });

      it(`API multipart (${how}): 507 storage_full`, async () => {
        const boundary = 'fullDiskBoundary';
        const body = Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
          ),
          big,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        const r = await send(srv.url, {
          method: 'POST',
          path: `/api/folders/${u.rootId}/upload`,
          body,
          chunked,
          expectContinue,
          headers: { ...bearer(), 'content-type': `multipart/form-data; boundary=${boundary}` },
        });
        await expectIntact(r, `API multipart ${how}`, true);
      });

      it(`WebDAV PUT (${how}): 507 with a readable body and Connection: close`, async () => {
        const r = await send(srv.url, {
          method: 'PUT',
          path: '/dav/big.bin',
          headers: davAuth(),
          body: big,
          chunked,
          expectContinue,
        });
        await expectIntact(r, `DAV PUT ${how}`, false);
        expect(r.headers.connection).to.equal('close');
        if (!chunked && expectContinue) expect(r.continued, 'refused before 100 Continue').to.equal(false);
      });
    }
  }

  it('replacing the stored file with more than fits keeps its old bytes (WebDAV, chunked)', async () => {
    const r = await send(srv.url, {
      method: 'PUT',
      path: '/dav/keep.bin',
      headers: davAuth(),
      body: big,
      chunked: true,
    });
    await expectIntact(r, 'DAV PUT over keep.bin', false);
  });

  it('still takes the next small upload through both doors', async () => {
    const small = patternChunk(3, 100 * 1024);
    const viaApi = await a.upload(u.rootId, 'small.bin', small);
    expect(viaApi.size).to.equal(small.length);
    const viaDav = await send(srv.url, {
      method: 'PUT',
      path: '/dav/small2.bin',
      headers: davAuth(),
      body: small,
      chunked: true,
    });
    expect(viaDav.status).to.equal(201);
    expect(tempFiles(dataDir)).to.deep.equal([]);
  });
});

/**
 * The database on the full disk too (the default layout: coffer.sqlite in DATA_DIR). A small body is
 * stored inline by its transaction, so a full disk shows as SQLite failing to grow its WAL: that is
 * the same 507 as a temp file that cannot grow, and nothing changes.
 */
/** Empties the WAL into the database file (from a connection of the test's own: the server's writer checkpoints only between its transactions). */
function checkpointTruncate(file: string): void {
  // better-sqlite3, the server's own SQLite library: a second copy of SQLite in this process would not see its locks.
  const conn = new Database(file, { timeout: 10_000 });
  try {
    conn.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    conn.close();
  }
}

describe('a full disk holding the database (small uploads stored inline)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let mounted = false;
  let srv: TestServer;
  let u: DavUser;
  let a: Api;
  const filler = () => path.join(dataDir, 'filler');

  before(async function () {
    skipOnPostgres(this, "the database is PostgreSQL's, on its own disk: DATA_DIR filling up leaves it writable");
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-full-db-'));
    mounted = mountOrSkip(this, dataDir, '4m');
    srv = await startTestServer({ env: { DATA_DIR: dataDir } });
    u = await davUser(srv);
    a = api(srv.url).as(u);
    await a.upload(u.rootId, 'before.txt', 'stored before the disk filled');
    const warm = await fetch(`${srv.url}/dav/before.txt`, {
      headers: { authorization: basic(u.username, u.password) },
    });
    expect(warm.status).to.equal(200); // the WebDAV credential is verified (and cached) now, not on a full disk
    await warm.arrayBuffer();
    // From here every commit has to grow the WAL: it is empty, and the disk is full.
    checkpointTruncate(path.join(dataDir, 'coffer.sqlite'));
    const fd = fs.openSync(filler(), 'w');
    try {
      for (const chunk = Buffer.alloc(64 * 1024); ;) fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      fs.closeSync(fd);
    }
  });

  after(async () => {
    if (!dataDir) return; // skipped
    try {
      if (fs.existsSync(dataDir)) fs.rmSync(filler(), { force: true });
      if (srv) await expectHealthy(srv);
    } finally {
      await srv?.close();
      if (mounted) spawnSync('umount', [dataDir]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers a small chunked upload 507 through both doors, and stores it once there is room again', async () => {
    const small = patternChunk(4, 4096);
    const viaApi = await send(srv.url, {
      method: 'PUT',
      path: `/api/folders/${u.rootId}/files/small.bin`,
      headers: { authorization: `Bearer ${u.token}` },
      body: small,
      chunked: true,
    });
    expect(viaApi.status, viaApi.text).to.equal(507);
    expect(JSON.parse(viaApi.text).error.code).to.equal('storage_full');
    const viaDav = await send(srv.url, {
      method: 'PUT',
      path: '/dav/small.bin',
      headers: { authorization: basic(u.username, u.password) },
      body: small,
      chunked: true,
    });
    expect(viaDav.status, viaDav.text).to.equal(507);
    expect(viaDav.text).to.include('<D:error');
    fs.rmSync(filler());
    expect((await a.children(u.rootId)).map((n) => n.name)).to.deep.equal(['before.txt']);
    const stored = await a.upload(u.rootId, 'small.bin', small);
    expect(stored.size).to.equal(small.length);
  });
});
