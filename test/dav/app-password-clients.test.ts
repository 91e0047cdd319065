/**
 * Real clients with an app password against an account that has two-factor sign-in on: rclone
 * (vendor owncloud, as the console's line sets it up) and davfs2, while the main password is refused.
 * davfs2: this machine's FUSE fails directory listings (STACK.md §10), so files are checked by name.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createAppPassword, enableTotp } from '../support/accounts.js';
import { createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from './support.js';
import { installed, skipWithout } from '../support/programs.js';

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('app passwords with real WebDAV clients, TOTP on', function () {
  this.timeout(180_000);
  let srv: TestServer;
  let u: TestUser;
  let appPassword: string;
  let tmp: string;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    appPassword = (await createAppPassword(srv, u, 'full', 'sync')).password;
    await enableTotp(srv, u, Date.now());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-apppw-'));
    fs.chmodSync(tmp, 0o755); // mount.davfs drops to its own user for the cache
  });
  after(async () => {
    await srv?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const files = new Map<string, Buffer>([
    ['a.txt', Buffer.from('alpha\n')],
    ['sub/b.bin', randomBytes(200_000)],
  ]);
  const writeTree = (dir: string) => {
    for (const [rel, data] of files) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), data);
    }
  };
  const expectOnServer = async (folder: string) => {
    const dav = new Dav(srv.url, basic(u.username, appPassword));
    for (const [rel, data] of files) {
      const res = await dav.request('GET', `/dav/${folder}/${rel}`);
      expect(res.status, rel).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(data), rel).to.equal(true);
    }
  };

  it('rclone copy and check with the app password; the main password is refused', async function () {
    skipWithout(this, 'rclone', 'version');
    const src = path.join(tmp, 'rclone-src');
    writeTree(src);
    const remote = (password: string) => ({
      RCLONE_CONFIG_COFFER_TYPE: 'webdav',
      RCLONE_CONFIG_COFFER_URL: `${srv.url}/dav/`,
      RCLONE_CONFIG_COFFER_VENDOR: 'owncloud',
      RCLONE_CONFIG_COFFER_USER: u.username,
      RCLONE_CONFIG_COFFER_PASS: spawnSync('rclone', ['obscure', password]).stdout.toString().trim(),
      RCLONE_CONFIG: path.join(tmp, 'none.conf'),
    });
    const up = await run('rclone', ['copy', src, 'coffer:synced', '--retries', '1'], remote(appPassword));
    expect(up.code, up.out).to.equal(0);
    const check = await run('rclone', ['check', src, 'coffer:synced'], remote(appPassword));
    expect(check.code, check.out).to.equal(0);
    await expectOnServer('synced');

    const refused = await run(
      'rclone',
      ['lsf', 'coffer:', '--retries', '1', '--low-level-retries', '1'],
      remote(u.password),
    );
    expect(refused.code, refused.out).not.to.equal(0);
    expect(refused.out).to.match(/401|app password/i);
  });

  it('davfs2 mounts with the app password, writes, and the files arrive', async function () {
    const reason = !installed('mount.davfs')
      ? 'davfs2 is not installed (apt-get install davfs2)'
      : !fs.existsSync('/dev/fuse')
        ? '/dev/fuse does not exist'
        : process.getuid?.() !== 0
          ? 'mounting needs root'
          : null;
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    const url = `${srv.url}/dav/`;
    const mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
    const secrets = path.join(tmp, 'secrets');
    fs.writeFileSync(secrets, `${url} ${u.username} ${appPassword}\n`, { mode: 0o600 });
    const cache = path.join(tmp, 'cache');
    fs.mkdirSync(cache);
    fs.chmodSync(cache, 0o777);
    const conf = path.join(tmp, 'davfs2.conf');
    fs.writeFileSync(
      conf,
      [`secrets ${secrets}`, 'use_locks 1', 'delay_upload 0', `cache_dir ${cache}`, 'ask_auth 0', ''].join('\n'),
    );
    const mounted = await run('mount.davfs', ['-o', `conf=${conf}`, url, mnt]);
    if (mounted.code !== 0 && /permission|not permitted|fuse/i.test(mounted.out)) {
      console.log(
        `      skipped: mount.davfs failed (mount not permitted here?): ${mounted.out.trim().split('\n').at(-1)}`,
      );
      this.skip();
    }
    expect(mounted.code, mounted.out).to.equal(0);
    try {
      const src = path.join(tmp, 'davfs-src');
      writeTree(src);
      const cp = await run('cp', ['-r', src, path.join(mnt, 'mounted')]);
      expect(cp.code, cp.out).to.equal(0);
    } finally {
      const um = await run('umount', [mnt]);
      expect(um.code, um.out).to.equal(0);
    }
    await expectOnServer('mounted');
  });
});
