/** WebDAV class 1, continued: properties, the tree methods and hostile input (protocol.test.ts has the rest). */
import { expect } from 'chai';
import { dialectOf, randomEtag } from '../../server/db/dialect.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { raw, sha } from './raw-request.js';
import { Dav, davUser, hrefs, type DavUser } from './support.js';

describe('WebDAV /dav/ (class 1): properties, tree methods, hostile input', function () {
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
      const random = randomEtag(dialectOf(srv.app.db)); // 32 random hex digits, in the engine's SQL
      await srv.app.db.tx((tx) =>
        tx.run(
          `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 10000)
         INSERT INTO nodes (id, owner_id, parent_id, kind, name, name_key, size, mime, content_hash, etag, created_at, modified_at)
         SELECT ${random}, $owner, $parent, 'folder', 'entry-' || i, 'entry-' || i, 0, NULL, NULL, ${random}, $now, $now FROM seq`,
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
