import { expect } from 'chai';
import yauzl from 'yauzl';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ManualClock } from '../../server/domain/clock.js';

function zipNames(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names.sort()));
      zip.readEntry();
    });
  });
}

describe('public links', () => {
  let srv: TestServer;
  const clock = new ManualClock();
  let alice: TestUser;
  let shared: NodeJson, inner: NodeJson, sibling: NodeJson, photo: NodeJson, secret: NodeJson;

  before(async () => {
    srv = await startTestServer({ clock });
    alice = await createUser(srv, { prefix: 'alice' });
    const a = api(srv.url).as(alice);
    shared = await a.mkdir(alice.rootId, 'Holiday');
    inner = await a.mkdir(shared.id, 'Day 1');
    photo = await a.upload(inner.id, 'beach.txt', 'sand and sea');
    sibling = await a.mkdir(alice.rootId, 'Private');
    secret = await a.upload(sibling.id, 'diary.txt', 'dear diary');
  });
  after(() => srv.close());

  const visitor = () => api(srv.url);

  async function link(body: Record<string, unknown>, nodeId = shared.id) {
    const res = await api(srv.url).as(alice).post(`/api/nodes/${nodeId}/links`, body);
    expect(res.status).to.equal(201);
    return (await res.json()) as { id: string; token: string; url: string; permission: string };
  }

  it('lets a visitor browse, download (with Range) and zip a view link, with a token of at least 128 bits', async () => {
    const l = await link({ permission: 'view' });
    expect(Buffer.from(l.token, 'base64url').length * 8).to.be.at.least(128);
    expect(l.url).to.match(new RegExp(`/s/${l.token}$`));
    expect(l.url).to.equal(`${srv.url}/s/${l.token}`); // was "null/s/…" outside a browser (Koa 3's ctx.origin)
    const info = await visitor().json(visitor().get(`/api/public/${l.token}`));
    expect(info.node.name).to.equal('Holiday');
    expect(info.link).to.include({ permission: 'view', hasPassword: false });
    const kids = await visitor().json(visitor().get(`/api/public/${l.token}/children`));
    expect(kids.items.map((n: NodeJson) => n.name)).to.deep.equal(['Day 1']);
    const sub = await visitor().json(visitor().get(`/api/public/${l.token}/children?id=${inner.id}`));
    expect(sub.items.map((n: NodeJson) => n.name)).to.deep.equal(['beach.txt']);
    const part = await visitor().get(`/api/public/${l.token}/content?id=${photo.id}`, { range: 'bytes=0-3' });
    expect(part.status).to.equal(206);
    expect(await part.text()).to.equal('sand');
    const zip = await visitor().get(`/api/public/${l.token}/zip`);
    expect(zip.status).to.equal(200);
    expect(await zipNames(Buffer.from(await zip.arrayBuffer()))).to.deep.equal([
      'Holiday/',
      'Holiday/Day 1/',
      'Holiday/Day 1/beach.txt',
    ]);
    const crumbs = await visitor().json(visitor().get(`/api/public/${l.token}/path?id=${photo.id}`));
    expect(crumbs.items.map((n: NodeJson) => n.name)).to.deep.equal(['Holiday', 'Day 1', 'beach.txt']);
  });

  it('never reaches outside the link subtree, by id or otherwise', async () => {
    const l = await link({ permission: 'view' }, inner.id);
    for (const path of [
      `/api/public/${l.token}?id=${shared.id}`,
      `/api/public/${l.token}?id=${sibling.id}`,
      `/api/public/${l.token}/children?id=${sibling.id}`,
      `/api/public/${l.token}/content?id=${secret.id}`,
      `/api/public/${l.token}/zip?id=${sibling.id}`,
      `/api/public/${l.token}/zip?ids=${photo.id},${secret.id}`,
      `/api/public/${l.token}/path?id=${secret.id}`,
    ]) {
      const res = await visitor().get(path);
      expect(res.status, path).to.equal(404);
    }
    const crumbs = await visitor().json(visitor().get(`/api/public/${l.token}/path?id=${photo.id}`));
    expect(crumbs.items.map((n: NodeJson) => n.name)).to.deep.equal(['Day 1', 'beach.txt']);
    expect((await visitor().put(`/api/public/${l.token}/files/x.txt?id=${sibling.id}`, 'x')).status).to.equal(404);
  });

  it("refuses uploads through a view link and accepts them through an edit link, into the owner's tree and log", async () => {
    const view = await link({ permission: 'view' });
    expect((await visitor().put(`/api/public/${view.token}/files/drop.txt`, 'x')).status).to.equal(403);
    const edit = await link({ permission: 'edit' });
    const up = await visitor().put(`/api/public/${edit.token}/files/drop.txt`, 'dropped');
    expect(up.status).to.equal(201);
    const node = (await up.json()) as NodeJson;
    expect(node.ownerId).to.equal(alice.id);
    expect(node.parentId).to.equal(shared.id);
    expect((await visitor().put(`/api/public/${edit.token}/files/drop.txt`, 'again')).status).to.equal(409);
    const log = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/activity?action=file.uploaded'));
    const row = log.items.find((r: { nodeId: string }) => r.nodeId === node.id);
    expect(row).to.include({ via: 'link', path: '/Holiday/drop.txt' });
    expect(row.actor.id).to.equal(null);
    // A visitor cannot rename or delete through the link API: there is no such route.
    expect((await visitor().delete(`/api/public/${edit.token}/files/drop.txt`)).status).to.be.oneOf([404, 405]);
  });

  it('protects a password link: 401 without or with a wrong password, header or unlock cookie opens it', async () => {
    const l = await link({ permission: 'view', password: 'open sesame' });
    const none = await visitor().get(`/api/public/${l.token}`);
    expect(none.status).to.equal(401);
    expect((await none.json()).error.details.passwordRequired).to.equal(true);
    expect((await visitor().get(`/api/public/${l.token}`, { 'x-link-password': 'nope' })).status).to.equal(401);
    expect((await visitor().get(`/api/public/${l.token}`, { 'x-link-password': 'open sesame' })).status).to.equal(200);
    const unlock = await visitor().post(`/api/public/${l.token}/unlock`, { password: 'open sesame' });
    expect(unlock.status).to.equal(200);
    const cookie = unlock.headers.get('set-cookie')!;
    expect(cookie).to.match(/HttpOnly/i);
    const withCookie = await fetch(`${srv.url}/api/public/${l.token}/content?id=${photo.id}`, {
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(withCookie.status).to.equal(200);
    expect(await withCookie.text()).to.equal('sand and sea');
    expect((await visitor().post(`/api/public/${l.token}/unlock`, { password: 'wrong' })).status).to.equal(401);
  });

  it('throttles wrong link passwords', async () => {
    const l = await link({ permission: 'view', password: 'right one' });
    for (let i = 0; i < 10; i++)
      expect((await visitor().get(`/api/public/${l.token}`, { 'x-link-password': `w${i}` })).status).to.equal(401);
    const blocked = await visitor().get(`/api/public/${l.token}`, { 'x-link-password': 'right one' });
    expect(blocked.status).to.equal(429);
    expect(blocked.headers.get('retry-after')).to.match(/^\d+$/);
  });

  it("logs visits and downloads in the owner's log, one row per visitor and hour with a count, and wrong passwords", async () => {
    const l = await link({ permission: 'view', password: 'right-password' }, inner.id);
    const p = { 'x-link-password': 'right-password' };
    expect((await visitor().get(`/api/public/${l.token}`, { 'x-link-password': 'wrong' })).status).to.equal(401);
    for (let i = 0; i < 3; i++) expect((await visitor().get(`/api/public/${l.token}`, p)).status).to.equal(200);
    expect((await visitor().get(`/api/public/${l.token}/children`, p)).status).to.equal(200); // not a visit
    for (let i = 0; i < 2; i++) {
      const res = await visitor().get(`/api/public/${l.token}/content?id=${photo.id}`, p);
      expect(await res.text()).to.equal('sand and sea');
    }
    // A later range of the same download (a player, a resumed transfer) is not another download.
    await (await visitor().get(`/api/public/${l.token}/content?id=${photo.id}`, { ...p, range: 'bytes=4-' })).text();
    const a = api(srv.url).as(alice);
    const log = async () =>
      ((await a.json(a.get('/api/activity?limit=200'))).items as any[])
        .filter((r) => r.details?.link === l.id)
        .map((r) => [r.action, r.path, r.via, r.details.count ?? null]);
    expect(await log()).to.deep.equal([
      ['link.downloaded', '/Holiday/Day 1/beach.txt', 'link', 2],
      ['link.viewed', '/Holiday/Day 1', 'link', 3],
      ['link.password_failed', '/Holiday/Day 1', 'link', null],
    ]);
    clock.advance(2 * 3600_000); // an hour later, a new row
    await visitor().get(`/api/public/${l.token}`, p);
    expect((await log()).map(([action, , , count]) => [action, count])).to.deep.equal([
      ['link.viewed', 1],
      ['link.downloaded', 2],
      ['link.viewed', 3],
      ['link.password_failed', null],
    ]);
  });

  it('answers 404 once the link has expired or been revoked, and for unknown tokens', async () => {
    const soon = new Date(clock.now() + 3600_000).toISOString();
    const l = await link({ permission: 'view', expiresAt: soon });
    expect((await visitor().get(`/api/public/${l.token}`)).status).to.equal(200);
    clock.advance(3600_001);
    expect((await visitor().get(`/api/public/${l.token}`)).status).to.equal(404);
    const r = await link({ permission: 'view' });
    const a = api(srv.url).as(alice);
    const listed = await a.json(a.get(`/api/nodes/${shared.id}/links`));
    expect(listed.items.map((x: { id: string }) => x.id)).to.include(r.id);
    expect((await a.delete(`/api/links/${r.id}`)).status).to.equal(204);
    expect((await visitor().get(`/api/public/${r.token}`)).status).to.equal(404);
    expect((await visitor().get('/api/public/AAAAAAAAAAAAAAAAAAAAAAAA')).status).to.equal(404);
    expect((await visitor().get('/api/public/bad%20token')).status).to.equal(400);
  });

  it('answers 404 for a link whose node is in the bin', async () => {
    const a = api(srv.url).as(alice);
    const folder = await a.mkdir(alice.rootId, 'Short-lived');
    const l = await link({ permission: 'view' }, folder.id);
    expect((await a.delete(`/api/nodes/${folder.id}`)).status).to.equal(204);
    expect((await visitor().get(`/api/public/${l.token}`)).status).to.equal(404);
  });
});
