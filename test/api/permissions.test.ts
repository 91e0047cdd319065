/**
 * The access table of DESIGN.md §4 as one matrix: owner, viewer, editor and stranger × every API
 * route, on nodes inside a shared folder. The stranger always gets 404; the viewer never changes anything.
 */
import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Role = 'owner' | 'viewer' | 'editor' | 'stranger';
const ROLES: Role[] = ['owner', 'viewer', 'editor', 'stranger'];

interface Fixture {
  shared: NodeJson;
  folder: NodeJson;
  file: NodeJson;
  other: NodeJson;
  trashed: NodeJson;
}

interface Case {
  name: string;
  expect: Record<Role, number>;
  run(as: Api, f: Fixture): Promise<Response>;
}

const read = (ok = 200) => ({ owner: ok, viewer: ok, editor: ok, stranger: 404 });
const write = (ok: number) => ({ owner: ok, viewer: 403, editor: ok, stranger: 404 });
const ownerOnly = (ok: number) => ({ owner: ok, viewer: 403, editor: 403, stranger: 404 });
const binOnly = (ok: number) => ({ owner: ok, viewer: 404, editor: 404, stranger: 404 });

function multipart(name: string): FormData {
  const form = new FormData();
  form.append('file', new Blob(['m']), name);
  return form;
}

const CASES: Case[] = [
  { name: 'GET /nodes/:id', expect: read(), run: (as, f) => as.get(`/api/nodes/${f.file.id}`) },
  { name: 'GET /nodes/:id/children', expect: read(), run: (as, f) => as.get(`/api/nodes/${f.folder.id}/children`) },
  { name: 'GET /nodes/:id/path', expect: read(), run: (as, f) => as.get(`/api/nodes/${f.file.id}/path`) },
  { name: 'GET /files/:id/content', expect: read(), run: (as, f) => as.get(`/api/files/${f.file.id}/content`) },
  {
    name: 'HEAD /files/:id/content',
    expect: read(),
    run: (as, f) => as.request('HEAD', `/api/files/${f.file.id}/content`),
  },
  { name: 'GET /nodes/:id/zip', expect: read(), run: (as, f) => as.get(`/api/nodes/${f.folder.id}/zip`) },
  { name: 'GET /zip?ids=', expect: read(), run: (as, f) => as.get(`/api/zip?ids=${f.file.id},${f.other.id}`) },
  {
    name: 'GET /search finds it',
    expect: read(),
    run: async (as) => {
      const res = await as.get('/api/search?q=matrix-file');
      const found = res.status === 200 && ((await res.json()).items as NodeJson[]).length > 0;
      return new Response(null, { status: found ? 200 : 404 });
    },
  },
  {
    name: 'POST /folders',
    expect: write(201),
    run: (as, f) => as.post('/api/folders', { parentId: f.folder.id, name: 'new-folder' }),
  },
  {
    name: 'PUT /folders/:id/files/:name (new)',
    expect: write(201),
    run: (as, f) => as.put(`/api/folders/${f.folder.id}/files/new.txt`, 'n'),
  },
  {
    name: 'PUT …?overwrite=true (replace)',
    expect: write(200),
    run: (as, f) => as.put(`/api/folders/${f.folder.id}/files/matrix-file.txt?overwrite=true`, 'replaced'),
  },
  {
    name: 'POST /folders/:id/upload (multipart)',
    expect: write(201),
    run: (as, f) => as.post(`/api/folders/${f.folder.id}/upload`, multipart('m.txt')),
  },
  {
    name: 'PATCH rename',
    expect: write(200),
    run: (as, f) => as.patch(`/api/nodes/${f.file.id}`, { name: 'renamed.txt' }),
  },
  {
    name: 'PATCH move within the share',
    expect: write(200),
    run: (as, f) => as.patch(`/api/nodes/${f.file.id}`, { parentId: f.shared.id }),
  },
  {
    name: 'POST copy',
    expect: write(201),
    run: (as, f) => as.post(`/api/nodes/${f.file.id}/copy`, { parentId: f.shared.id }),
  },
  { name: 'DELETE (to the bin)', expect: write(204), run: (as, f) => as.delete(`/api/nodes/${f.file.id}`) },
  {
    name: 'POST /nodes/bulk move',
    expect: write(200),
    run: (as, f) => as.post('/api/nodes/bulk', { action: 'move', ids: [f.file.id, f.other.id], parentId: f.shared.id }),
  },
  {
    name: 'POST /nodes/bulk copy',
    expect: write(201),
    run: (as, f) => as.post('/api/nodes/bulk', { action: 'copy', ids: [f.file.id], parentId: f.shared.id }),
  },
  {
    name: 'POST /nodes/bulk trash',
    expect: write(200),
    run: (as, f) => as.post('/api/nodes/bulk', { action: 'trash', ids: [f.file.id, f.other.id] }),
  },
  {
    name: 'PATCH rename the share root',
    expect: ownerOnly(200),
    run: (as, f) => as.patch(`/api/nodes/${f.shared.id}`, { name: 'Renamed root' }),
  },
  { name: 'DELETE the share root', expect: ownerOnly(204), run: (as, f) => as.delete(`/api/nodes/${f.shared.id}`) },
  { name: 'GET /nodes/:id/shares', expect: ownerOnly(200), run: (as, f) => as.get(`/api/nodes/${f.file.id}/shares`) },
  {
    name: 'POST /nodes/:id/shares',
    expect: ownerOnly(201),
    run: (as, f) => as.post(`/api/nodes/${f.file.id}/shares`, { user: 'matrix-target', permission: 'view' }),
  },
  { name: 'GET /nodes/:id/links', expect: ownerOnly(200), run: (as, f) => as.get(`/api/nodes/${f.file.id}/links`) },
  {
    name: 'POST /nodes/:id/links',
    expect: ownerOnly(201),
    run: (as, f) => as.post(`/api/nodes/${f.folder.id}/links`, { permission: 'view' }),
  },
  {
    name: 'POST /trash/:id/restore',
    expect: binOnly(200),
    run: (as, f) => as.post(`/api/trash/${f.trashed.id}/restore`),
  },
  { name: 'DELETE /trash/:id', expect: binOnly(200), run: (as, f) => as.delete(`/api/trash/${f.trashed.id}`) },
  {
    name: 'GET /nodes/:id of a trashed node',
    expect: binOnly(404),
    run: (as, f) => as.get(`/api/nodes/${f.trashed.id}`),
  },
];

