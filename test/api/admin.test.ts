import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { MiB, patternChunk, expectHealthy } from '../support/store.js';

interface UserJson {
  id: string;
  username: string;
  email: string;
  role: string;
  quotaBytes: number;
  usedBytes: number;
  disabled: boolean;
  rootId: string;
}

describe('admin: users, quotas, roles', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let admin: Api;
  let u: TestUser;
  before(async () => {
    srv = await startTestServer({ env: { DEFAULT_QUOTA: String(5 * MiB) } });
    admin = api(srv.url).as(await srv.adminToken());
    u = await createUser(srv);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  it('is admin-only: a normal user gets 403 on every admin route, nothing changes', async () => {
    const a = api(srv.url).as(u);
    const victim = await createUser(srv);
    const answers = [
      await a.get('/api/admin/users'),
      await a.post('/api/admin/users', {
        username: 'sneaky',
        email: 'sneaky@example.test',
        password: 'sneaky-password',
      }),
      await a.patch(`/api/admin/users/${victim.id}`, { quotaBytes: 1 }),
      await a.patch(`/api/admin/users/${u.id}`, { quotaBytes: 10 ** 12 }),
      await a.patch(`/api/admin/users/${u.id}`, { role: 'admin' }),
      await a.patch(`/api/admin/users/${victim.id}`, { disabled: true }),
    ];
    for (const res of answers) {
      expect(res.status).to.equal(403);
      expect((await res.json()).error.code).to.equal('forbidden');
    }
    expect((await api(srv.url).get('/api/admin/users')).status).to.equal(401);
    const me = (await a.json(a.get('/api/auth/me'))).user as UserJson;
    expect(me).to.include({ role: 'user', quotaBytes: 5 * MiB });
    expect((await api(srv.url).as(victim).get('/api/auth/me')).status).to.equal(200);
    const list = ((await admin.json(admin.get('/api/admin/users'))).items as UserJson[]).map((x) => x.username);
    expect(list).to.not.include('sneaky');
  });

  it('lists and creates users (with quota and role), refusing duplicates and bad input', async () => {
    const res = await admin.post('/api/admin/users', {
      username: 'carol',
      email: 'carol@example.test',
      password: 'carol-password',
      quotaBytes: 3 * MiB,
      role: 'user',
    });
    expect(res.status).to.equal(201);
    const carol = (await res.json()).user as UserJson;
    expect(carol).to.include({
      username: 'carol',
      email: 'carol@example.test',
      role: 'user',
      quotaBytes: 3 * MiB,
      usedBytes: 0,
      disabled: false,
    });
    expect(carol).to.not.have.property('passwordHash');
    expect(carol).to.not.have.property('password_hash');
    const items = (await admin.json(admin.get('/api/admin/users'))).items as UserJson[];
    expect(items.map((x) => x.username)).to.include.members(['admin', 'carol', u.username]);
    expect(JSON.stringify(items)).to.not.match(/\$2[aby]\$/);
    // Defaults from configuration.
    const dflt = (
      await (
        await admin.post('/api/admin/users', {
          username: 'dave',
          email: 'dave@example.test',
          password: 'dave-password',
        })
      ).json()
    ).user as UserJson;
    expect(dflt).to.include({ quotaBytes: 5 * MiB, role: 'user' });
    // Duplicates (case-insensitive) and bad input.
    expect(
      (
        await admin.post('/api/admin/users', {
          username: 'CAROL',
          email: 'other@example.test',
          password: 'carol-password',
        })
      ).status,
    ).to.equal(409);
    expect(
      (
        await admin.post('/api/admin/users', {
          username: 'carol2',
          email: 'Carol@Example.test',
          password: 'carol-password',
        })
      ).status,
    ).to.equal(409);
    for (const body of [
      { username: 'x', email: 'x@example.test' },
      { username: 'eve', email: 'eve@example.test', password: 'eve-password', quotaBytes: -1 },
      { username: 'eve', email: 'eve@example.test', password: 'eve-password', quotaBytes: 1.5 },
      { username: 'eve', email: 'eve@example.test', password: 'eve-password', role: 'root' },
      { username: 'eve', email: 'not-an-email', password: 'eve-password' },
    ]) {
      const r = await admin.post('/api/admin/users', body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
    }
    const carolLogin = await login(srv.url, 'carol', 'carol-password');
    expect(carolLogin.user.id).to.equal(carol.id);
  });

  it('a quota change takes effect on the next upload', async () => {
    const a = api(srv.url).as(u);
    await a.upload(u.rootId, 'one.bin', patternChunk(1, MiB));
    const lower = await admin.patch(`/api/admin/users/${u.id}`, { quotaBytes: MiB + 10 });
    expect(lower.status).to.equal(200);
    expect(((await lower.json()).user as UserJson).quotaBytes).to.equal(MiB + 10);
    const refused = await a.put(`/api/folders/${u.rootId}/files/two.bin`, patternChunk(2, 1000));
    expect(refused.status).to.equal(507);
    expect((await refused.json()).error.code).to.equal('quota_exceeded');
    expect((await a.put(`/api/folders/${u.rootId}/files/tiny.bin`, '0123456789')).status).to.equal(201);
    expect((await admin.patch(`/api/admin/users/${u.id}`, { quotaBytes: 4 * MiB })).status).to.equal(200);
    expect((await a.put(`/api/folders/${u.rootId}/files/two.bin`, patternChunk(2, 2 * MiB))).status).to.equal(201);
    const me = (await a.json(a.get('/api/auth/me'))).user as UserJson;
    expect(me).to.include({ quotaBytes: 4 * MiB, usedBytes: 3 * MiB + 10 });
    // A quota below current usage is allowed: nothing is deleted, new uploads are refused.
    expect((await admin.patch(`/api/admin/users/${u.id}`, { quotaBytes: 0 })).status).to.equal(200);
    expect((await a.put(`/api/folders/${u.rootId}/files/more.bin`, 'x')).status).to.equal(507);
    expect((await a.children(u.rootId)).length).to.equal(3);
    expect((await admin.patch(`/api/admin/users/${u.id}`, { quotaBytes: 100 * MiB })).status).to.equal(200);
  });

  it('disables and re-enables a user; promotes and demotes', async () => {
    const v = await createUser(srv);
    expect((await admin.patch(`/api/admin/users/${v.id}`, { disabled: true })).status).to.equal(200);
    expect((await api(srv.url).as(v).get('/api/auth/me')).status).to.equal(401);
    expect(
      (await api(srv.url).post('/api/auth/login', { username: v.username, password: v.password })).status,
    ).to.equal(401);
    expect((await admin.patch(`/api/admin/users/${v.id}`, { disabled: false })).status).to.equal(200);
    const again = await login(srv.url, v.username, v.password);

    const promoted = await admin.patch(`/api/admin/users/${v.id}`, { role: 'admin' });
    expect(((await promoted.json()).user as UserJson).role).to.equal('admin');
    expect((await api(srv.url).as(again.token).get('/api/admin/users')).status).to.equal(200);
    expect((await admin.patch(`/api/admin/users/${v.id}`, { role: 'user' })).status).to.equal(200);
    expect((await api(srv.url).as(again.token).get('/api/admin/users')).status).to.equal(403);
  });

  it('refuses bad patches: unknown user 404, nothing to change or wrong types 400, demoting or disabling oneself 403', async () => {
    expect(
      (await admin.patch('/api/admin/users/00000000-0000-4000-8000-000000000000', { quotaBytes: 1 })).status,
    ).to.equal(404);
    expect((await admin.patch('/api/admin/users/not-a-uuid', { quotaBytes: 1 })).status).to.equal(400);
    for (const body of [{}, { quotaBytes: '10' }, { quotaBytes: -5 }, { disabled: 'yes' }, { role: 'superuser' }]) {
      const r = await admin.patch(`/api/admin/users/${u.id}`, body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect((await r.json()).error.code).to.equal('invalid_input');
    }
    const adminId = ((await admin.json(admin.get('/api/auth/me'))).user as UserJson).id;
    expect((await admin.patch(`/api/admin/users/${adminId}`, { role: 'user' })).status).to.equal(403);
    expect((await admin.patch(`/api/admin/users/${adminId}`, { disabled: true })).status).to.equal(403);
    expect((await admin.get('/api/admin/users')).status).to.equal(200);
  });
});
