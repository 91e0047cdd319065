import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { raw, sha } from './raw-request.js';
import { basic, Dav, davUser, type DavUser } from './support.js';

describe('WebDAV /dav/ (class 1)', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let u: DavUser;
  let dav: Dav;
  before(async () => {
    srv = await startTestServer({ env: { DAV_PROPFIND_MAX_ENTRIES: '50' } });
    u = await davUser(srv);
    dav = Dav.for(srv, u);
  });
  after(() => srv.close());

  describe('OPTIONS and auth', () => {
    it('answers OPTIONS on any path (also the site root) without credentials, and CORS preflights', async () => {
      for (const path of ['/', '/dav/', '/dav/anything/deeper']) {
        const res = await fetch(srv.url + path, { method: 'OPTIONS' });
        expect(res.status, path).to.equal(200);
        expect(res.headers.get('dav')).to.equal('1, 2');
        expect(res.headers.get('ms-author-via')).to.equal('DAV');
        expect(res.headers.get('allow')).to.include('PROPFIND').and.include('MOVE');
      }
      const pre = await fetch(srv.url + '/dav/x', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'PROPFIND',
          'access-control-request-headers': 'authorization, depth',
        },
      });
      expect(pre.status).to.equal(200);
      expect(pre.headers.get('access-control-allow-origin')).to.equal('*');
      expect(pre.headers.get('access-control-allow-methods')).to.include('PROPFIND');
      expect(pre.headers.get('access-control-allow-headers')).to.include('authorization').and.include('depth');
    });

    it('lets a browser app read answers (CORS) only when it sends an Origin, failures included', async () => {
      await dav.put('/dav/cors.txt', 'x');
      const auth = { authorization: basic(u.username, u.password) };
      for (const [method, path, headers, status] of [
        ['GET', '/dav/cors.txt', auth, 200],
        ['PROPFIND', '/dav/', { ...auth, depth: '0' }, 207],
        ['GET', '/dav/missing.txt', auth, 404],
        ['PROPFIND', '/dav/', { depth: '0' }, 401],
      ] as const) {
        const withOrigin = await fetch(srv.url + path, {
          method,
          headers: { ...headers, origin: 'https://app.example' },
        });
        expect(withOrigin.status, `${method} ${path}`).to.equal(status);
        expect(withOrigin.headers.get('access-control-allow-origin'), `${method} ${path}`).to.equal('*');
        expect(withOrigin.headers.get('access-control-expose-headers')).to.include('ETag').and.include('DAV');
        expect(withOrigin.headers.get('access-control-allow-credentials')).to.equal(null);
        const without = await fetch(srv.url + path, { method, headers });
        expect(without.status).to.equal(status);
        expect(without.headers.get('access-control-allow-origin'), `${method} ${path}`).to.equal(null);
        expect(without.headers.get('access-control-expose-headers')).to.equal(null);
      }
    });

    it('asks for Basic credentials, accepts username or email, Bearer JWTs, and passwords with ":" and Unicode', async () => {
      const anon = await new Dav(srv.url).propfind('/dav/', '0');
      expect(anon.status).to.equal(401);
      expect(anon.headers.get('www-authenticate')).to.match(/^Basic realm="Coffer"/);
      const odd = await davUser(srv, { password: 'p:w>?~ ünï€😀 :x' });
      expect((await Dav.for(srv, odd).propfind('/dav/', '0')).status).to.equal(207);
      expect((await new Dav(srv.url, basic(odd.email, odd.password)).propfind('/dav/', '0')).status).to.equal(207);
      expect((await new Dav(srv.url, `Bearer ${odd.token}`).propfind('/dav/', '0')).status).to.equal(207);
      expect((await new Dav(srv.url, basic(odd.username, 'p:w')).propfind('/dav/', '0')).status).to.equal(401);
      expect((await new Dav(srv.url, 'Basic !!!notbase64').propfind('/dav/', '0')).status).to.equal(401);
    });

    it('drops a cached credential at once when the password changes or the user is disabled', async () => {
      const v = await davUser(srv);
      const d = Dav.for(srv, v);
      expect((await d.propfind('/dav/', '0')).status).to.equal(207);
      expect((await d.propfind('/dav/', '0')).status).to.equal(207); // cached now
      const res = await api(srv.url)
        .as(v.token)
        .post('/api/auth/password', { currentPassword: v.password, newPassword: 'a-new-password-1' });
      expect(res.status).to.equal(200);
      expect((await d.propfind('/dav/', '0')).status).to.equal(401);
      const w = await davUser(srv);
      const e = Dav.for(srv, w);
      expect((await e.propfind('/dav/', '0')).status).to.equal(207);
      const dis = await api(srv.url)
        .as(await srv.adminToken())
        .patch(`/api/admin/users/${w.id}`, { disabled: true });
      expect(dis.status).to.equal(200);
      expect((await e.propfind('/dav/', '0')).status).to.equal(401);
    });

    it('throttles failed Basic attempts like the login (429 with Retry-After)', async () => {
      const v = await davUser(srv);
      const wrong = new Dav(srv.url, basic(v.username, 'not-the-password'));
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await wrong.propfind('/dav/', '0');
        statuses.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).to.be.above(0);
      }
      expect(statuses.slice(0, 10).every((s) => s === 401)).to.equal(true);
      expect(statuses.at(-1)).to.equal(429);
    });
  });

  it('sends multistatus, lock and error bodies as text/xml; charset="utf-8", as Apache does', async () => {
    const xml = 'text/xml; charset="utf-8"';
    await dav.put('/dav/ct.txt', 'x');
    const multistatus = await dav.propfind('/dav/', '1');
    expect(multistatus.status).to.equal(207);
    expect(multistatus.headers.get('content-type')).to.equal(xml);
    const patched = await dav.request('PROPPATCH', '/dav/ct.txt', {
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>',
    });
    expect(patched.status).to.equal(207);
    expect(patched.headers.get('content-type')).to.equal(xml);
    const lock = await dav.request('LOCK', '/dav/ct.txt', {
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
      headers: { timeout: 'Second-60' },
    });
    expect(lock.status).to.equal(200);
    expect(lock.headers.get('content-type')).to.equal(xml);
    const locked = await dav.put('/dav/ct.txt', 'y');
    expect(locked.status).to.equal(423);
    expect(locked.headers.get('content-type')).to.equal(xml);
    const token = lock.headers.get('lock-token')!;
    expect((await dav.request('UNLOCK', '/dav/ct.txt', { headers: { 'lock-token': token } })).status).to.equal(204);
  });

  describe('PUT, GET, HEAD', () => {
    it('round-trips a file with a strong ETag equal to the API one, 201 then 204, and conditional GETs', async () => {
      const body = randomBytes(3000);
      const put = await dav.put('/dav/round.bin', body);
      expect(put.status).to.equal(201);
      const etag = put.headers.get('etag')!;
      expect(etag).to.match(/^"[0-9a-f]+"$/);
      const again = await dav.put('/dav/round.bin', Buffer.concat([body, body]));
      expect(again.status).to.equal(204);
      const etag2 = again.headers.get('etag')!;
      expect(etag2).to.not.equal(etag);
      const get = await dav.request('GET', '/dav/round.bin');
      expect(get.status).to.equal(200);
      expect(get.headers.get('etag')).to.equal(etag2);
      expect(get.headers.get('last-modified')).to.be.a('string');
      expect(Buffer.from(await get.arrayBuffer()).equals(Buffer.concat([body, body]))).to.equal(true);
      const kids = await api(srv.url).as(u.token).children(u.rootId);
      expect(`"${kids.find((k) => k.name === 'round.bin')!.etag}"`).to.equal(etag2);
      const head = await dav.request('HEAD', '/dav/round.bin');
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-length')).to.equal('6000');
      expect((await dav.request('GET', '/dav/round.bin', { headers: { 'if-none-match': etag2 } })).status).to.equal(
        304,
      );
      const lm = get.headers.get('last-modified')!;
      expect((await dav.request('GET', '/dav/round.bin', { headers: { 'if-modified-since': lm } })).status).to.equal(
        304,
      );
    });

    it('serves a Range at the end of a large file by seeking, with the real total, and 416 past the end', async () => {
      const big = randomBytes(24 * 1024 * 1024);
      expect((await dav.put('/dav/big.bin', big)).status).to.equal(201);
      const started = performance.now();
      const res = await dav.request('GET', '/dav/big.bin', { headers: { range: 'bytes=-100' } });
      const tail = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - started;
      expect(res.status).to.equal(206);
      expect(res.headers.get('content-range')).to.equal(`bytes ${big.length - 100}-${big.length - 1}/${big.length}`);
      expect(tail.equals(big.subarray(big.length - 100))).to.equal(true);
      expect(ms).to.be.below(1000);
      const mid = await dav.request('GET', '/dav/big.bin', { headers: { range: 'bytes=1000-1999' } });
      expect(Buffer.from(await mid.arrayBuffer()).equals(big.subarray(1000, 2000))).to.equal(true);
      const bad = await dav.request('GET', '/dav/big.bin', { headers: { range: `bytes=${big.length}-` } });
      expect(bad.status).to.equal(416);
      expect(bad.headers.get('content-range')).to.equal(`bytes */${big.length}`);
    });

    it('honours If-Match and If-None-Match: * on PUT; unknown If-None-Match tags do not match', async () => {
      const first = await dav.put('/dav/cond.txt', 'one', { 'if-none-match': '*' });
      expect(first.status).to.equal(201);
      expect((await dav.put('/dav/cond.txt', 'two', { 'if-none-match': '*' })).status).to.equal(412);
      expect((await dav.put('/dav/cond.txt', 'two', { 'if-match': '"nope"' })).status).to.equal(412);
      expect((await dav.put('/dav/cond.txt', 'two', { 'if-match': first.headers.get('etag')! })).status).to.equal(204);
      expect((await dav.put('/dav/cond.txt', 'three', { 'if-none-match': '"JoplinIgnore-123"' })).status).to.equal(204);
      expect((await dav.put('/dav/missing-cond.txt', 'x', { 'if-match': '*' })).status).to.equal(412);
      expect(await (await dav.request('GET', '/dav/cond.txt')).text()).to.equal('three');
    });

    it('takes X-OC-Mtime on PUT (answers "accepted") and Win32LastModifiedTime / lastmodified by PROPPATCH', async () => {
      const res = await dav.put('/dav/mtime.txt', 'm', { 'x-oc-mtime': '1262304000' });
      expect(res.headers.get('x-oc-mtime')).to.equal('accepted');
      const pf = await (await dav.propfind('/dav/mtime.txt', '0')).text();
      expect(pf).to.include('<D:getlastmodified>Fri, 01 Jan 2010 00:00:00 GMT</D:getlastmodified>');
      const win = `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
        <Z:Win32CreationTime>Tue, 01 Jun 2021 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastModifiedTime>Wed, 02 Jun 2021 11:22:33 GMT</Z:Win32LastModifiedTime>
        <Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>`;
      const pp = await dav.request('PROPPATCH', '/dav/mtime.txt', {
        body: win,
        headers: { 'content-type': 'text/xml' },
      });
      expect(pp.status).to.equal(207);
      expect(await pp.text()).to.not.include('403');
      expect(await (await dav.propfind('/dav/mtime.txt', '0')).text()).to.include('Wed, 02 Jun 2021 11:22:33 GMT');
      const rc = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><lastmodified xmlns="DAV:">1300000000</lastmodified></D:prop></D:set></D:propertyupdate>`;
      const pp2 = await dav.request('PROPPATCH', '/dav/mtime.txt', { body: rc });
      expect(await pp2.text()).to.include('200 OK');
      expect(await (await dav.propfind('/dav/mtime.txt', '0')).text()).to.include(
        new Date(1300000000 * 1000).toUTCString(),
      );
    });

    it('refuses a PUT over quota with 507 and leaves no node and no new blob reference (known and unknown length)', async () => {
      const small = await davUser(srv, { quotaBytes: 1000 });
      const d = Dav.for(srv, small);
      const body = randomBytes(5000);
      expect((await d.put('/dav/too-big.bin', body)).status).to.equal(507);
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(body);
          c.close();
        },
      });
      const chunked = await d.request('PUT', '/dav/too-big2.bin', { body: stream });
      await chunked.arrayBuffer();
      expect(chunked.status).to.equal(507);
      expect((await d.propfind('/dav/too-big.bin', '0')).status).to.equal(404);
      expect((await d.propfind('/dav/too-big2.bin', '0')).status).to.equal(404);
      expect(await srv.app.db.get('SELECT hash FROM blobs WHERE hash = $h', { h: sha('sha256', body) })).to.equal(
        undefined,
      );
      const macos = await raw(
        srv,
        {
          method: 'PUT',
          path: '/dav/finder.bin',
          headers: {
            authorization: d.authorization!,
            'transfer-encoding': 'chunked',
            'x-expected-entity-length': '5000',
          },
        },
        body,
      );
      expect(macos !== 'aborted' && macos.status).to.equal(507);
    });

    it('leaves the old content intact when a PUT over an existing file is aborted', async () => {
      expect((await dav.put('/dav/keep.txt', 'original content')).status).to.equal(201);
      const body = randomBytes(2 * 1024 * 1024);
      const r = await raw(
        srv,
        {
          method: 'PUT',
          path: '/dav/keep.txt',
          headers: { authorization: dav.authorization!, 'content-length': String(body.length) },
        },
        body,
        512 * 1024,
      );
      expect(r).to.equal('aborted');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await (await dav.request('GET', '/dav/keep.txt')).text()).to.equal('original content');
      expect((await dav.propfind('/dav/', '0')).status).to.equal(207); // still up
    });
  });
});
