/**
 * The lookup rule for names (server/domain/paths.ts): unique per folder case-insensitively, but a
 * path names only the item whose stored name it equals after NFC — a different case is not found —
 * except that a MOVE onto a case variant of its own source renames it in place; and a write onto a
 * case variant of another item is a 409, never an overwrite of that item.
 *
 * Before, a case-only rename on an `rclone mount` (`mv Readme.txt README.txt`) sent the file to
 * the bin: rclone asked whether README.txt existed, was told yes (it matched Readme.txt), deleted
 * it, and its MOVE then failed with 404.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { api, type Api, type NodeJson } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy } from '../support/store.js';
import { Dav, davUser, type DavUser } from './support.js';

describe('case-only renames and the lookup rule', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let u: DavUser;
  let dav: Dav;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    u = await davUser(srv);
    dav = Dav.for(srv, u);
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const trash = async () => ((await a.json(a.get('/api/trash'))).items as { name: string }[]).map((i) => i.name);
  const nodeNamed = async (parentId: string, name: string) => (await a.children(parentId)).find((n) => n.name === name);
  const propfind0 = async (p: string) => {
    const res = await dav.propfind(p, '0');
    await res.arrayBuffer();
    return res.status;
  };

  it('rclone mount replay: PROPFIND README.txt is 404, so nothing is deleted; MOVE Readme.txt → README.txt renames in place', async () => {
    const dir = await a.mkdir(u.rootId, 'rclone');
    expect((await dav.put('/dav/rclone/Readme.txt', 'the readme')).status).to.equal(201);
    const before = (await nodeNamed(dir.id, 'Readme.txt'))!;
    // rclone's Move first checks whether the destination exists, and deletes it when it does.
    const exists = await propfind0('/dav/rclone/README.txt');
    if (exists === 207) await dav.request('DELETE', '/dav/rclone/README.txt');
    expect(exists).to.equal(404);
    const move = await dav.request('MOVE', '/dav/rclone/Readme.txt', {
      headers: { destination: `${srv.url}/dav/rclone/README.txt`, overwrite: 'F' },
    });
    expect(move.status).to.equal(201);
    const after = await a.children(dir.id);
    expect(after.map((n) => n.name)).to.deep.equal(['README.txt']);
    expect(after[0]!.id, 'the same file, renamed').to.equal(before.id);
    expect(await (await dav.request('GET', '/dav/rclone/README.txt')).text()).to.equal('the readme');
    expect(await propfind0('/dav/rclone/Readme.txt')).to.equal(404);
    expect(await trash()).to.deep.equal([]);
  });

  it('Windows Explorer replay: PROPFIND on the new name is 404, then MOVE with Overwrite: F renames (folders too)', async () => {
    const dir = await a.mkdir(u.rootId, 'explorer');
    expect((await dav.put('/dav/explorer/report.docx', 'doc')).status).to.equal(201);
    expect(await dav.mkcol('/dav/explorer/Photos')).to.equal(201);
    expect((await dav.put('/dav/explorer/Photos/a.jpg', 'jpg')).status).to.equal(201);
    const ids = new Map((await a.children(dir.id)).map((n) => [n.name, n.id]));
    for (const [from, to] of [
      ['report.docx', 'Report.docx'],
      ['Photos', 'PHOTOS'],
    ] as const) {
      expect(await propfind0(`/dav/explorer/${to}`), to).to.equal(404);
      const res = await dav.request('MOVE', `/dav/explorer/${from}`, {
        headers: {
          destination: `${srv.url}/dav/explorer/${to}`,
          overwrite: 'F',
          'user-agent': 'Microsoft-WebDAV-MiniRedir/10.0.19045',
        },
      });
      expect(res.status, `${from} → ${to}`).to.equal(201);
      expect((await nodeNamed(dir.id, to))?.id, to).to.equal(ids.get(from));
    }
    expect(await (await dav.request('GET', '/dav/explorer/PHOTOS/a.jpg')).text()).to.equal('jpg');
    expect(await propfind0('/dav/explorer/Photos/a.jpg'), 'a folder segment in another case is not found').to.equal(
      404,
    );
    expect(await trash()).to.deep.equal([]);
  });

  it('API rename (PATCH name) that changes only the case keeps the id and the content', async () => {
    const f = await a.upload(u.rootId, 'notes.md', '# notes');
    const res = await a.patch(`/api/nodes/${f.id}`, { name: 'NOTES.md' });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as NodeJson).name).to.equal('NOTES.md');
    expect(await (await a.get(`/api/files/${f.id}/content`)).text()).to.equal('# notes');
    expect(await trash()).to.deep.equal([]);
  });

  it('a write onto a case variant of another item is 409 on both doors and leaves that item untouched', async () => {
    const dir = await a.mkdir(u.rootId, 'clash');
    expect((await dav.put('/dav/clash/Data.csv', 'original')).status).to.equal(201);
    expect((await dav.put('/dav/clash/other.csv', 'other')).status).to.equal(201);
    expect(await dav.mkcol('/dav/clash/Folder')).to.equal(201);
    const original = (await nodeNamed(dir.id, 'Data.csv'))!;
    // WebDAV: PUT, MKCOL, COPY and MOVE (with Overwrite: T) onto a case variant.
    expect((await dav.put('/dav/clash/DATA.csv', 'clobber')).status, 'PUT').to.equal(409);
    expect(await dav.mkcol('/dav/clash/data.csv'), 'MKCOL').to.equal(409);
    expect(await dav.mkcol('/dav/clash/FOLDER'), 'MKCOL onto a folder').to.equal(409);
    for (const method of ['COPY', 'MOVE']) {
      const res = await dav.request(method, '/dav/clash/other.csv', {
        headers: { destination: `${srv.url}/dav/clash/data.CSV`, overwrite: 'T' },
      });
      expect(res.status, method).to.equal(409);
    }
    const copySelf = await dav.request('COPY', '/dav/clash/Data.csv', {
      headers: { destination: `${srv.url}/dav/clash/DATA.CSV` },
    });
    expect(copySelf.status, 'COPY onto a case variant of itself').to.equal(409);
    // API: create, upload (with and without overwrite), rename, copy.
    const put = await a.put(`/api/folders/${dir.id}/files/data.csv?overwrite=true`, 'clobber');
    expect(put.status).to.equal(409);
    const err = (await put.json()).error;
    expect(err.code).to.equal('already_exists');
    expect(err.details).to.deep.include({ name: 'data.csv', existing: 'Data.csv' });
    expect(err.message).to.include('Data.csv');
    expect((await a.put(`/api/folders/${dir.id}/files/data.csv`, 'clobber')).status).to.equal(409);
    expect((await a.post('/api/folders', { parentId: dir.id, name: 'DATA.csv' })).status).to.equal(409);
    const other = (await nodeNamed(dir.id, 'other.csv'))!;
    expect((await a.patch(`/api/nodes/${other.id}`, { name: 'data.CSV' })).status).to.equal(409);
    expect((await a.post(`/api/nodes/${other.id}/copy`, { parentId: dir.id, name: 'DATA.CSV' })).status).to.equal(409);
    // The exactly-named file is still replaced as before.
    expect((await a.put(`/api/folders/${dir.id}/files/other.csv?overwrite=true`, 'other 2')).status).to.equal(200);
    expect((await dav.put('/dav/clash/other.csv', 'other 3')).status).to.equal(204);

    const now = (await nodeNamed(dir.id, 'Data.csv'))!;
    expect(now.id).to.equal(original.id);
    expect(now.etag).to.equal(original.etag);
    expect(await (await dav.request('GET', '/dav/clash/Data.csv')).text()).to.equal('original');
    expect((await a.children(dir.id)).map((n) => n.name).sort()).to.deep.equal(['Data.csv', 'Folder', 'other.csv']);
    expect(await trash()).to.deep.equal([]);
  });

  it('an NFD path (macOS) finds the NFC name; the same name in another case does not', async () => {
    await a.mkdir(u.rootId, 'Café');
    expect(
      (await dav.put(`/dav/${encodeURIComponent('Café')}/${encodeURIComponent('Résumé.txt')}`, 'cv')).status,
    ).to.equal(201);
    const nfd = `/dav/${encodeURIComponent('Café'.normalize('NFD'))}/${encodeURIComponent('Résumé.txt'.normalize('NFD'))}`;
    const got = await dav.request('GET', nfd);
    expect(got.status).to.equal(200);
    expect(await got.text()).to.equal('cv');
    expect(await propfind0(`/dav/${encodeURIComponent('CAFÉ')}/${encodeURIComponent('Résumé.txt')}`)).to.equal(404);
    expect(await propfind0(`/dav/${encodeURIComponent('Café')}/${encodeURIComponent('résumé.TXT')}`)).to.equal(404);
  });
});

/** Why a real `rclone mount` cannot run here, or null. */
function whyNoMount(): string | null {
  if (spawnSync('rclone', ['version']).error) return 'rclone is not installed (apt-get install rclone)';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse does not exist';
  if (spawnSync('fusermount3', ['-V']).error && spawnSync('fusermount', ['-V']).error)
    return 'fusermount is missing (apt-get install fuse3)';
  return null;
}