describe('permission matrix (API): owner, viewer, editor, stranger × every route', () => {
  let srv: TestServer;
  const users = {} as Record<Role, TestUser>;

  before(async () => {
    srv = await startTestServer();
    for (const r of ROLES) users[r] = await createUser(srv, { prefix: r });
    await api(srv.url)
      .as(await srv.adminToken())
      .post('/api/admin/users', { username: 'matrix-target', email: 'mt@example.test', password: 'password-mt' });
  });
  after(() => srv.close());

  /** A fresh shared folder per case and role, so mutations never depend on each other. */
  async function fixture(n: number): Promise<Fixture> {
    const a = api(srv.url).as(users.owner);
    const shared = await a.mkdir(users.owner.rootId, `Shared ${n}`);
    const folder = await a.mkdir(shared.id, 'inner');
    const file = await a.upload(folder.id, 'matrix-file.txt', 'content');
    const other = await a.upload(folder.id, 'other.txt', 'other');
    const trashed = await a.upload(folder.id, 'trashed.txt', 't');
    await a.delete(`/api/nodes/${trashed.id}`);
    await a.post(`/api/nodes/${shared.id}/shares`, { user: users.viewer.username, permission: 'view' });
    await a.post(`/api/nodes/${shared.id}/shares`, { user: users.editor.username, permission: 'edit' });
    return { shared, folder, file, other, trashed };
  }

  let n = 0;
  let shared: Fixture | undefined;
  for (const c of CASES) {
    // Reads share one fixture; anything that may change state gets a fresh one per role.
    const mutates =
      c.expect.owner !== 200 ||
      c.expect.viewer !== 200 ||
      c.name.includes('PATCH') ||
      c.name.includes('restore') ||
      c.name.includes('/trash/');
    it(`${c.name}: ${ROLES.map((r) => `${r} ${c.expect[r]}`).join(', ')}`, async () => {
      const got = {} as Record<Role, number>;
      for (const role of ROLES) {
        const f = mutates ? await fixture(n++) : (shared ??= await fixture(n++));
        const res = await c.run(api(srv.url).as(users[role]), f);
        got[role] = res.status;
        if (res.status >= 500) throw new Error(`${c.name} as ${role}: ${res.status} ${await res.text()}`);
        await res.body?.cancel();
      }
      expect(got).to.deep.equal(c.expect);
    });
  }

  it("a stranger's 404 is the same as for an id that does not exist", async () => {
    const f = await fixture(n++);
    const as = api(srv.url).as(users.stranger);
    const real = await as.get(`/api/nodes/${f.file.id}`);
    const fake = await as.get('/api/nodes/00000000-0000-4000-8000-000000000000');
    expect(real.status).to.equal(fake.status);
    expect(await real.json()).to.deep.equal(await fake.json());
  });

  it("a viewer's failed writes change nothing", async () => {
    const f = await fixture(n++);
    const before = await api(srv.url)
      .as(users.owner)
      .json(api(srv.url).as(users.owner).get(`/api/nodes/${f.folder.id}/children`));
    const as = api(srv.url).as(users.viewer);
    for (const c of CASES.filter((x) => x.expect.viewer === 403)) await (await c.run(as, f)).body?.cancel();
    const after = await api(srv.url)
      .as(users.owner)
      .json(api(srv.url).as(users.owner).get(`/api/nodes/${f.folder.id}/children`));
    expect(after).to.deep.equal(before);
  });
});

