/**
 * "Shared with me" over WebDAV, and the parity table: the same rule through the JSON API and
 * through /dav/ gives the same answer (DESIGN.md §4; the stranger always 404, the viewer never writes).
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav, hrefs } from './support.js';

const SW = '/dav/Shared%20with%20me';

describe('WebDAV: "Shared with me"', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  let plans: NodeJson;

  before(async () => {
    srv = await startTestServer();
    [alice, bob, carol] = [
      await createUser(srv, { prefix: 'alice' }),
      await createUser(srv, { prefix: 'bob' }),
      await createUser(srv, { prefix: 'carol' }),
    ];
    const a = api(srv.url).as(alice);
    plans = await a.mkdir(alice.rootId, 'Plans');
    await a.upload(plans.id, 'road map.txt', 'step one');
    await a.post(`/api/nodes/${plans.id}/shares`, { user: bob.username, permission: 'edit' });
  });
  after(() => srv.close());

  const dav = (u: TestUser) => Dav.for(srv, u);
  const propfind = async (u: TestUser, path: string, depth = '1') => {
    const res = await dav(u).request('PROPFIND', path, { headers: { depth } });
    return { status: res.status, hrefs: hrefs(await res.text()) };
  };

  it('lists the virtual folder at the top of the drive and the share roots inside it', async () => {
    const root = await propfind(bob, '/dav/');
    expect(root.status).to.equal(207);
    expect(root.hrefs).to.include(`${SW}/`);
    const inside = await propfind(bob, `${SW}/`);
    expect(inside.hrefs).to.deep.equal([`${SW}/`, `${SW}/Plans/`]);
    const deeper = await propfind(bob, `${SW}/Plans/`);
    expect(deeper.hrefs).to.deep.equal([`${SW}/Plans/`, `${SW}/Plans/road%20map.txt`]);
    const res = await dav(bob).request('GET', `${SW}/Plans/road%20map.txt`);
    expect(await res.text()).to.equal('step one');
  });

  it("writes through a share land in the owner's tree, quota and log (actor = grantee, via dav)", async () => {
    const put = await dav(bob).put(`${SW}/Plans/from%20bob.txt`, 'hello');
    expect(put.status).to.equal(201);
    const kids = await api(srv.url).as(alice).children(plans.id);
    const f = kids.find((k) => k.name === 'from bob.txt')!;
    expect(f.ownerId).to.equal(alice.id);
    const log = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/activity?action=file.uploaded'));
    const row = log.items.find((r: { nodeId: string }) => r.nodeId === f.id);
    expect(row).to.include({ via: 'dav', path: '/Plans/from bob.txt' });
    expect(row.actor.username).to.equal(bob.username);
    expect(await dav(bob).mkcol(`${SW}/Plans/Sub`)).to.equal(201);
  });

  it('keeps the virtual folder read-only and the share root fixed', async () => {
    expect((await dav(bob).put(`${SW}/loose.txt`, 'x')).status).to.equal(403);
    expect(await dav(bob).mkcol(`${SW}/New`)).to.equal(403);
    expect(await dav(bob).mkcol(SW)).to.equal(405);
    expect((await dav(bob).request('DELETE', `${SW}/`)).status).to.equal(403);
    expect((await dav(bob).request('DELETE', `${SW}/Plans/`)).status).to.equal(403);
    // Out of the virtual folder (renaming inside it only renames the grantee's share: shares.test.ts).
    const move = await dav(bob).request('MOVE', `${SW}/Plans/`, { headers: { destination: '/dav/Renamed/' } });
    expect(move.status).to.equal(403);
    const out = await dav(bob).request('MOVE', `${SW}/Plans/road%20map.txt`, {
      headers: { destination: '/dav/mine.txt' },
    });
    expect(out.status).to.be.oneOf([403, 409]);
    expect((await api(srv.url).as(alice).children(plans.id)).some((k) => k.name === 'road map.txt')).to.equal(true);
  });

  it('tells roots with the same name apart by owner (the later share), and reserves the name at the top of a drive', async () => {
    const c = api(srv.url).as(carol);
    const other = await c.mkdir(carol.rootId, 'Plans');
    await c.post(`/api/nodes/${other.id}/shares`, { user: bob.username, permission: 'view' });
    const inside = await propfind(bob, `${SW}/`);
    expect(inside.hrefs.sort()).to.deep.equal(
      [`${SW}/`, `${SW}/Plans/`, `${SW}/Plans%20%28${carol.username}%29/`].sort(),
    );
    expect((await dav(bob).put(`${SW}/Plans%20%28${carol.username}%29/x.txt`, 'x')).status).to.equal(403); // view only
    const reserved = await api(srv.url).as(bob).post('/api/folders', { parentId: bob.rootId, name: 'shared with ME' });
    expect(reserved.status).to.equal(400);
    expect((await reserved.json()).error.code).to.equal('invalid_name');
    const sub = await api(srv.url).as(bob).mkdir(bob.rootId, 'Deeper');
    expect(
      (await api(srv.url).as(bob).post('/api/folders', { parentId: sub.id, name: 'Shared with me' })).status,
    ).to.equal(201);
  });

  it("is empty for someone with no shares, and never shows another user's items", async () => {
    expect((await propfind(carol, `${SW}/`)).hrefs).to.deep.equal([`${SW}/`]);
    expect((await propfind(carol, `${SW}/Plans/`)).status).to.equal(404);
  });
});

type Role = 'owner' | 'viewer' | 'editor' | 'stranger';
const ROLES: Role[] = ['owner', 'viewer', 'editor', 'stranger'];

describe('parity: the same rule through the API and WebDAV gives the same status', () => {
  let srv: TestServer;
  const users = {} as Record<Role, TestUser>;
  let n = 0;

  before(async () => {
    srv = await startTestServer();
    for (const r of ROLES) users[r] = await createUser(srv, { prefix: r });
  });
  after(() => srv.close());

  /** A fresh shared folder "Box N" with inner/file.txt, shared view → viewer and edit → editor. */
  async function fixture() {
    const name = `Box ${n++}`;
    const a = api(srv.url).as(users.owner);
    const box = await a.mkdir(users.owner.rootId, name);
    const inner = await a.mkdir(box.id, 'inner');
    const file = await a.upload(inner.id, 'file.txt', 'content');
    await a.post(`/api/nodes/${box.id}/shares`, { user: users.viewer.username, permission: 'view' });
    await a.post(`/api/nodes/${box.id}/shares`, { user: users.editor.username, permission: 'edit' });
    const base = (role: Role) =>
      role === 'owner' || role === 'stranger'
        ? `/dav/${encodeURIComponent(name)}`
        : `${SW}/${encodeURIComponent(name)}`;
    return { box, inner, file, base };
  }

  const cases: {
    name: string;
    expect: Record<Role, number>;
    api(as: ReturnType<typeof api>, f: Awaited<ReturnType<typeof fixture>>): Promise<Response>;
    dav(d: Dav, base: string): Promise<Response>;
    davStatus?: (s: number) => number;
  }[] = [
    {
      name: 'read a file',
      expect: { owner: 200, viewer: 200, editor: 200, stranger: 404 },
      api: (as, f) => as.get(`/api/files/${f.file.id}/content`),
      dav: (d, b) => d.request('GET', `${b}/inner/file.txt`),
    },
    {
      name: 'list a folder',
      expect: { owner: 200, viewer: 200, editor: 200, stranger: 404 },
      api: (as, f) => as.get(`/api/nodes/${f.inner.id}/children`),
      dav: (d, b) => d.request('PROPFIND', `${b}/inner/`, { headers: { depth: '1' } }),
      davStatus: (s) => (s === 207 ? 200 : s),
    },
    {
      name: 'upload a new file',
      expect: { owner: 201, viewer: 403, editor: 201, stranger: 404 },
      api: (as, f) => as.put(`/api/folders/${f.inner.id}/files/new.txt`, 'n'),
      dav: (d, b) => d.request('PUT', `${b}/inner/new.txt`, { body: 'n' }),
      davStatus: (s) => (s === 409 ? 404 : s),
    },
    {
      name: 'overwrite a file',
      expect: { owner: 200, viewer: 403, editor: 200, stranger: 404 },
      api: (as, f) => as.put(`/api/folders/${f.inner.id}/files/file.txt?overwrite=true`, 'x'),
      dav: (d, b) => d.request('PUT', `${b}/inner/file.txt`, { body: 'x' }),
      davStatus: (s) => (s === 204 ? 200 : s === 409 ? 404 : s),
    },
    {
      name: 'create a folder',
      expect: { owner: 201, viewer: 403, editor: 201, stranger: 404 },
      api: (as, f) => as.post('/api/folders', { parentId: f.inner.id, name: 'made' }),
      dav: (d, b) => d.request('MKCOL', `${b}/inner/made`),
      davStatus: (s) => (s === 409 ? 404 : s),
    },
    {
      name: 'delete a file (to the bin)',
      expect: { owner: 204, viewer: 403, editor: 204, stranger: 404 },
      api: (as, f) => as.delete(`/api/nodes/${f.file.id}`),
      dav: (d, b) => d.request('DELETE', `${b}/inner/file.txt`),
    },
    {
      name: 'rename a file',
      expect: { owner: 200, viewer: 403, editor: 200, stranger: 404 },
      api: (as, f) => as.patch(`/api/nodes/${f.file.id}`, { name: 'renamed.txt' }),
      dav: (d, b) => d.request('MOVE', `${b}/inner/file.txt`, { headers: { destination: `${b}/inner/renamed.txt` } }),
      davStatus: (s) => (s === 201 ? 200 : s),
    },
    {
      name: 'HEAD a file',
      expect: { owner: 200, viewer: 200, editor: 200, stranger: 404 },
      api: (as, f) => as.request('HEAD', `/api/files/${f.file.id}/content`),
      dav: (d, b) => d.request('HEAD', `${b}/inner/file.txt`),
    },
    {
      name: 'copy a file',
      expect: { owner: 201, viewer: 403, editor: 201, stranger: 404 },
      api: (as, f) => as.post(`/api/nodes/${f.file.id}/copy`, { parentId: f.inner.id, name: 'copy.txt' }),
      dav: (d, b) => d.request('COPY', `${b}/inner/file.txt`, { headers: { destination: `${b}/inner/copy.txt` } }),
    },
    {
      name: 'move a file to another folder in the share',
      expect: { owner: 200, viewer: 403, editor: 200, stranger: 404 },
      api: (as, f) => as.patch(`/api/nodes/${f.file.id}`, { parentId: f.box.id }),
      dav: (d, b) => d.request('MOVE', `${b}/inner/file.txt`, { headers: { destination: `${b}/file.txt` } }),
      davStatus: (s) => (s === 201 ? 200 : s),
    },
    {
      name: "change a file's modification time (PROPPATCH)",
      expect: { owner: 200, viewer: 403, editor: 200, stranger: 404 },
      // The API has no separate route: re-uploading with the same name is its way to touch a file.
      api: (as, f) => as.put(`/api/folders/${f.inner.id}/files/file.txt?overwrite=true`, 'content'),
      dav: (d, b) =>
        d.request('PROPPATCH', `${b}/inner/file.txt`, {
          headers: { 'content-type': 'application/xml' },
          body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>Mon, 01 Jan 2024 00:00:00 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>',
        }),
      davStatus: (s) => (s === 207 ? 200 : s),
    },
    {
      name: 'delete the share root',
      expect: { owner: 204, viewer: 403, editor: 403, stranger: 404 },
      api: (as, f) => as.delete(`/api/nodes/${f.box.id}`),
      dav: (d, b) => d.request('DELETE', `${b}/`),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${ROLES.map((r) => `${r} ${c.expect[r]}`).join(', ')} through both doors`, async () => {
      const got = { api: {} as Record<Role, number>, dav: {} as Record<Role, number> };
      for (const role of ROLES) {
        const f1 = await fixture();
        const r1 = await c.api(api(srv.url).as(users[role]), f1);
        got.api[role] = r1.status;
        await r1.body?.cancel();
        const f2 = await fixture();
        const r2 = await c.dav(Dav.for(srv, users[role]), f2.base(role));
        got.dav[role] = (c.davStatus ?? ((s) => s))(r2.status);
        await r2.body?.cancel();
      }
      expect(got).to.deep.equal({ api: c.expect, dav: c.expect });
    });
  }
});
