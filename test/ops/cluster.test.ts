/**
 * Processes on one store, as users run them: `WORKERS=2` (one primary, two workers on one port) and
 * two separate servers on one data dir, one of them killed in the middle of an upload. Also where
 * the token secret lives: in the database, adopted from the file older versions kept, or JWT_SECRET.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { basic } from '../dav/support.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { onS3, sharedS3Server } from '../support/s3.js';
import { login } from '../support/server.js';
import { ensureBuild, ROOT, run, serverEnv, waitForHealth, type Proc } from './support.js';

const ADMIN = 'cluster-admin-password';
const TOKEN = 'metrics-token-for-the-cluster-test';
const listening = /"msg":"Coffer is listening","url":"(http:\/\/[^"]+)"/;

/** The pids of a process's children. */
function children(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function makeUser(url: string, username: string, password: string): Promise<void> {
  const admin = (await login(url, 'admin', ADMIN)).token;
  const res = await fetch(`${url}/api/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.test`, password }),
  });
  expect(res.status, await res.text()).to.equal(201);
}

const davStatus = async (url: string, auth: string, method: string, p: string, body?: string) => {
  const res = await fetch(`${url}/dav${p}`, {
    method,
    headers: { authorization: auth, ...(method === 'PROPFIND' ? { depth: '0' } : {}) },
    body,
  });
  await res.arrayBuffer();
  return res.status;
};

