/** Real WebDAV clients against /dav/: rclone (owncloud vendor), cadaver, and the `webdav` npm client. */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type FileStat } from 'webdav';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav, davUser, type DavUser } from './support.js';
import { skipWithout } from '../support/programs.js';

function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string; timeout?: number } = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        timeout: opts.timeout ?? 240_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Every file under dir: relative path → absolute path. */
function walk(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, base, out);
    else out.set(path.relative(base, p).normalize('NFC'), p);
  }
  return out;
}

describe('WebDAV clients', function () {
  this.timeout(300_000);
  let srv: TestServer;
  let u: DavUser;
  let tmp: string;
  before(async () => {
    srv = await startTestServer();
    u = await davUser(srv);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-davclients-'));
  });
  after(async () => {
    await srv.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the webdav npm client does a full round trip', async () => {
    const client = createClient(`${srv.url}/dav/`, { username: u.username, password: u.password });
    await client.createDirectory('/npm');
    await client.createDirectory('/npm/sub dir');
    const bytes = randomBytes(100_000);
    expect(await client.putFileContents('/npm/sub dir/data.bin', bytes)).to.equal(true);
    await client.putFileContents('/npm/hello ü#.txt', 'hello world');
    const list = (await client.getDirectoryContents('/npm')) as FileStat[];
    expect(list.map((f) => f.basename).sort()).to.deep.equal(['hello ü#.txt', 'sub dir']);
    const stat = (await client.stat('/npm/sub dir/data.bin')) as FileStat;
    expect(stat).to.include({ type: 'file', size: 100_000 });
    expect(stat.etag).to.be.a('string');
    const back = Buffer.from((await client.getFileContents('/npm/sub dir/data.bin')) as ArrayBuffer);
    expect(back.equals(bytes)).to.equal(true);
    expect(await client.getFileContents('/npm/hello ü#.txt', { format: 'text' })).to.equal('hello world');
    await client.moveFile('/npm/hello ü#.txt', '/npm/moved.txt');
    await client.copyFile('/npm/moved.txt', '/npm/sub dir/copied.txt');
    expect(await client.exists('/npm/hello ü#.txt')).to.equal(false);
    expect(await client.getFileContents('/npm/sub dir/copied.txt', { format: 'text' })).to.equal('hello world');
    await client.deleteFile('/npm/moved.txt');
    expect(await client.exists('/npm/moved.txt')).to.equal(false);
    const deep = (await client.getDirectoryContents('/npm', { deep: true })) as FileStat[];
    expect(deep.map((f) => f.filename).sort()).to.deep.equal([
      '/npm/sub dir',
      '/npm/sub dir/copied.txt',
      '/npm/sub dir/data.bin',
    ]);
    const quota = await client.getQuota();
    expect(quota).to.have.property('used').that.is.a('number');
  });

  it('cadaver: mkcol, put, get, move, copy, propset/propget, delete', async function () {
    skipWithout(this, 'cadaver');
    const home = fs.mkdtempSync(path.join(tmp, 'cadaver-'));
    const host = new URL(srv.url).hostname;
    fs.writeFileSync(path.join(home, '.netrc'), `machine ${host} login ${u.username} password ${u.password}\n`, {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(home, 'local.txt'), 'from cadaver\n');
    const script = [
      'mkcol cad',
      'cd cad',
      'put local.txt a.txt',
      'get a.txt back.txt',
      'move a.txt b.txt',
      'copy b.txt c.txt',
      'propset b.txt color blue',
      'propget b.txt color',
      'delete c.txt',
      'ls',
      'quit',
      '',
    ].join('\n');
    const { out } = await run('cadaver', [`${srv.url}/dav/`], {
      env: { HOME: home },
      cwd: home,
      input: script,
      timeout: 60_000,
    });
    expect(out).to.not.match(/failed/i);
    expect(out.match(/succeeded/g) ?? []).to.have.length.of.at.least(7);
    expect(out).to.include('Value of color is: blue');
    expect(fs.readFileSync(path.join(home, 'back.txt'), 'utf8')).to.equal('from cadaver\n');
    const dav = Dav.for(srv, u);
    expect(await (await dav.request('GET', '/dav/cad/b.txt')).text()).to.equal('from cadaver\n');
    expect((await dav.request('GET', '/dav/cad/c.txt')).status).to.equal(404);
  });

  it('rclone (vendor owncloud): 2,000 files up, check by hash, a second sync moves nothing, modtimes kept, download is byte-identical', async function () {
    skipWithout(this, 'rclone', 'version');
    const src = path.join(tmp, 'tree');
    const mtimes = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const dir = path.join(src, `d${i % 10}`, `s${Math.floor(i / 10) % 10}`);
      fs.mkdirSync(dir, { recursive: true });
      const name = i % 97 === 0 ? `f${i} ü #%&'.txt` : `f${i}.bin`;
      const file = path.join(dir, name);
      fs.writeFileSync(file, randomBytes(i % 3000));
      const t = 1_600_000_000 + i * 37; // whole seconds
      fs.utimesSync(file, t, t);
      mtimes.set(path.relative(src, file), t);
    }
    const obscured = spawnSync('rclone', ['obscure', u.password]).stdout.toString().trim();
    const env = {
      RCLONE_CONFIG_COFFER_TYPE: 'webdav',
      RCLONE_CONFIG_COFFER_URL: `${srv.url}/dav/`,
      RCLONE_CONFIG_COFFER_VENDOR: 'owncloud',
      RCLONE_CONFIG_COFFER_USER: u.username,
      RCLONE_CONFIG_COFFER_PASS: obscured,
      RCLONE_CONFIG: path.join(tmp, 'none.conf'),
    };
    const fast = ['--transfers', '8', '--checkers', '8', '--tpslimit', '0'];
    const t0 = performance.now();
    const up = await run('rclone', ['copy', src, 'coffer:tree', ...fast], { env });
    const upMs = performance.now() - t0;
    expect(up.code, up.out).to.equal(0);

    const check = await run('rclone', ['check', src, 'coffer:tree', ...fast, '-vv'], { env });
    expect(check.code, check.out.slice(-3000)).to.equal(0);
    expect(check.out).to.include('0 differences found');
    expect(check.out).to.include('2000 matching files');
    // Hashes were compared, not sizes only (rclone says which hash it uses; it would warn otherwise).
    expect(check.out).to.match(/Using (md5|sha1) for hash comparisons/);
    expect(check.out).to.not.match(/--size-only|no hashes in common/i);

    const again = await run('rclone', ['sync', src, 'coffer:tree', ...fast, '-v', '--stats-one-line'], { env });
    expect(again.code, again.out).to.equal(0);
    expect(again.out).to.not.match(/: Copied \(/);
    expect(again.out).to.match(/Transferred:\s+0 B \/ 0 B|0 B \/ 0 B/);

    const lsjson = await run('rclone', ['lsjson', '-R', '--files-only', 'coffer:tree'], { env });
    const listed = JSON.parse(lsjson.out.slice(lsjson.out.indexOf('['), lsjson.out.lastIndexOf(']') + 1)) as {
      Path: string;
      ModTime: string;
    }[];
    expect(listed).to.have.length(2000);
    for (const f of listed)
      expect(Math.floor(Date.parse(f.ModTime) / 1000), f.Path).to.equal(
        mtimes.get(f.Path.normalize('NFC')) ?? mtimes.get(f.Path),
      );

    const down = path.join(tmp, 'down');
    const dl = await run('rclone', ['copy', 'coffer:tree', down, ...fast], { env });
    expect(dl.code, dl.out).to.equal(0);
    const a = walk(src);
    const b = walk(down);
    expect([...b.keys()].sort()).to.deep.equal([...a.keys()].sort());
    const digest = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    for (const [rel, p] of a) expect(digest(b.get(rel)!), rel).to.equal(digest(p));
    console.log(
      `      rclone copy of 2,000 files: ${(upMs / 1000).toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
