import { expect } from 'chai';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Row {
  id: number;
  action: string;
  path: string | null;
  via: string;
  actor: { id: string | null; username: string | null };
  ownerId: string;
  createdAt: string;
  ip: string | null;
}

describe('GET /api/activity', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser;

  before(async () => {
    srv = await startTestServer();
    [alice, bob] = [await createUser(srv, { prefix: 'alice' }), await createUser(srv, { prefix: 'bob' })];
    const a = api(srv.url).as(alice);
    const f = await a.mkdir(alice.rootId, 'Work');
    await a.upload(f.id, 'one.txt', '1');
    await a.upload(alice.rootId, 'two.txt', '2');
    await a.post(`/api/nodes/${f.id}/shares`, { user: bob.username, permission: 'edit' });
    await api(srv.url).as(bob).upload(f.id, 'from-bob.txt', 'b');
    await api(srv.url).post('/api/auth/login', { username: alice.username, password: 'wrong password' });
  });
  after(() => srv.close());

  const rows = async (user: TestUser | string, qs = ''): Promise<Row[]> => {
    const res = await api(srv.url).as(user).get(`/api/activity${qs}`);
    expect(res.status, qs).to.equal(200);
    return (await res.json()).items;
  };

  it('shows the owner everything done to their resources, with actor, action, path, via and ip', async () => {
    const all = await rows(alice);
    const actions = all.map((r) => r.action);
    expect(actions).to.include.members([
      'folder.created',
      'file.uploaded',
      'share.created',
      'auth.login',
      'auth.login_failed',
      'user.created',
    ]);
    const fromBob = all.find((r) => r.path === '/Work/from-bob.txt')!;
    expect(fromBob).to.include({ action: 'file.uploaded', via: 'api', ownerId: alice.id });
    expect(fromBob.actor.username).to.equal(bob.username);
    expect(fromBob.ip).to.match(/127\.0\.0\.1/);
    // newest first
    const ids = all.map((r) => r.id);
    expect([...ids].sort((x, y) => y - x)).to.deep.equal(ids);
  });

  it('filters by action, actor, path prefix and time range', async () => {
    expect((await rows(alice, '?action=file.uploaded')).map((r) => r.path).sort()).to.deep.equal([
      '/Work/from-bob.txt',
      '/Work/one.txt',
      '/two.txt',
    ]);
    expect((await rows(alice, `?actor=${bob.id}`)).map((r) => r.action)).to.deep.equal(['file.uploaded']);
    expect((await rows(alice, `?path=${encodeURIComponent('/Work/')}`)).map((r) => r.path).sort()).to.deep.equal([
      '/Work/from-bob.txt',
      '/Work/one.txt',
    ]);
    expect(await rows(alice, '?from=2999-01-01')).to.deep.equal([]);
    expect(
      (await rows(alice, `?to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length,
    ).to.be.greaterThan(3);
  });

  it('pages with a cursor without gaps or repeats', async () => {
    const all = await rows(alice);
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const res = await api(srv.url)
        .as(alice)
        .get(`/api/activity?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as { items: Row[]; nextCursor: number | null };
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).to.deep.equal(all.map((r) => r.id));
  });

  it('exports CSV', async () => {
    const res = await api(srv.url).as(alice).get('/api/activity?format=csv&action=file.uploaded');
    expect(res.headers.get('content-type')).to.match(/text\/csv/);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).to.equal('time,owner,actor,action,path,via,ip,details');
    expect(lines).to.have.length(4);
    expect(lines.some((l) => l.includes('"/Work/from-bob.txt"'))).to.equal(true);
  });

  it("keeps other owners' logs private; admins can read one owner or all", async () => {
    expect((await rows(bob)).some((r) => r.ownerId === alice.id)).to.equal(false);
    expect((await api(srv.url).as(bob).get(`/api/activity?owner=${alice.id}`)).status).to.equal(403);
    const admin = await srv.adminToken();
    expect((await rows(admin, `?owner=${alice.id}`)).every((r) => r.ownerId === alice.id)).to.equal(true);
    const everyone = await rows(admin, '?owner=all&limit=1000');
    expect(new Set(everyone.map((r) => r.ownerId)))
      .to.include(alice.id)
      .and.to.include(bob.id);
    expect((await api(srv.url).as(alice).get('/api/activity?limit=0')).status).to.equal(400);
    expect((await api(srv.url).as(alice).get('/api/activity?from=yesterday')).status).to.equal(400);
  });
});

describe('GET /api/admin/stats', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('counts users, files, folders, logical and stored bytes (after dedup) and bytes in bins', async () => {
    const u = await createUser(srv);
    const a = api(srv.url).as(u);
    const f = await a.mkdir(u.rootId, 'F');
    await a.upload(f.id, 'a.bin', Buffer.alloc(100, 1));
    await a.upload(f.id, 'b.bin', Buffer.alloc(100, 1)); // same bytes: stored once
    const t = await a.upload(u.rootId, 'c.bin', Buffer.alloc(50, 2));
    await a.delete(`/api/nodes/${t.id}`);
    expect((await a.get('/api/admin/stats')).status).to.equal(403);
    const stats = await api(srv.url)
      .as(await srv.adminToken())
      .json(
        api(srv.url)
          .as(await srv.adminToken())
          .get('/api/admin/stats'),
      );
    expect(stats).to.include({
      users: 2,
      files: 2,
      folders: 1,
      logicalBytes: 200,
      trashBytes: 50,
      trashItems: 1,
      storedBytes: 150,
      blobs: 2,
    });
  });
});