describe('processes on one store', function () {
  this.timeout(120_000);
  let base: string;
  const procs: Proc[] = [];
  before(() => {
    ensureBuild();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-cluster-'));
  });
  /**
   * Where the test's processes keep their data: SQLite in the data dir and blobs on its disk, or on
   * the PostgreSQL + S3 pass a database and a bucket of the test's own.
   */
  const databases: TestDatabase[] = [];
  const database = async () => {
    const d = await createTestDatabase();
    databases.push(d);
    const s3 = onS3 ? await sharedS3Server() : undefined;
    return { ...d.env, ...(s3 ? s3.env(await s3.newBucket()) : {}) };
  };
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop({ group: true })));
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('WORKERS=2: two workers serve one port; a killed worker is replaced; SIGTERM stops them all (exit 0)', async () => {
    const dir = path.join(base, 'workers');
    const p = run(
      process.execPath,
      ['dist/server/main.js'],
      serverEnv(dir, { WORKERS: '2', ADMIN_PASSWORD: ADMIN, METRICS_TOKEN: TOKEN, ...(await database()) }),
    );
    procs.push(p);
    const url = (await p.waitFor(listening))[1]!;
    expect(p.stdout()).to.contain('"workers":2');
    await until('two workers', () => children(p.child.pid!).length === 2);
    await makeUser(url, 'wanda', 'wanda-password');
    const auth = basic('wanda', 'wanda-password');
    expect(await davStatus(url, auth, 'PUT', '/a.txt', 'one')).to.equal(201);
    const statuses = await Promise.all(Array.from({ length: 40 }, () => davStatus(url, auth, 'PROPFIND', '/a.txt')));
    expect(new Set(statuses)).to.deep.equal(new Set([207]));
    // Whichever worker a scrape reaches, it counts the requests of both.
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      expect(text).to.contain('coffer_http_requests_total{door="dav",method="PROPFIND",status="207"} 40');
    }

    const [victim] = children(p.child.pid!);
    process.kill(victim!, 'SIGKILL');
    // The port keeps answering (a kept-alive connection to the dead worker fails once, as a client sees it).
    await until(
      'an answer after the kill',
      async () => (await davStatus(url, auth, 'PROPFIND', '/a.txt').catch(() => 0)) === 207,
      3000,
    );
    await p.waitFor(/"msg":"worker exited; starting another"/);
    await until('a replacement worker', () => {
      const now = children(p.child.pid!);
      return now.length === 2 && !now.includes(victim!);
    });
    expect(await davStatus(url, auth, 'PUT', '/b.txt', 'two')).to.equal(201);

    const left = children(p.child.pid!);
    expect(await p.stop()).to.equal(0);
    for (const pid of left) expect(() => process.kill(pid, 0), `worker ${pid} still running`).to.throw();
  });

  it('two servers on one data dir: the one killed mid-upload leaves the other serving, nothing partial, fsck clean', async () => {
    const dir = path.join(base, 'pair');
    const env = serverEnv(dir, { ADMIN_PASSWORD: ADMIN, ...(await database()) });
    const first = run(process.execPath, ['dist/server/main.js'], env);
    procs.push(first);
    const urlA = (await first.waitFor(listening))[1]!;
    const second = run(process.execPath, ['dist/server/main.js'], env);
    procs.push(second);
    const urlB = (await second.waitFor(listening))[1]!;
    await makeUser(urlA, 'kim', 'kim-password');
    const auth = basic('kim', 'kim-password');
    expect(await davStatus(urlB, auth, 'PUT', '/kept.txt', 'kept')).to.equal(201);

    // Half of a 4 MiB body reaches A, then A dies.
    const size = 4 * 1024 * 1024;
    const { port } = new URL(urlA);
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/dav/partial.bin',
      headers: { authorization: auth, 'content-length': size },
    });
    req.on('error', () => {}); // the connection dies with A
    await new Promise<void>((resolve) => req.write(Buffer.alloc(size / 2, 1), () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await first.exited;

    await waitForHealth(urlB);
    const kept = await fetch(`${urlB}/dav/kept.txt`, { headers: { authorization: auth } });
    expect(await kept.text()).to.equal('kept');
    expect(await davStatus(urlB, auth, 'PROPFIND', '/partial.bin')).to.equal(404);
    expect(await davStatus(urlB, auth, 'PUT', '/after.txt', 'after')).to.equal(201);
    expect(await second.stop()).to.equal(0);

    const fsck = spawnSync(process.execPath, ['dist/server/fsck.js'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(fsck.status, `fsck:\n${fsck.stdout}${fsck.stderr}`).to.equal(0);
    expect(fsck.stdout).to.match(/clean: no problems found/);
  });

  it('keeps the token secret in the database: adopts the file older versions kept, or uses JWT_SECRET', async () => {
    const dir = path.join(base, 'legacy');
    fs.mkdirSync(dir, { recursive: true });
    const legacy = 'a-secret-from-the-file-an-older-version-wrote-0123456789';
    fs.writeFileSync(path.join(dir, 'jwt-secret'), legacy + '\n', { mode: 0o600 });
    const db = await database();
    const p = run(process.execPath, ['dist/server/main.js'], serverEnv(dir, { ADMIN_PASSWORD: ADMIN, ...db }));
    procs.push(p);
    const url = (await p.waitFor(listening))[1]!;
    const { token, user } = await login(url, 'admin', ADMIN);
    // Signed with the adopted secret: sessions issued before the upgrade stay valid; the file is gone.
    expect(() => jwt.verify(token, legacy)).not.to.throw();
    expect(fs.existsSync(path.join(dir, 'jwt-secret'))).to.equal(false);
    expect(await p.stop()).to.equal(0);

    const override = 'an-operator-chosen-secret-for-every-instance-42';
    const q = run(
      process.execPath,
      ['dist/server/main.js'],
      serverEnv(dir, { ADMIN_PASSWORD: ADMIN, JWT_SECRET: override, ...db }),
    );
    procs.push(q);
    const url2 = (await q.waitFor(listening))[1]!;
    const signed = (await login(url2, 'admin', ADMIN)).token;
    expect(() => jwt.verify(signed, override)).not.to.throw();
    const old = await fetch(`${url2}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(old.status).to.equal(401); // signed with the stored secret, which JWT_SECRET replaces
    expect(user.id).to.be.a('string');
    expect(execFileSync('ls', [dir], { encoding: 'utf8' })).not.to.contain('jwt-secret');
  });
});