describe('permission matrix (public links): visitor × every public route', () => {
  let srv: TestServer;
  let owner: TestUser;
  let f: Fixture;
  let outside: NodeJson;
  const tokens = {} as Record<'view' | 'edit', string>;

  before(async () => {
    srv = await startTestServer();
    owner = await createUser(srv);
    const a = api(srv.url).as(owner);
    const shared = await a.mkdir(owner.rootId, 'Linked');
    const folder = await a.mkdir(shared.id, 'inner');
    const file = await a.upload(folder.id, 'inside.txt', 'in');
    outside = await a.upload(owner.rootId, 'outside.txt', 'out');
    f = { shared, folder, file, other: file, trashed: file };
    for (const p of ['view', 'edit'] as const)
      tokens[p] = (await a.json(a.post(`/api/nodes/${shared.id}/links`, { permission: p }))).token;
  });
  after(() => srv.close());

  const routes: {
    name: string;
    view: number;
    edit: number;
    outsideStatus: number;
    run(t: string, id: string): Promise<Response>;
  }[] = [
    {
      name: 'GET /public/:token?id=',
      view: 200,
      edit: 200,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).get(`/api/public/${t}?id=${id}`),
    },
    {
      name: 'GET /public/:token/children?id=',
      view: 200,
      edit: 200,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).get(`/api/public/${t}/children?id=${id}`),
    },
    {
      name: 'GET /public/:token/path?id=',
      view: 200,
      edit: 200,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).get(`/api/public/${t}/path?id=${id}`),
    },
    {
      name: 'GET /public/:token/content?id=',
      view: 200,
      edit: 200,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).get(`/api/public/${t}/content?id=${id}`),
    },
    {
      name: 'GET /public/:token/zip?id=',
      view: 200,
      edit: 200,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).get(`/api/public/${t}/zip?id=${id}`),
    },
    {
      name: 'PUT /public/:token/files/:name?id=',
      view: 403,
      edit: 201,
      outsideStatus: 404,
      run: (t, id) => api(srv.url).put(`/api/public/${t}/files/up-${Math.random()}.txt?id=${id}`, 'u'),
    },
  ];

  for (const r of routes) {
    it(`${r.name}: view link ${r.view}, edit link ${r.edit}, outside the subtree ${r.outsideStatus}`, async () => {
      const target =
        r.name.includes('children') || r.name.includes('files')
          ? f.folder.id
          : r.name.includes('content')
            ? f.file.id
            : f.folder.id;
      const got = {
        view: (await r.run(tokens.view, target)).status,
        edit: (await r.run(tokens.edit, target)).status,
        outside: (
          await r.run(tokens.edit, r.name.includes('children') || r.name.includes('files') ? owner.rootId : outside.id)
        ).status,
      };
      expect(got).to.deep.equal({ view: r.view, edit: r.edit, outside: r.outsideStatus });
    });
  }
});
