/** The admin user list's fields (issue 12): display name, email, quota, used, last sign-in, created. */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { Dav, davUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('admin: the user list', () => {
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ clock });
  });
  after(() => srv.close());

  const listed = async (id: string) => {
    const admin = api(srv.url).as(await srv.adminToken());
    return ((await admin.json(admin.get('/api/admin/users'))).items as any[]).find((u) => u.id === id);
  };

  it('shows who each user is, their usage, when they last signed in (API only) and when they were created', async () => {
    const created = clock.now();
    const u = await davUser(srv, { quotaBytes: 1_000_000 }); // signs in once, at `created`
    await api(srv.url).as(u).upload(u.rootId, 'a.txt', 'twelve bytes');
    await api(srv.url).as(u).patch('/api/auth/me', { displayName: 'Uma User' });
    expect(await listed(u.id)).to.deep.include({
      username: u.username,
      displayName: 'Uma User',
      email: u.email,
      quotaBytes: 1_000_000,
      usedBytes: 12,
      lastLoginAt: new Date(created).toISOString(),
      createdAt: new Date(created).toISOString(),
    });

    clock.advance(3_600_000);
    const dav = await Dav.for(srv, u).request('PROPFIND', '/dav/', { headers: { depth: '0' } });
    await dav.arrayBuffer();
    expect(dav.status).to.equal(207);
    expect((await listed(u.id)).lastLoginAt, 'a WebDAV request is not a sign-in').to.equal(
      new Date(created).toISOString(),
    );

    const failed = await api(srv.url).post('/api/auth/login', { username: u.username, password: 'wrong-password' });
    expect(failed.status).to.equal(401);
    expect((await listed(u.id)).lastLoginAt, 'a failed sign-in is not one').to.equal(new Date(created).toISOString());

    const ok = await api(srv.url).post('/api/auth/login', { username: u.username, password: u.password });
    expect(ok.status).to.equal(200);
    expect((await listed(u.id)).lastLoginAt).to.equal(new Date(clock.now()).toISOString());
  });

  it('shows null for a user who never signed in', async () => {
    const admin = api(srv.url).as(await srv.adminToken());
    const res = await admin.post('/api/admin/users', {
      username: 'never-in',
      email: 'never-in@example.test',
      password: 'never-signs-in',
    });
    const { user } = await res.json();
    expect(await listed(user.id)).to.include({ lastLoginAt: null, displayName: null });
  });
});
