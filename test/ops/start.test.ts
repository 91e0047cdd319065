import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { reachableUrls } from '../../server/addresses.js';
import { createTestDatabase, TEST_POSTGRES, type TestDatabase } from '../support/database.js';
import { sayLocalDiskOnS3 } from '../support/s3.js';
import { login } from '../support/server.js';
import { cleanEnv, ensureBuild, run, waitForHealth } from './support.js';

/** `npm start` as a user runs it: the compiled server, configured only through the environment. */
describe('npm start (the compiled server)', function () {
  this.timeout(180_000);
  let base: string;
  let dataDir: string;
  // The first two starts share a database (SQLite in dataDir, or a PostgreSQL one); the preset start has its own.
  let database: TestDatabase;
  let preset: TestDatabase;
  before(async () => {
    sayLocalDiskOnS3('it checks first start, configuration errors and signals of the process, not where blobs go');
    ensureBuild();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-start-'));
    dataDir = path.join(base, 'data'); // does not exist yet: the first start creates it
    database = await createTestDatabase();
    preset = await createTestDatabase();
  });
  after(async () => {
    fs.rmSync(base, { recursive: true, force: true });
    await database?.drop();
    await preset?.drop();
  });

  const env = (extra: Record<string, string> = {}, db = database.env) =>
    cleanEnv({
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      JOBS_ENABLED: 'false',
      ...db,
      ...extra,
    });
  const listening = /"msg":"Coffer is listening","url":"(http:\/\/[^"]+)"/;

  let adminPassword = '';
  let session = '';

  it('first start: creates the data dir, prints a generated admin password once, serves /api/health', async () => {
    const p = run('npm', ['start', '--silent'], env());
    try {
      const url = (await p.waitFor(listening, 120_000))[1]!;
      const printed = [...p.stdout().matchAll(/password: (\S+)/g)];
      expect(printed, p.stdout()).to.have.length(1);
      adminPassword = printed[0]![1]!;
      expect(adminPassword).to.have.length.of.at.least(16);
      expect(p.stdout().split(adminPassword)).to.have.length(2); // nowhere else, not in a log line
      // For a person: where to open it, in plain words (HOST is loopback here), and no build tool's report.
      await p.waitFor(/Open it at:/, 10_000);
      expect(p.stdout()).to.include(`Coffer is running. Open it at:\n    ${url}/\n`);
      expect(p.stdout()).to.not.match(/vite|rolldown|chunk/i);

      const health = await waitForHealth(url);
      expect(await health.json()).to.include({ status: 'ok' });
      session = (await login(url, 'admin', adminPassword)).token;

      // The token secret is kept in the database (shared by every instance on it), not in a file.
      expect(fs.existsSync(path.join(dataDir, 'jwt-secret'))).to.equal(false);
      for (const entry of ['blobs', 'tmp']) expect(fs.existsSync(path.join(dataDir, entry)), entry).to.equal(true);
      // The metadata is in DATA_DIR on SQLite, and only in the database on PostgreSQL.
      expect(fs.existsSync(path.join(dataDir, 'coffer.sqlite')), 'coffer.sqlite').to.equal(!TEST_POSTGRES);
    } finally {
      await p.stop({ group: true }); // npm itself dies of the signal; the server shuts down cleanly
    }
    expect(p.stdout()).to.match(/"msg":"shutting down","signal":"SIGTERM"/);
  });

  it('prints the addresses people can use: PUBLIC_URL, else localhost and each network address when on all of them', () => {
    const cfg = (extra: Record<string, string>) =>
      loadConfig({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'x'.repeat(12), ...extra });
    const lan = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => `http://${a!.address}:8080/`);
    expect(reachableUrls(cfg({ HOST: '0.0.0.0' }), 'http://127.0.0.1:8080')).to.deep.equal([
      'http://localhost:8080/',
      ...lan,
    ]);
    expect(reachableUrls(cfg({ HOST: '0.0.0.0', BASE_PATH: '/coffer' }), 'http://127.0.0.1:8080')[0]).to.equal(
      'http://localhost:8080/coffer/',
    );
    expect(reachableUrls(cfg({ HOST: '10.1.2.3' }), 'http://10.1.2.3:8080')).to.deep.equal(['http://10.1.2.3:8080/']);
    expect(
      reachableUrls(cfg({ HOST: '0.0.0.0', PUBLIC_URL: 'https://files.example.org' }), 'http://127.0.0.1:8080'),
    ).to.deep.equal(['https://files.example.org/']);
  });

  it('second start: keeps the account and the secret, prints no password, exits 0 on SIGTERM', async function () {
    if (!adminPassword) this.skip();
    const p = run(process.execPath, ['dist/server/main.js'], env());
    try {
      const url = (await p.waitFor(listening))[1]!;
      await waitForHealth(url);
      expect(p.stdout()).not.to.match(/password/i);
      expect((await login(url, 'admin', adminPassword)).token).to.be.a('string');
      // Same secret: the session signed before the restart is still good.
      const me = await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${session}` } });
      expect(me.status).to.equal(200);
    } finally {
      const code = await p.stop();
      expect(code, `graceful SIGTERM exit\n${p.stdout()}\n${p.stderr()}`).to.equal(0);
    }
    expect(p.stdout()).to.match(/"msg":"shutting down","signal":"SIGTERM"/);
  });

  it('with ADMIN_PASSWORD set, the first start uses it and prints nothing secret', async () => {
    const dir = path.join(base, 'preset');
    const p = run(
      process.execPath,
      ['dist/server/main.js'],
      env({ DATA_DIR: dir, ADMIN_PASSWORD: 'preset-admin-pass' }, preset.env),
    );
    try {
      const url = (await p.waitFor(listening))[1]!;
      expect(p.stdout()).not.to.include('preset-admin-pass');
      expect(p.stdout()).not.to.match(/password:/);
      expect((await login(url, 'admin', 'preset-admin-pass')).token).to.be.a('string');
    } finally {
      await p.stop();
    }
  });

  for (const [name, value] of [
    ['PORT', 'abc'],
    ['BCRYPT_COST', '99'],
    ['DEFAULT_QUOTA', 'lots'],
    ['OPEN_REGISTRATION', 'maybe'],
  ] as const) {
    it(`bad configuration ${name}=${value}: exits non-zero naming the variable, before touching the data dir`, async () => {
      const dir = path.join(base, `bad-${name}`);
      const p = run(process.execPath, ['dist/server/main.js'], env({ DATA_DIR: dir, [name]: value }));
      const code = await Promise.race([p.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
      if (code === 'timeout') await p.stop({ graceMs: 1000 });
      expect(code, p.stdout()).to.be.a('number').and.not.equal(0);
      expect(p.stderr()).to.include('Invalid configuration').and.include(name);
      expect(p.stderr()).not.to.match(/\n\s+at /); // a message, not a stack trace
      expect(fs.existsSync(dir)).to.equal(false);
    });
  }
});
