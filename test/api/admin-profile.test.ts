/** An admin sets a user's password, display name and email (issue 12): PATCH /api/admin/users/:id. */
import { expect } from 'chai';
import { api, createUser, type Api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; details?: unknown } }).error;

describe('admin: password and profile of a user', () => {
  let srv: TestServer;
  let admin: Api;
  before(async () => {
    srv = await startTestServer();
    admin = api(srv.url).as(await srv.adminToken());
  });
  after(() => srv.close());

  const activity = async (ownerId: string) =>
    ((await admin.json(admin.get(`/api/activity?owner=${ownerId}`))) as { items: any[] }).items;

  it('sets a password: the old one and every session end, the new one signs in, the log says so', async () => {
    const u = await createUser(srv);
    const res = await admin.patch(`/api/admin/users/${u.id}`, { password: 'set-by-the-admin' });
    expect(res.status).to.equal(200);
    expect(await res.text()).not.to.include('set-by-the-admin');
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(401);
    const login = (password: string) => api(srv.url).post('/api/auth/login', { username: u.username, password });
    expect((await login(u.password)).status).to.equal(401);
    expect((await login('set-by-the-admin')).status).to.equal(200);
    const entries = await activity(u.id);
    const set = entries.find((e) => e.action === 'user.password_set');
    expect(set).to.include({ ownerId: u.id });
    expect(set.actor.username).to.equal('admin');
    expect(JSON.stringify(entries)).not.to.include('set-by-the-admin');
  });

  it('validates the password like registration, and changes nothing on bad input', async () => {
    const u = await createUser(srv);
    const res = await admin.patch(`/api/admin/users/${u.id}`, { password: 'short', displayName: 'Never' });
    expect(res.status).to.equal(400);
    expect(await errorOf(res)).to.deep.include({ code: 'invalid_input', details: { field: 'password' } });
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(200);
    const row = (await admin.json(admin.get('/api/admin/users'))).items.find((x: any) => x.id === u.id);
    expect(row.displayName).to.equal(null);
  });

  it('sets the display name and email; a taken or malformed email is refused', async () => {
    const u = await createUser(srv);
    const other = await createUser(srv);
    const ok = await admin.patch(`/api/admin/users/${u.id}`, {
      displayName: '  Zoë Adams ',
      email: 'Zoe@Example.test',
    });
    expect(ok.status).to.equal(200);
    expect((await ok.json()).user).to.include({ displayName: 'Zoë Adams', email: 'Zoe@Example.test' });
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(200); // a profile change keeps sessions
    expect(
      (await api(srv.url).post('/api/auth/login', { username: 'zoe@example.test', password: u.password })).status,
    ).to.equal(200);

    const taken = await admin.patch(`/api/admin/users/${u.id}`, { email: other.email.toUpperCase() });
    expect(taken.status).to.equal(409);
    expect(await errorOf(taken)).to.deep.include({ code: 'already_exists', details: { field: 'email' } });
    const bad = await admin.patch(`/api/admin/users/${u.id}`, { email: 'not-an-address' });
    expect(bad.status).to.equal(400);
    const long = await admin.patch(`/api/admin/users/${u.id}`, { displayName: 'x'.repeat(101) });
    expect(long.status).to.equal(400);
    const cleared = await admin.patch(`/api/admin/users/${u.id}`, { displayName: null });
    expect((await cleared.json()).user.displayName).to.equal(null);
    const updated = (await activity(u.id)).filter((e) => e.action === 'user.updated');
    expect(updated.map((e) => e.details)).to.deep.include({ displayName: 'Zoë Adams', email: 'Zoe@Example.test' });
  });

  it('is for admins only', async () => {
    const u = await createUser(srv);
    const victim = await createUser(srv);
    const res = await api(srv.url).as(u).patch(`/api/admin/users/${victim.id}`, { password: 'taken-over-now' });
    expect(res.status).to.equal(403);
    expect(
      (await api(srv.url).post('/api/auth/login', { username: victim.username, password: victim.password })).status,
    ).to.equal(200);
  });
});
