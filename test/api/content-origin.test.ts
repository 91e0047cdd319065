/**
 * CONTENT_ORIGIN (issue 9, item 1): inline content on the main origin is redirected to a second
 * host name that serves only file bytes, under short-lived grants that are checked again on use.
 * The test's server is both hosts: http://127.0.0.1:<port> is the main origin and
 * http://localhost:<port> the content origin (same process, told apart by the Host header).
 */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { basic, davUser, type DavUser } from '../dav/support.js';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { freePort, rawRequest as raw } from '../support/net.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('CONTENT_ORIGIN: previews from a second host name', () => {
  let srv: TestServer;
  let port: number;
  let main: string;
  let content: string;
  const clock = new ManualClock();
  let alice: DavUser;
  let bob: TestUser;
  let a: Api;
  let folder: NodeJson;
  let page: NodeJson;
  let photo: NodeJson;

  before(async () => {
    port = await freePort();
    srv = await startTestServer({ clock, env: { PORT: String(port), CONTENT_ORIGIN: `http://localhost:${port}` } });
    main = `127.0.0.1:${port}`;
    content = `localhost:${port}`;
    alice = await davUser(srv);
    bob = await createUser(srv, { prefix: 'bob' });
    a = api(srv.url).as(alice);
    folder = await a.mkdir(alice.rootId, 'Shared stuff');
    page = await a.upload(folder.id, 'x.html', '<script>fetch("/api/auth/me")</script>');
    photo = await a.upload(folder.id, 'photo 1.png', 'pretend png bytes');
  });
  after(() => srv.close());

  const auth = (u: { token: string }) => ({ authorization: `Bearer ${u.token}` });

  /** The main origin's answer to an inline request: a 302 to the content host; returns the path there. */
  async function redirected(path: string, headers: Record<string, string>): Promise<string> {
    const res = await raw(port, main, path, { headers });
    expect(res.status, res.body.toString()).to.equal(302);
    expect(res.headers['cache-control']).to.equal('no-store');
    const location = new URL(res.headers.location!);
    expect(location.origin).to.equal(`http://${content}`);
    expect(location.pathname).to.match(/^\/content\/[\w-]+\.[\w-]+\.[\w-]+\/[^/]+$/);
    return location.pathname;
  }

  it('redirects an inline request to the content host, which serves the bytes inline, sandboxed, with ETag, Range and 304', async () => {
    const where = await redirected(`/api/files/${photo.id}/content`, auth(alice));
    expect(decodeURIComponent(where.split('/').pop()!)).to.equal('photo 1.png');
    const res = await raw(port, content, where);
    expect(res.status).to.equal(200);
    expect(res.body.toString()).to.equal('pretend png bytes');
    expect(res.headers['content-type']).to.equal('image/png');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['content-security-policy']).to.match(/sandbox/);
    expect(res.headers['content-disposition']).to.match(/^inline;/);
    expect(res.headers['set-cookie']).to.equal(undefined);
    expect(res.headers.etag).to.equal(`"${photo.etag}"`);
    const head = await raw(port, content, where, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers['content-length']).to.equal(String('pretend png bytes'.length));
    const part = await raw(port, content, where, { headers: { range: 'bytes=0-6' } });
    expect(part.status).to.equal(206);
    expect(part.body.toString()).to.equal('pretend');
    expect((await raw(port, content, where, { headers: { 'if-none-match': `"${photo.etag}"` } })).status).to.equal(304);
    // Within a few minutes the same request gets the same URL, so the browser's cache keeps working.
    expect(await redirected(`/api/files/${photo.id}/content`, auth(alice))).to.equal(where);
  });

  it('renders even HTML inline there, but sandboxed (no script, no same-origin)', async () => {
    const res = await raw(port, content, await redirected(`/api/files/${page.id}/content`, auth(alice)));
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/html/);
    expect(res.headers['content-security-policy'])
      .to.match(/(^|;)\s*sandbox\s*(;|$)/)
      .and.not.match(/allow-/);
    expect(res.headers['referrer-policy']).to.equal('no-referrer');
  });

  it('serves downloads on the main origin directly, as attachments', async () => {
    const res = await raw(port, main, `/api/files/${photo.id}/content?download=1`, { headers: auth(alice) });
    expect(res.status).to.equal(200);
    expect(res.headers['content-disposition']).to.match(/^attachment;/);
  });

  it('answers nothing but /content/… on the content host, and /content/… is 404 on the main host', async () => {
    const where = await redirected(`/api/files/${photo.id}/content`, auth(alice));
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/api/health'],
      ['GET', '/api/auth/me'],
      ['GET', '/files'],
      ['PROPFIND', '/dav/'],
      ['GET', '/dav/'],
      ['OPTIONS', '/'],
      ['GET', '/content/'],
    ] as const) {
      const res = await raw(port, content, path, {
        method,
        headers: { ...auth(alice), authorization: basic(alice.username, alice.password) },
      });
      expect(res.status, `${method} ${path} on the content host`).to.equal(404);
      expect(JSON.parse(res.body.toString()).error.code).to.equal('not_found');
    }
    const onMain = await raw(port, main, where);
    expect(onMain.status).to.equal(404);
    expect(JSON.parse(onMain.body.toString()).error.code).to.equal('not_found');
    // The main host still serves the API, WebDAV and the console as before.
    expect((await raw(port, main, '/api/health')).status).to.equal(200);
    expect(
      (
        await raw(port, main, '/dav/', {
          method: 'PROPFIND',
          headers: { authorization: basic(alice.username, alice.password), depth: '0' },
        })
      ).status,
    ).to.equal(207);
  });

  it('refuses a tampered or expired grant, and one for a file that has changed since', async () => {
    const where = await redirected(`/api/files/${photo.id}/content`, auth(alice));
    const [, , token, name] = where.split('/');
    const [h, p, s] = token!.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, nid: page.id })).toString('base64url');
    const flipped = s!.slice(0, -2) + (s!.endsWith('AA') ? 'BB' : 'AA');
    for (const bad of [`${h}.${forged}.${s}`, `${h}.${p}.${flipped}`]) {
      expect((await raw(port, content, `/content/${bad}/${name}`)).status).to.equal(404);
    }
    clock.advance(11 * 60_000);
    const expired = await raw(port, content, where);
    expect(expired.status).to.equal(404);
    expect(JSON.parse(expired.body.toString()).error.code).to.equal('not_found');

    const fresh = await redirected(`/api/files/${photo.id}/content`, auth(alice));
    expect((await raw(port, content, fresh)).status).to.equal(200);
    await a.upload(folder.id, 'photo 1.png', 'new bytes', '?overwrite=true');
    expect((await raw(port, content, fresh)).status, 'the file changed: the grant named the old version').to.equal(404);
  });

  it('stops working when the share or the link behind it is revoked', async () => {
    const share = await a.json(a.post(`/api/nodes/${folder.id}/shares`, { user: bob.username, permission: 'view' }));
    const bobs = await redirected(`/api/files/${page.id}/content`, auth(bob));
    expect((await raw(port, content, bobs)).status).to.equal(200);
    expect((await a.delete(`/api/shares/${share.id}`)).status).to.equal(204);
    expect((await raw(port, content, bobs)).status).to.equal(404);

    const link = await a.json(a.post(`/api/nodes/${folder.id}/links`, { permission: 'view' }));
    const visitors = await redirected(`/api/public/${link.token}/content?id=${page.id}`, {});
    expect((await raw(port, content, visitors)).status).to.equal(200);
    expect((await raw(port, main, `/api/public/${link.token}/content?id=${page.id}&download=1`)).status).to.equal(200);
    expect((await a.delete(`/api/links/${link.id}`)).status).to.equal(204);
    expect((await raw(port, content, visitors)).status).to.equal(404);
  });

  it('lets the console (another origin) fetch a preview through the redirect (CORS, no credentials)', async () => {
    const where = await redirected(`/api/files/${photo.id}/content`, auth(alice));
    const pre = await raw(port, content, where, {
      method: 'OPTIONS',
      headers: {
        origin: `http://${main}`,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    expect(pre.status).to.equal(204);
    expect(pre.headers['access-control-allow-origin']).to.equal('*');
    expect(pre.headers['access-control-allow-headers']).to.match(/range/i);
    const res = await raw(port, content, where, { headers: { origin: `http://${main}` } });
    expect(res.headers['access-control-allow-origin']).to.equal('*');
  });
});
