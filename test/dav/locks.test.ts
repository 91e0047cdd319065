/**
 * WebDAV class 2: token locks and the If: header, replays of Windows Explorer and macOS Finder,
 * the JSON API agreeing with locks (locks-restart.test.ts: a restart and the clock), the ANCHORS §4.3 If: regressions, and a cadaver session.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { lock, lockdiscovery, status } from './lock-requests.js';
import { Dav, davUser, type DavUser } from './support.js';
import { skipWithout } from '../support/programs.js';

describe('WebDAV locks (class 2)', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let u: DavUser;
  let dav: Dav;
  before(async () => {
    srv = await startTestServer();
    u = await davUser(srv);
    dav = Dav.for(srv, u);
  });
  after(() => srv.close());

  it('OPTIONS says DAV: 1, 2 and allows LOCK and UNLOCK; supportedlock lists exclusive and shared', async () => {
    const res = await dav.request('OPTIONS', '/dav/');
    expect(res.headers.get('dav')).to.equal('1, 2');
    expect(res.headers.get('allow')).to.include('LOCK').and.include('UNLOCK');
    expect(await dav.put('/dav/s.txt', 'x')).to.have.property('status', 201);
    const xml = await (
      await dav.propfind(
        '/dav/s.txt',
        '0',
        '<D:propfind xmlns:D="DAV:"><D:prop><D:supportedlock/></D:prop></D:propfind>',
      )
    ).text();
    expect(xml).to.include('<D:exclusive/>').and.include('<D:shared/>');
  });

  it('Windows Explorer replay: LOCK (no Depth, Second-3600), PUT and Win32 PROPPATCH with the token in an untagged If:, UNLOCK', async () => {
    const win = { 'user-agent': 'Microsoft-WebDAV-MiniRedir/10.0.19045', translate: 'f' };
    const root = await fetch(srv.url + '/', { method: 'OPTIONS', headers: win }); // DavClnt asks the site root first
    expect(root.headers.get('dav')).to.equal('1, 2');
    expect(root.headers.get('allow')).to.include('LOCK');
    expect(await status(dav.request('OPTIONS', '/dav/', { headers: win }))).to.equal(200);
    expect(await status(dav.propfind('/dav/report.docx', '0'))).to.equal(404);
    const l = await lock(dav, '/dav/report.docx', { ...win, timeout: 'Second-3600' });
    expect(l.status).to.equal(201); // an unmapped URL: an empty file is created and locked
    expect(l.token).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(l.body).to.include('<D:timeout>Second-3600</D:timeout>').and.include('<D:depth>infinity</D:depth>');
    expect(l.body)
      .to.include(`<D:href>${l.token}</D:href>`)
      .and.include('<D:lockroot><D:href>/dav/report.docx</D:href>');
    const If = `(<${l.token}>)`;

    expect(
      await status(dav.request('PUT', '/dav/report.docx', { headers: { ...win, If }, body: 'the report' })),
    ).to.equal(204);
    const created = 'Mon, 02 Jan 2023 10:00:00 GMT';
    const modified = 'Tue, 03 Jan 2023 11:30:00 GMT';
    const body =
      `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>` +
      `<Z:Win32CreationTime>${created}</Z:Win32CreationTime><Z:Win32LastAccessTime>${modified}</Z:Win32LastAccessTime>` +
      `<Z:Win32LastModifiedTime>${modified}</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>` +
      '</D:prop></D:set></D:propertyupdate>';
    // Without the token the same user is refused: the token is the key.
    expect(
      await status(
        dav.request('PROPPATCH', '/dav/report.docx', { headers: { ...win, 'content-type': 'text/xml' }, body }),
      ),
    ).to.equal(423);
    const pp = await dav.request('PROPPATCH', '/dav/report.docx', {
      headers: { ...win, If, 'content-type': 'text/xml' },
      body,
    });
    expect(pp.status).to.equal(207);
    const ppXml = await pp.text();
    expect(ppXml).to.include('200 OK').and.not.include('403').and.not.include('424');

    // Wrong tokens: 412; no token: 423; DELETE without the token: 423.
    expect(
      await status(
        dav.request('PUT', '/dav/report.docx', {
          headers: { If: '(<urn:uuid:00000000-0000-0000-0000-000000000000>)' },
          body: 'x',
        }),
      ),
    ).to.equal(412);
    expect(await status(dav.request('PUT', '/dav/report.docx', { body: 'x' }))).to.equal(423);
    expect(await status(dav.request('DELETE', '/dav/report.docx'))).to.equal(423);
    expect(
      await status(dav.request('MOVE', '/dav/report.docx', { headers: { destination: `${srv.url}/dav/moved.docx` } })),
    ).to.equal(423);
    expect(await lockdiscovery(dav, '/dav/report.docx')).to.include(l.token);

    expect(
      await status(dav.request('UNLOCK', '/dav/report.docx', { headers: { ...win, 'lock-token': `<${l.token}>` } })),
    ).to.equal(204);
    expect(await lockdiscovery(dav, '/dav/report.docx')).to.not.include(l.token);
    const got = await dav.request('GET', '/dav/report.docx');
    expect(await got.text()).to.equal('the report');
    expect(got.headers.get('last-modified')).to.equal(modified);
    const props = await (await dav.propfind('/dav/report.docx', '0')).text();
    expect(props).to.include(`<D:getlastmodified>${modified}</D:getlastmodified>`).and.include('00000020');
    expect(await status(dav.request('PUT', '/dav/report.docx', { body: 'unlocked write' }))).to.equal(204);
  });

  it('macOS Finder replay: LOCK, chunked PUT with X-Expected-Entity-Length, ._ and .DS_Store files, quota PROPFIND, UNLOCK', async () => {
    const mac = { 'user-agent': 'WebDAVFS/3.0.0 (03008000) Darwin/22.1.0 (arm64)' };
    expect(await dav.mkcol('/dav/Photos')).to.equal(201);
    const quota = await (
      await dav.request('PROPFIND', '/dav/', {
        headers: { ...mac, depth: '0', 'content-type': 'text/xml' },
        body: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/><D:quota/><D:quotaused/></D:prop></D:propfind>',
      })
    ).text();
    expect(quota)
      .to.match(/<D:quota-available-bytes>\d+<\/D:quota-available-bytes>/)
      .and.match(/<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
    const payload = Buffer.alloc(70_000, 'p');
    for (const name of ['holiday.jpg', '._holiday.jpg', '.DS_Store']) {
      const l = await lock(dav, `/dav/Photos/${name}`, { ...mac, depth: '0', timeout: 'Second-600' });
      expect(l.status, name).to.equal(201);
      expect(l.body).to.include('<D:timeout>Second-600</D:timeout>').and.include('<D:depth>0</D:depth>');
      const content = name === 'holiday.jpg' ? payload : Buffer.from(`meta of ${name}`);
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(content.subarray(0, 1000));
          c.enqueue(content.subarray(1000));
          c.close();
        },
      });
      const put = await dav.request('PUT', `/dav/Photos/${name}`, {
        headers: {
          ...mac,
          If: `(<${l.token}>)`,
          'x-expected-entity-length': String(content.length),
          'content-type': 'application/octet-stream',
        },
        body: stream,
      });
      await put.arrayBuffer();
      expect(put.status, name).to.equal(204);
      expect(
        await status(
          dav.request('UNLOCK', `/dav/Photos/${name}`, { headers: { ...mac, 'lock-token': `<${l.token}>` } }),
        ),
      ).to.equal(204);
      const back = Buffer.from(await (await dav.request('GET', `/dav/Photos/${name}`)).arrayBuffer());
      expect(back.equals(content), name).to.equal(true);
    }
    const listing = await (await dav.propfind('/dav/Photos/', '1')).text();
    expect(listing)
      .to.include('/dav/Photos/._holiday.jpg')
      .and.include('/dav/Photos/.DS_Store')
      .and.include('<D:getcontentlength>70000</D:getcontentlength>');
  });

  it('If: regressions (ANCHORS §4.3): unknown untagged token, bogus token on a locked file, wrong etag, garbage → 412/423/400; the server stays up', async () => {
    await dav.put('/dav/r.txt', 'r');
    expect(
      await status(
        dav.request('PUT', '/dav/r.txt', {
          headers: { If: '(<urn:uuid:11111111-2222-3333-4444-555555555555>)' },
          body: 'y',
        }),
      ),
    ).to.equal(412);
    const l = await lock(dav, '/dav/r.txt');
    expect(
      await status(dav.request('PUT', '/dav/r.txt', { headers: { If: '(<opaquelocktoken:bogus>)' }, body: 'y' })),
    ).to.equal(412);
    expect(await status(dav.request('PUT', '/dav/r.txt', { headers: { If: '(["wrong-etag"])' }, body: 'y' }))).to.equal(
      412,
    );
    // A true header that submits the wrong token: still locked.
    expect(
      await status(
        dav.request('PUT', '/dav/r.txt', {
          headers: { If: '(<opaquelocktoken:bogus>) (Not <DAV:no-lock>)' },
          body: 'y',
        }),
      ),
    ).to.equal(423);
    for (const bad of ['(corrupt', '<x>', 'nonsense', '([unquoted])', '()']) {
      expect(await status(dav.request('PUT', '/dav/r.txt', { headers: { If: bad }, body: 'y' })), bad).to.equal(400);
    }
    // Token and ETag, tagged with the resource's absolute URL.
    const etag = (await dav.request('HEAD', '/dav/r.txt')).headers.get('etag')!;
    expect(
      await status(
        dav.request('PUT', '/dav/r.txt', {
          headers: { If: `<${srv.url}/dav/r.txt> (<${l.token}> [${etag}])` },
          body: 'z',
        }),
      ),
    ).to.equal(204);
    expect(
      await status(
        dav.request('UNLOCK', '/dav/r.txt', {
          headers: { 'lock-token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' },
        }),
      ),
    ).to.equal(409);
    expect(await status(dav.request('UNLOCK', '/dav/r.txt', { headers: { 'lock-token': `<${l.token}>` } }))).to.equal(
      204,
    );
    expect(await status(dav.request('GET', '/dav/r.txt'))).to.equal(200);
    expect(srv.errors).to.deep.equal([]);
  });

  it('a depth-infinity lock on a folder covers its members, also new ones; shared locks coexist, exclusive ones conflict', async () => {
    expect(await dav.mkcol('/dav/team')).to.equal(201);
    await dav.put('/dav/team/a.txt', 'a');
    const l = await lock(dav, '/dav/team/');
    expect(l.status).to.equal(200);
    expect(await status(dav.request('PUT', '/dav/team/new.txt', { body: 'n' }))).to.equal(423);
    expect(await status(dav.request('PUT', '/dav/team/a.txt', { body: 'n' }))).to.equal(423);
    expect(await status(dav.request('MKCOL', '/dav/team/sub'))).to.equal(423);
    expect(
      await status(
        dav.request('PUT', '/dav/team/new.txt', { body: 'n', headers: { If: `</dav/team/> (<${l.token}>)` } }),
      ),
    ).to.equal(201);
    expect(await lockdiscovery(dav, '/dav/team/new.txt'))
      .to.include(l.token)
      .and.include('<D:lockroot><D:href>/dav/team/</D:href>');
    expect((await lock(dav, '/dav/team/a.txt')).status).to.equal(423);
    // A refresh through a member, with the collection's token.
    const r = await dav.request('LOCK', '/dav/team/a.txt', {
      headers: { If: `(<${l.token}>)`, timeout: 'Second-120' },
    });
    expect(r.status).to.equal(200);
    expect(await r.text())
      .to.include('Second-120')
      .and.include(l.token);
    expect(await status(dav.request('UNLOCK', '/dav/team/', { headers: { 'lock-token': `<${l.token}>` } }))).to.equal(
      204,
    );

    await dav.put('/dav/shared.txt', 's');
    const s1 = await lock(dav, '/dav/shared.txt', { timeout: 'Infinite, Second-4100000000' }, 'shared');
    expect(s1.body).to.include('<D:timeout>Second-86400</D:timeout>'); // Infinite → the cap (DAV_LOCK_MAX_TIMEOUT, 24 h)
    const s2 = await lock(dav, '/dav/shared.txt', {}, 'shared');
    expect([s1.status, s2.status]).to.deep.equal([200, 200]);
    expect((await lock(dav, '/dav/shared.txt')).status).to.equal(423);
    expect(
      await status(dav.request('PUT', '/dav/shared.txt', { body: 'x', headers: { If: `(<${s2.token}>)` } })),
    ).to.equal(204);
  });

  it('the JSON API agrees: rename, move, overwrite and delete of a locked file (or one inside a locked folder) are 423 locked', async () => {
    await dav.mkcol('/dav/api');
    await dav.put('/dav/api/f.txt', 'f');
    await dav.mkcol('/dav/api/dir');
    await dav.put('/dav/api/dir/inner.txt', 'i');
    const a = api(srv.url).as(u.token);
    const kids = await a.children(u.rootId);
    const folder = kids.find((k) => k.name === 'api')!;
    const inside = await a.children(folder.id);
    const file = inside.find((k) => k.name === 'f.txt')!;
    const dir = inside.find((k) => k.name === 'dir')!;
    const inner = (await a.children(dir.id))[0]!;
    const lf = await lock(dav, '/dav/api/f.txt');
    const ld = await lock(dav, '/dav/api/dir/');
    const expectLocked = async (res: Promise<Response>, what: string) => {
      const r = await res;
      expect(r.status, what).to.equal(423);
      expect(((await r.json()) as { error: { code: string } }).error.code, what).to.equal('locked');
    };
    await expectLocked(a.patch(`/api/nodes/${file.id}`, { name: 'g.txt' }), 'rename');
    await expectLocked(a.patch(`/api/nodes/${file.id}`, { parentId: u.rootId }), 'move');
    await expectLocked(a.put(`/api/folders/${folder.id}/files/f.txt?overwrite=true`, 'new'), 'overwrite');
    await expectLocked(a.delete(`/api/nodes/${file.id}`), 'delete');
    await expectLocked(a.delete(`/api/nodes/${inner.id}`), 'delete inside a locked folder');
    await expectLocked(a.patch(`/api/nodes/${inner.id}`, { name: 'x.txt' }), 'rename inside a locked folder');
    await expectLocked(a.delete(`/api/nodes/${folder.id}`), 'delete of a folder holding a lock');
    await dav.request('UNLOCK', '/dav/api/f.txt', { headers: { 'lock-token': `<${lf.token}>` } });
    await dav.request('UNLOCK', '/dav/api/dir/', { headers: { 'lock-token': `<${ld.token}>` } });
    expect((await a.patch(`/api/nodes/${file.id}`, { name: 'g.txt' })).status).to.equal(200);
    expect((await a.delete(`/api/nodes/${inner.id}`)).status).to.equal(204);
  });

  it('a MOVE by the holder moves the file and drops the lock (RFC 4918 §7.3: locks do not move)', async () => {
    await dav.put('/dav/mv.txt', 'm');
    const l = await lock(dav, '/dav/mv.txt');
    expect(
      await status(
        dav.request('MOVE', '/dav/mv.txt', {
          headers: { destination: `${srv.url}/dav/mv2.txt`, If: `(<${l.token}>)` },
        }),
      ),
    ).to.equal(201);
    expect(await lockdiscovery(dav, '/dav/mv2.txt')).to.not.include(l.token);
    expect(await status(dav.request('PUT', '/dav/mv2.txt', { body: 'free' }))).to.equal(204);
    expect(await status(dav.request('PUT', '/dav/mv.txt', { body: 'free' }))).to.equal(201);
  });

  it('cadaver: lock, a second client is refused, unlock, the write goes through', async function () {
    skipWithout(this, 'cadaver');
    await dav.put('/dav/cad.txt', 'cadaver');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-cadlock-'));
    try {
      fs.writeFileSync(
        path.join(home, '.netrc'),
        `machine ${new URL(srv.url).hostname} login ${u.username} password ${u.password}\n`,
        { mode: 0o600 },
      );
      const child = spawn('cadaver', [`${srv.url}/dav/`], { env: { ...process.env, HOME: home }, cwd: home });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const step = async (cmd: string, marker: RegExp) => {
        const from = out.length;
        child.stdin.write(cmd + '\n');
        for (let i = 0; i < 200 && !marker.test(out.slice(from)); i++) await new Promise((r) => setTimeout(r, 50));
        return out.slice(from);
      };
      expect(await step('lock cad.txt', /succeeded|failed/)).to.include('succeeded');
      const other = new Dav(srv.url, dav.authorization); // a second client: same account, no token
      expect(await status(other.request('PUT', '/dav/cad.txt', { body: 'second client' }))).to.equal(423);
      expect(await step('unlock cad.txt', /succeeded|failed/)).to.include('succeeded');
      expect(await status(other.request('PUT', '/dav/cad.txt', { body: 'second client' }))).to.equal(204);
      child.stdin.end('quit\n');
      await new Promise((r) => child.once('close', r));
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
