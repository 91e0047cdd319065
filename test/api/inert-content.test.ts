/**
 * User content is served inert through every door (issue 9, item 1): WebDAV GET/HEAD, the API's
 * preview and download, public links and ZIPs all send nosniff and a sandboxing CSP, and active
 * types (HTML, SVG, XML, scripts) go out as attachments.
 */
import { expect } from 'chai';
import { Dav, davUser, type DavUser } from '../dav/support.js';
import { api, type Api, type NodeJson } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HTML = '<!doctype html><script>fetch("/api/auth/me")</script><p>hi</p>';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';

function csp(res: Response): string {
  return res.headers.get('content-security-policy') ?? '';
}

/** The inert-content headers: `disposition` is what Content-Disposition must start with. */
function expectInert(
  res: Response,
  what: string,
  disposition: 'attachment' | 'inline',
  strict = disposition === 'attachment',
) {
  expect(res.headers.get('x-content-type-options'), `${what}: nosniff`).to.equal('nosniff');
  expect(csp(res), `${what}: CSP`).to.match(/(^|;)\s*sandbox\s*(;|$)/);
  if (strict) expect(csp(res), `${what}: CSP`).to.match(/default-src 'none'/);
  expect(res.headers.get('content-disposition') ?? '', `${what}: Content-Disposition`).to.match(
    new RegExp(`^${disposition};`),
  );
}

describe('user content is served inert on every door', () => {
  let srv: TestServer;
  let user: DavUser;
  let dav: Dav;
  let a: Api;
  let folder: NodeJson;
  const ids: Record<string, string> = {};

  before(async () => {
    srv = await startTestServer();
    user = await davUser(srv);
    dav = Dav.for(srv, user);
    a = api(srv.url).as(user);
    expect(await dav.mkcol('/dav/site')).to.equal(201);
    for (const [name, body] of [
      ['x.html', HTML],
      ['x.xhtml', HTML],
      ['x.svg', SVG],
      ['x.xml', '<?xml version="1.0"?><a/>'],
      ['feed.rss', '<rss/>'],
      ['app.js', 'alert(1)'],
      ['photo.png', 'not really a png'],
      ['notes.txt', 'plain'],
    ]) {
      expect((await dav.put(`/dav/site/${name}`, body!)).status, name).to.equal(201);
    }
    folder = (await a.children(user.rootId)).find((n) => n.name === 'site')!;
    for (const n of await a.children(folder.id)) ids[n.name] = n.id;
  });
  after(() => srv.close());

  it('WebDAV GET and HEAD: active types are attachments, everything is sandboxed and never sniffed', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const name of ['x.html', 'x.xhtml', 'x.svg', 'x.xml', 'feed.rss', 'app.js']) {
        const res = await dav.request(method, `/dav/site/${name}`);
        await res.arrayBuffer();
        expect(res.status, `${method} ${name}`).to.equal(200);
        expectInert(res, `${method} /dav/site/${name}`, 'attachment');
      }
      const png = await dav.request(method, '/dav/site/photo.png');
      await png.arrayBuffer();
      expectInert(png, `${method} photo.png`, 'inline');
      expect(png.headers.get('content-type')).to.equal('image/png');
    }
    // A Range request carries the same headers.
    const part = await dav.request('GET', '/dav/site/x.html', { headers: { range: 'bytes=0-9' } });
    expect(part.status).to.equal(206);
    expectInert(part, 'ranged GET', 'attachment');
    await part.arrayBuffer();
  });

  it('WebDAV folder listing (our own HTML of user-chosen names) is sandboxed too', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await dav.request(method, '/dav/site/');
      await res.arrayBuffer();
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(csp(res))
        .to.match(/default-src 'none'/)
        .and.to.match(/sandbox/);
    }
  });

  it('API preview (inline) and download, GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const name of ['x.html', 'x.svg', 'feed.rss', 'app.js']) {
        const inline = await a.request(method, `/api/files/${ids[name]}/content`);
        await inline.arrayBuffer();
        expect(inline.status).to.equal(200);
        expectInert(inline, `${method} preview of ${name}`, 'attachment');
      }
      const png = await a.request(method, `/api/files/${ids['photo.png']}/content`);
      await png.arrayBuffer();
      expectInert(png, `${method} preview of photo.png`, 'inline');
      const download = await a.request(method, `/api/files/${ids['photo.png']}/content?download=1`);
      await download.arrayBuffer();
      expectInert(download, `${method} download of photo.png`, 'attachment');
    }
  });

  it('public link content, GET and HEAD', async () => {
    const link = await a.json(a.post(`/api/nodes/${folder.id}/links`, { permission: 'view' }));
    const visitor = api(srv.url);
    for (const method of ['GET', 'HEAD']) {
      const html = await visitor.request(method, `/api/public/${link.token}/content?id=${ids['x.html']}`);
      await html.arrayBuffer();
      expect(html.status).to.equal(200);
      expectInert(html, `${method} link x.html`, 'attachment');
      const txt = await visitor.request(method, `/api/public/${link.token}/content?id=${ids['notes.txt']}`);
      await txt.arrayBuffer();
      expectInert(txt, `${method} link notes.txt`, 'inline');
      const dl = await visitor.request(method, `/api/public/${link.token}/content?id=${ids['notes.txt']}&download=1`);
      await dl.arrayBuffer();
      expectInert(dl, `${method} link download`, 'attachment');
      const zip = await visitor.request(method, `/api/public/${link.token}/zip`);
      await zip.arrayBuffer();
      expect(zip.status).to.equal(200);
      expectInert(zip, `${method} link zip`, 'attachment');
    }
  });

  it('ZIP downloads, GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const path of [`/api/nodes/${folder.id}/zip`, `/api/zip?ids=${ids['x.html']},${ids['x.svg']}`]) {
        const res = await a.request(method, path);
        await res.arrayBuffer();
        expect(res.status, `${method} ${path}`).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/zip');
        expectInert(res, `${method} ${path}`, 'attachment');
      }
    }
  });
});
