/**
 * davfs2 with `use_locks 1` against /dav/: mount, `cp -r` a small tree in, unmount, remount, every
 * file compares equal by name (`cmp`), `df` shows the quota, and no lock is left behind.
 * This machine's FUSE fails directory listings even against Apache (STACK.md §10), so files are
 * checked by name, never with `ls` or `diff -r`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav, davUser } from './support.js';

function run(cmd: string, args: string[], timeout = 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

function whyNot(): string | null {
  if (spawnSync('mount.davfs', ['--version']).error) return 'davfs2 is not installed (apt-get install davfs2)';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse does not exist';
  if (process.getuid?.() !== 0) return 'mounting needs root';
  return null;
}

describe('davfs2 (use_locks 1) against /dav/', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let tmp: string;
  let mnt: string;

  before(async function () {
    const reason = whyNot();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    srv = await startTestServer();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-davfs-'));
    mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
    fs.chmodSync(tmp, 0o755); // mount.davfs drops to its own user for the cache
  });
  after(async () => {
    if (mnt) await run('umount', [mnt]);
    await srv?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('cp -r a tree in, unmount, remount: every file compares equal; df shows the quota; no lock left', async function () {
    const quota = 64 * 1024 * 1024;
    const u = await davUser(srv, { quotaBytes: quota });
    const url = `${srv.url}/dav/`;
    const conf = path.join(tmp, 'davfs2.conf');
    const secrets = path.join(tmp, 'secrets');
    fs.writeFileSync(secrets, `${url} ${u.username} ${u.password}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(tmp, 'cache'), { mode: 0o777 });
    fs.chmodSync(path.join(tmp, 'cache'), 0o777);
    fs.writeFileSync(
      conf,
      [
        `secrets ${secrets}`,
        'use_locks 1',
        'delay_upload 0',
        `cache_dir ${path.join(tmp, 'cache')}`,
        'ask_auth 0',
        // davfs2 1.6 lists no directory on Linux 6.16 and later without it (davfs2 issue #22; the README says so).
        'buf_size 64',
        '',
      ].join('\n'),
    );
    const mount = async () => {
      const r = await run('mount.davfs', ['-o', `conf=${conf}`, url, mnt]);
      return r;
    };
    const first = await mount();
    if (first.code !== 0 && /permission|not permitted|fuse/i.test(first.out)) {
      console.log(
        `      skipped: mount.davfs failed (mount not permitted here?): ${first.out.trim().split('\n').slice(-2).join(' ')}`,
      );
      this.skip();
    }
    expect(first.code, first.out).to.equal(0);

    // A small tree: nested folders, a 300 KB file, an empty file, a name with a space and an umlaut.
    const src = path.join(tmp, 'tree');
    const files = new Map<string, Buffer>([
      ['a.txt', Buffer.from('alpha\n')],
      ['sub/b.bin', randomBytes(300_000)],
      ['sub/deeper/c d ü.txt', Buffer.from('gamma\n')],
      ['sub/empty', Buffer.alloc(0)],
    ]);
    for (const [rel, data] of files) {
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, rel), data);
    }
    const cp = await run('cp', ['-r', src, path.join(mnt, 'tree')]);
    expect(cp.code, cp.out).to.equal(0);

    const df = await run('df', ['-B1', mnt]);
    const cols = df.out.trim().split('\n').at(-1)!.trim().split(/\s+/);
    const total = Number(cols[1]);
    console.log(`      df: ${cols.slice(1, 4).join(' / ')} (size / used / available, bytes); quota ${quota}`);
    expect(total).to.be.within(quota * 0.95, quota * 1.05);

    const um = await run('umount', [mnt]);
    expect(um.code, um.out).to.equal(0);

    // Everything arrived on the server (umount flushes the uploads), with nothing left locked.
    const dav = Dav.for(srv, u);
    for (const [rel, data] of files) {
      const res = await dav.request('GET', '/dav/tree/' + rel.split('/').map(encodeURIComponent).join('/'));
      expect(res.status, rel).to.equal(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(data), rel).to.equal(true);
    }
    const live = await srv.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM locks WHERE expires_at > $now', {
      now: Date.now(),
    });
    expect(Number(live?.n)).to.equal(0);

    const again = await mount();
    expect(again.code, again.out).to.equal(0);
    // Listing, not only opening known paths: what a file manager or `ls -R` does.
    const listed = await run('find', [path.join(mnt, 'tree'), '-mindepth', '1']);
    expect(listed.code, listed.out).to.equal(0);
    const names = listed.out
      .trim()
      .split('\n')
      .map((p) => path.relative(path.join(mnt, 'tree'), p))
      .sort();
    expect(names).to.deep.equal(['a.txt', 'sub', 'sub/b.bin', 'sub/deeper', 'sub/deeper/c d ü.txt', 'sub/empty']);
    for (const rel of files.keys()) {
      const c = await run('cmp', [path.join(src, rel), path.join(mnt, 'tree', rel)]);
      expect(c.code, `${rel}: ${c.out}`).to.equal(0);
    }
    expect((await run('umount', [mnt])).code).to.equal(0);
  });
});
