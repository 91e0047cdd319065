import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav, davUser, hrefs, type DavUser } from './support.js';

const sha = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

/** A raw request (fetch cannot lie about Content-Length or abort half-way). */
function raw(
  srv: TestServer,
  opts: http.RequestOptions,
  body?: Buffer,
  abortAfter?: number,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | 'aborted'> {
  const u = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, agent: false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', (err) => (abortAfter !== undefined ? resolve('aborted') : reject(err)));
    if (abortAfter !== undefined && body) {
      req.write(body.subarray(0, abortAfter), () =>
        setTimeout(() => {
          req.destroy();
          resolve('aborted');
        }, 100),
      );
      return;
    }
    req.end(body);
  });
}

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

  describe('PROPFIND and PROPPATCH', () => {
    it('lists Depth 0/1 with live properties, oc:checksums, quota, and encodes hrefs; NFD finds NFC', async () => {
      expect(await dav.mkcol('/dav/names')).to.equal(201);
      const names = [
        'a #b.txt',
        '100% sure.txt',
        'x&y.txt',
        "it's.txt",
        'q?.txt',
        'ünïcødé 漢字.txt',
        'e\u0301t\u00e9.txt',
      ];
      for (const n of names) expect((await dav.put(`/dav/names/${encodeURIComponent(n)}`, n)).status, n).to.equal(201);
      const xml = await (await dav.propfind('/dav/names/', '1')).text();
      const got = hrefs(xml)
        .slice(1)
        .map((h) => decodeURIComponent(h.slice('/dav/names/'.length)));
      expect(got.sort()).to.deep.equal(names.map((n) => n.normalize('NFC')).sort());
      for (const h of hrefs(xml)) expect(h).to.not.match(/[#&'? ]/);
      // The client may send the decomposed form: same file.
      const nfd = await dav.request('GET', `/dav/names/${encodeURIComponent('ünïcødé 漢字.txt'.normalize('NFD'))}`);
      expect(await nfd.text()).to.equal('ünïcødé 漢字.txt');
      const content = "it's.txt";
      const sums = await (
        await dav.propfind(
          `/dav/names/${encodeURIComponent("it's.txt")}`,
          '0',
          '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:checksums/><d:getetag/><oc:fileid/><d:nope/></d:prop></d:propfind>',
        )
      ).text();
      expect(sums).to.include(`SHA1:${sha('sha1', content)} MD5:${sha('md5', content)}`);
      expect(sums).to.include('404 Not Found');
      const quota = await (
        await dav.propfind(
          '/dav/',
          '0',
          '<d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/><d:quota-used-bytes/></d:prop></d:propfind>',
        )
      ).text();
      expect(quota)
        .to.match(/<D:quota-available-bytes>\d+<\/D:quota-available-bytes>/)
        .and.match(/<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
    });

    it('serves Depth infinity (and a missing Depth) up to the limit, else 403 propfind-finite-depth', async () => {
      expect(await dav.mkcol('/dav/deep')).to.equal(201);
      expect(await dav.mkcol('/dav/deep/a')).to.equal(201);
      expect((await dav.put('/dav/deep/a/f.txt', 'f')).status).to.equal(201);
      const inf = await dav.propfind('/dav/deep/', 'infinity');
      expect(inf.status).to.equal(207);
      expect(hrefs(await inf.text())).to.deep.equal(['/dav/deep/', '/dav/deep/a/', '/dav/deep/a/f.txt']);
      expect(hrefs(await (await dav.propfind('/dav/deep/', null)).text())).to.have.length(3);
      for (let i = 0; i < 50; i++) expect(await dav.mkcol(`/dav/deep/a/s${i}`)).to.equal(201);
      const over = await dav.propfind('/dav/deep/', null);
      expect(over.status).to.equal(403);
      expect(await over.text()).to.include('propfind-finite-depth');
      expect((await dav.propfind('/dav/deep/a/', '1')).status).to.equal(207);
    });

    it('answers 400 to malformed XML, DTDs and bad Depth, and 413 to large non-PUT bodies', async () => {
      expect((await dav.propfind('/dav/', '0', '<d:propfind xmlns:d="DAV:"><d:prop>')).status).to.equal(400);
      expect(
        (
          await dav.propfind(
            '/dav/',
            '0',
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>',
          )
        ).status,
      ).to.equal(400);
      expect((await dav.propfind('/dav/', '2')).status).to.equal(400);
      expect((await dav.request('PROPPATCH', '/dav/', { body: '<x/>' })).status).to.equal(400);
      const big = await raw(srv, {
        method: 'PROPFIND',
        path: '/dav/',
        headers: { authorization: dav.authorization!, 'content-length': '5000000000', depth: '0' },
      });
      expect(big !== 'aborted' && big.status).to.equal(413);
      const mib = await dav.request('PROPFIND', '/dav/', {
        body: 'x'.repeat(2 * 1024 * 1024),
        headers: { depth: '0' },
      });
      expect(mib.status).to.equal(413);
    });

    it('applies several set and remove blocks in one PROPPATCH, in order, keeping namespaces', async () => {
      expect((await dav.put('/dav/props.txt', 'p')).status).to.equal(201);
      const body = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:A="http://example.com/a" xmlns:B="http://example.com/b">
        <D:set><D:prop><A:one>1</A:one></D:prop></D:set>
        <D:set><D:prop><B:one>b &amp; &lt;1&gt;</B:one></D:prop></D:set>
        <D:set><D:prop><A:two><A:inner attr="v">x</A:inner></A:two></D:prop></D:set>
        <D:remove><D:prop><A:one/></D:prop></D:remove>
        <D:set><D:prop><A:three>3</A:three></D:prop></D:set></D:propertyupdate>`;
      const res = await dav.request('PROPPATCH', '/dav/props.txt', { body });
      expect(res.status).to.equal(207);
      const out = await res.text();
      expect(out).to.include('200 OK').and.not.include('403').and.not.include('424');
      const pf = await (
        await dav.propfind(
          '/dav/props.txt',
          '0',
          `<D:propfind xmlns:D="DAV:" xmlns:A="http://example.com/a" xmlns:B="http://example.com/b"><D:prop><A:one/><B:one/><A:two/><A:three/></D:prop></D:propfind>`,
        )
      ).text();
      expect(pf).to.include('<one xmlns="http://example.com/b">b &amp; &lt;1&gt;</one>');
      expect(pf).to.include('<three xmlns="http://example.com/a">3</three>');
      expect(pf).to.include('<inner xmlns="http://example.com/a" attr="v">x</inner>');
      expect(pf).to.match(
        /<D:propstat><D:prop><one xmlns="http:\/\/example.com\/a"\/><\/D:prop><D:status>HTTP\/1.1 404/,
      );
      // A protected property fails the whole request (403 + 424), nothing applied.
      const bad = await dav.request('PROPPATCH', '/dav/props.txt', {
        body: `<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://example.com/a"><D:set><D:prop><A:four>4</A:four><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>`,
      });
      const badXml = await bad.text();
      expect(badXml).to.include('403 Forbidden').and.include('424 Failed Dependency');
      expect(
        await (
          await dav.propfind(
            '/dav/props.txt',
            '0',
            `<D:propfind xmlns:D="DAV:"><D:prop><four xmlns="http://example.com/a"/></D:prop></D:propfind>`,
          )
        ).text(),
      ).to.include('404 Not Found');
    });

    it('streams a 10,000-entry Depth 1 listing while a small GET on the same server still answers promptly', async () => {
      expect(await dav.mkcol('/dav/huge')).to.equal(201);
      expect((await dav.put('/dav/small.txt', 'small')).status).to.equal(201);
      const folder = (await api(srv.url).as(u.token).children(u.rootId)).find((n) => n.name === 'huge')!;
      const now = Date.now();
      // Fixture: 10,000 rows in one statement (uploading them one by one would take minutes).
      await srv.app.db.tx((tx) =>
        tx.run(
          `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 10000)
         INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, size, mime, content_hash, etag, created_at, modified_at)
         SELECT lower(hex(randomblob(16))), $owner, $parent, 'folder', 'entry-' || i, 'entry-' || i, 0, NULL, NULL, lower(hex(randomblob(16))), $now, $now FROM seq`,
          { owner: u.id, parent: folder.id, now },
        ),
      );
      const started = performance.now();
      const listing = dav.propfind('/dav/huge/', '1').then(async (r) => {
        expect(r.headers.get('content-length')).to.equal(null); // streamed, not buffered
        const text = await r.text();
        return { text, ms: performance.now() - started };
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const t0 = performance.now();
      const small = await dav.request('GET', '/dav/small.txt');
      expect(await small.text()).to.equal('small');
      const getMs = performance.now() - t0;
      const { text, ms } = await listing;
      expect(hrefs(text)).to.have.length(10_001);
      expect(getMs).to.be.below(Math.max(1000, ms));
      console.log(
        `      PROPFIND Depth 1 over 10,000 entries: ${Math.round(ms)} ms; concurrent small GET: ${Math.round(getMs)} ms`,
      );
    });
  });

  describe('MKCOL, DELETE, COPY, MOVE', () => {
    it('MKCOL: 201, 405 when mapped, 409 without parent, 415 with a body', async () => {
      expect(await dav.mkcol('/dav/mk')).to.equal(201);
      expect(await dav.mkcol('/dav/mk')).to.equal(405);
      expect(await dav.mkcol('/dav/nope/mk')).to.equal(409);
      const withBody = await dav.request('MKCOL', '/dav/mk2', { body: '<x/>' });
      expect(withBody.status).to.equal(415);
    });

    it('DELETE moves the item to the recycle bin that GET /api/trash shows; activity says via dav', async () => {
      expect((await dav.put('/dav/bin-me.txt', 'bye')).status).to.equal(201);
      const del = await dav.request('DELETE', '/dav/bin-me.txt');
      expect(del.status).to.equal(204);
      expect((await dav.request('GET', '/dav/bin-me.txt')).status).to.equal(404);
      const trash = (await (await api(srv.url).as(u.token).get('/api/trash')).json()) as { items: { name: string }[] };
      expect(trash.items.map((i) => i.name)).to.include('bin-me.txt');
      const act = (await (await api(srv.url).as(u.token).get('/api/activity?limit=200')).json()) as {
        items: { action: string; via: string; path: string }[];
      };
      const mine = act.items.filter((a) => a.path === '/bin-me.txt');
      expect(mine.map((a) => a.action)).to.include.members(['file.uploaded', 'node.trashed']);
      expect(mine.every((a) => a.via === 'dav')).to.equal(true);
    });

    it('COPY and MOVE: Overwrite defaults to T (target to the bin, 204), F gives 412, path-only and absolute Destination, 409 without parent', async () => {
      expect((await dav.put('/dav/src.txt', 'source')).status).to.equal(201);
      expect((await dav.put('/dav/dst.txt', 'target')).status).to.equal(201);
      const f = await dav.request('COPY', '/dav/src.txt', { headers: { destination: '/dav/dst.txt', overwrite: 'F' } });
      expect(f.status).to.equal(412);
      const t = await dav.request('COPY', '/dav/src.txt', { headers: { destination: `${srv.url}/dav/dst.txt` } });
      expect(t.status).to.equal(204);
      expect(await (await dav.request('GET', '/dav/dst.txt')).text()).to.equal('source');
      const trash = (await (await api(srv.url).as(u.token).get('/api/trash')).json()) as { items: { name: string }[] };
      expect(trash.items.map((i) => i.name)).to.include('dst.txt');
      const mv = await dav.request('MOVE', '/dav/src.txt', { headers: { destination: '/dav/moved%20here.txt' } });
      expect(mv.status).to.equal(201);
      expect((await dav.request('GET', '/dav/src.txt')).status).to.equal(404);
      expect(await (await dav.request('GET', '/dav/moved%20here.txt')).text()).to.equal('source');
      expect(
        (await dav.request('MOVE', '/dav/moved%20here.txt', { headers: { destination: '/dav/no/such/x.txt' } })).status,
      ).to.equal(409);
      // GNOME: create "Unnamed folder", then MOVE it to the typed name.
      expect(await dav.mkcol('/dav/Unnamed%20folder')).to.equal(201);
      expect(
        (await dav.request('MOVE', '/dav/Unnamed%20folder', { headers: { destination: '/dav/Typed' } })).status,
      ).to.equal(201);
      expect((await dav.propfind('/dav/Typed/', '0')).status).to.equal(207);
    });
  });

  describe('hostile input', () => {
    it('answers 400 to malformed %-escapes and keeps ..%2f inside the user root', async () => {
      for (const p of ['/dav/%', '/dav/%zz', '/dav/a%2', '/dav/%c3%28']) {
        const res = await dav.request('PROPFIND', p, { headers: { depth: '0' } });
        expect(res.status, p).to.equal(400);
      }
      for (const p of ['/dav/..%2f..%2fetc%2fpasswd', '/dav/..%2F', '/dav/%2e%2e/%2e%2e/', '/dav/../../etc/passwd']) {
        // Raw requests: fetch would normalize dot segments before sending.
        const res = await raw(srv, { method: 'GET', path: p, headers: { authorization: dav.authorization! } });
        expect(res !== 'aborted' && res.status, p).to.equal(404);
      }
      expect((await dav.put('/dav/..%2fescape.txt', 'x')).status).to.equal(400);
      expect(
        (await dav.request('MOVE', '/dav/small.txt', { headers: { destination: '/dav/..%2f..%2fx' } })).status,
      ).to.equal(400);
      expect((await dav.request('PROPFIND', '/dav/', { headers: { depth: '0' } })).status).to.equal(207);
    });

    it('never crashes on odd requests (unknown methods, bogus headers, empty names)', async () => {
      const odd: [string, string, Record<string, string>][] = [
        ['LOCK', '/dav/x', {}],
        ['BREW', '/dav/', {}],
        ['COPY', '/dav/small.txt', {}],
        ['MOVE', '/dav/small.txt', { destination: 'ftp://x/y' }],
        ['COPY', '/dav/small.txt', { destination: 'http://other/elsewhere' }],
        ['GET', '/dav/small.txt', { range: 'bytes=oops' }],
        ['PROPFIND', '/dav/', { depth: 'x' }],
        ['DELETE', '/dav/', {}],
        ['PUT', '/dav/', {}],
        ['MOVE', '/dav/small.txt', { destination: '/dav/small.txt' }],
        ['POST', '/dav/small.txt', {}],
        ['PROPPATCH', '/dav/missing', { 'content-type': 'text/xml' }],
      ];
      for (const [m, p, h] of odd) {
        const res = await dav.request(m, p, { headers: h });
        await res.arrayBuffer();
        expect(res.status, `${m} ${p}`).to.be.within(200, 599);
        expect(res.status, `${m} ${p}`).to.not.equal(500);
      }
      expect((await dav.request('GET', '/dav/small.txt')).status).to.equal(200);
    });
  });
});