/** Runs a command without blocking the event loop (the server under test runs in this process). */
function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('a real `rclone mount`: mv Readme.txt README.txt', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let tmp: string;
  let mnt: string;
  let child: ChildProcess | undefined;
  let log = '';

  before(async function () {
    const why = whyNoMount();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    srv = await startTestServer();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-rclone-mount-'));
    mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
  });
  after(async () => {
    try {
      if (child) {
        await run('fusermount', ['-u', mnt]);
        child.kill();
      }
      if (srv) await expectHealthy(srv);
    } finally {
      await srv?.close();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('renames the file in place: same id, same content, nothing in the bin', async function () {
    const u = await davUser(srv);
    const a = api(srv.url).as(u);
    const original = await a.upload(u.rootId, 'Readme.txt', 'read me first');
    const obscured = spawnSync('rclone', ['obscure', u.password]).stdout.toString().trim();
    const env = {
      ...process.env,
      RCLONE_CONFIG_COFFER_TYPE: 'webdav',
      RCLONE_CONFIG_COFFER_URL: `${srv.url}/dav/`,
      RCLONE_CONFIG_COFFER_VENDOR: 'owncloud',
      RCLONE_CONFIG_COFFER_USER: u.username,
      RCLONE_CONFIG_COFFER_PASS: obscured,
      RCLONE_CONFIG: path.join(tmp, 'none.conf'),
    };
    child = spawn('rclone', ['mount', 'coffer:', mnt, '-v'], { env });
    child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const deadline = Date.now() + 15_000;
    while (!fs.readFileSync('/proc/mounts', 'utf8').includes(` ${mnt} `)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        console.log(
          `      skipped: rclone mount did not mount here:\n${log
            .trim()
            .split('\n')
            .slice(-5)
            .map((l) => `        ${l}`)
            .join('\n')}`,
        );
        child = undefined;
        return this.skip();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Files are checked by name (STACK.md §10: this machine's FUSE may fail directory listings).
    const mv = await run('mv', ['Readme.txt', 'README.txt'], mnt);
    expect(mv.code, `mv: ${mv.out}\nrclone: ${log}`).to.equal(0);
    const cat = await run('cat', ['README.txt'], mnt);
    expect(cat.out).to.equal('read me first');

    const items = await a.children(u.rootId);
    const renamed = items.find((n) => n.name === 'README.txt');
    expect(renamed?.id, 'the same file, renamed on the server').to.equal(original.id);
    expect(items.some((n) => n.name === 'Readme.txt')).to.equal(false);
    expect(await (await a.get(`/api/files/${original.id}/content`)).text()).to.equal('read me first');
    expect((await a.json(a.get('/api/trash'))).items).to.deep.equal([]);
  });
});
