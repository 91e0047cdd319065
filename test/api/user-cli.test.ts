/**
 * `npm run user` (issue 12): the real command as a child process on a test server's database,
 * while the server runs (an ended session is refused at once) and while it is stopped.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { Dav, davUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Runs server/user-cli.ts (what dist/server/user-cli.js is compiled from) against the server's store. */
function userCli(srv: TestServer, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'server/user-cli.ts'), ...args],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          DATA_DIR: srv.dataDir,
          BCRYPT_COST: '4',
          LOG_LEVEL: 'silent',
          ...srv.databaseEnv,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 2) : 0, out: stdout, err: stderr }),
    );
  });
}

const passwordIn = (out: string) => /shown only this once\): (\S+)/.exec(out)?.[1];
const signIn = (srv: TestServer, username: string, password: string) =>
  api(srv.url).post('/api/auth/login', { username, password });

describe('npm run user', function () {
  this.timeout(60_000);
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('creates an account with a generated password, shown once, and --admin makes an administrator', async () => {
    const r = await userCli(srv, 'create', 'cli-made', 'cli-made@example.test', '--admin');
    expect(r.code, r.err).to.equal(0);
    const password = passwordIn(r.out);
    expect(password).to.have.length.greaterThanOrEqual(20);
    const res = await signIn(srv, 'cli-made', password!);
    expect(res.status).to.equal(200);
    expect((await res.json()).user.role).to.equal('admin');
    const again = await userCli(srv, 'create', 'cli-made', 'other@example.test');
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/username is already taken/);
  });

  it('resets a password while the server runs: the old session and WebDAV password are refused at once', async () => {
    const u = await davUser(srv);
    const dav = Dav.for(srv, u);
    expect((await dav.request('PROPFIND', '/dav/', { headers: { depth: '0' } })).status).to.equal(207);
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(200);

    const r = await userCli(srv, 'reset-password', u.username);
    expect(r.code, r.err).to.equal(0);
    const password = passwordIn(r.out)!;
    expect(password).not.to.equal(u.password);

    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(401);
    const old = await dav.request('PROPFIND', '/dav/', { headers: { depth: '0' } });
    await old.arrayBuffer();
    expect(old.status).to.equal(401);
    expect((await signIn(srv, u.username, u.password)).status).to.equal(401);
    expect((await signIn(srv, u.username, password)).status).to.equal(200);
    const admin = api(srv.url).as(await srv.adminToken());
    const log = (await admin.json(admin.get(`/api/activity?owner=${u.id}`))).items as any[];
    expect(log.find((e) => e.action === 'user.password_set')?.actor.username).to.equal('system');
  });

  it('promotes, disables and enables; lists the accounts', async () => {
    const u = await davUser(srv);
    expect((await userCli(srv, 'promote', u.username)).code).to.equal(0);
    expect((await api(srv.url).as(u).json(api(srv.url).as(u).get('/api/auth/me'))).user.role).to.equal('admin');

    // Asked twice, so that the server holds the answer (its lookups are cached while the database is unchanged).
    const dav = Dav.for(srv, u);
    const propfind = async () => (await dav.request('PROPFIND', '/dav/', { headers: { depth: '0' } })).status;
    expect([await propfind(), await propfind()]).to.deep.equal([207, 207]);
    expect((await userCli(srv, 'disable', u.username)).code).to.equal(0);
    // Another process's commit ends it at the very next request.
    expect(await propfind()).to.equal(401);
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(401);
    expect((await signIn(srv, u.username, u.password)).status).to.equal(401);
    const listed = await userCli(srv, 'list');
    expect(listed.code).to.equal(0);
    expect(listed.out).to.match(new RegExp(`^${u.username}\\s+admin\\s+disabled\\s+${u.email}`, 'm'));
    expect(listed.out).to.match(/^admin\s+admin\s+enabled/m);

    expect((await userCli(srv, 'enable', u.username)).code).to.equal(0);
    expect((await signIn(srv, u.username, u.password)).status).to.equal(200);
  });

  it('answers an unknown user or command with exit code 1 and a message', async () => {
    const unknown = await userCli(srv, 'reset-password', 'nobody-at-all');
    expect(unknown.code).to.equal(1);
    expect(unknown.err).to.include('No user "nobody-at-all"');
    const bad = await userCli(srv, 'frobnicate');
    expect(bad.code).to.equal(1);
    expect(bad.err).to.include('Unknown command "frobnicate"');
    expect((await userCli(srv, 'promote')).code).to.equal(1);
  });
});

describe('npm run user, with the server stopped', function () {
  this.timeout(60_000);
  it('resets the admin password offline; the next start signs in with it', async () => {
    const first = await startTestServer();
    let again: TestServer | undefined;
    try {
      await first.stop();
      const r = await userCli(first, 'reset-password', 'admin');
      expect(r.code, r.err).to.equal(0);
      again = await startTestServer({ shareStoreWith: first });
      expect((await signIn(again, 'admin', passwordIn(r.out)!)).status).to.equal(200);
    } finally {
      await again?.close();
      await first.close();
    }
  });
});
