/**
 * Sessions as devices (issue 12): each sign-in is a row the user can list and end; an ended
 * session is refused at its next request, on every instance; last_seen_at moves at most once a
 * minute; expired rows are swept by the daily clean-up.
 */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface SessionJson {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

async function signIn(srv: TestServer, u: TestUser, userAgent: string): Promise<string> {
  const res = await api(srv.url).post(
    '/api/auth/login',
    { username: u.username, password: u.password },
    {
      'user-agent': userAgent,
    },
  );
  expect(res.status).to.equal(200);
  return ((await res.json()) as { token: string }).token;
}

async function sessions(srv: TestServer, token: string): Promise<SessionJson[]> {
  const res = await api(srv.url).as(token).get('/api/auth/sessions');
  expect(res.status).to.equal(200);
  return ((await res.json()) as { items: SessionJson[] }).items;
}

const status = async (res: Promise<Response>) => (await res).status;
const MINUTE = 60_000;

describe('sessions and devices', () => {
  const clock = new ManualClock();
  let srv: TestServer;
  let other: TestServer;
  before(async () => {
    srv = await startTestServer({ clock });
    other = await startTestServer({ clock, shareStoreWith: srv });
    // Its tick (once a second, real time) would be counted with the request it lands in (statement counts below).
    await srv.app.searchBacklog.close();
  });
  after(async () => {
    await other?.close();
    await srv?.close();
  });

  it('lists the sign-ins newest first, with the device, ISO dates and which one is current', async () => {
    const u = await createUser(srv);
    clock.advance(1000);
    const laptop = await signIn(srv, u, 'Laptop/1.0');
    clock.advance(1000);
    const phone = await signIn(srv, u, 'Phone/2.0');
    const items = await sessions(srv, laptop);
    expect(items).to.have.length(3); // createUser's own sign-in too
    expect(items.map((s) => s.userAgent).slice(0, 2)).to.deep.equal(['Phone/2.0', 'Laptop/1.0']);
    expect(items.map((s) => s.current)).to.deep.equal([false, true, false]);
    expect(items[0]!.ip).to.equal('127.0.0.1');
    expect(new Date(items[0]!.createdAt).toISOString()).to.equal(items[0]!.createdAt);
    expect(Date.parse(items[0]!.createdAt)).to.be.greaterThan(Date.parse(items[1]!.createdAt));
    expect(Object.keys(items[0]!).sort()).to.deep.equal([
      'createdAt',
      'current',
      'id',
      'ip',
      'lastSeenAt',
      'userAgent',
    ]);
    expect((await sessions(srv, phone)).map((s) => s.current)).to.deep.equal([true, false, false]);
  });

  it('ends another session at its very next request, and keeps the others', async () => {
    const u = await createUser(srv);
    const phone = await signIn(srv, u, 'Phone/2.0');
    expect(await status(api(srv.url).as(phone).get('/api/auth/me'))).to.equal(200);
    const id = (await sessions(srv, phone)).find((s) => s.current)!.id;
    expect(await status(api(srv.url).as(u).delete(`/api/auth/sessions/${id}`))).to.equal(204);
    const refused = await api(srv.url).as(phone).get('/api/auth/me');
    expect(refused.status).to.equal(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('unauthenticated');
    expect(await status(api(srv.url).as(u).get('/api/auth/me'))).to.equal(200);
    expect((await sessions(srv, u.token)).map((s) => s.id)).not.to.include(id);
    expect(await status(api(srv.url).as(u).delete(`/api/auth/sessions/${id}`))).to.equal(404);
  });

  it("answers 404 for another user's session and leaves it alone", async () => {
    const u = await createUser(srv);
    const mallory = await createUser(srv);
    const [theirs] = await sessions(srv, u.token);
    const res = await api(srv.url).as(mallory).delete(`/api/auth/sessions/${theirs!.id}`);
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('not_found');
    expect(await status(api(srv.url).as(u).get('/api/auth/me'))).to.equal(200);
    expect(await status(api(srv.url).as(mallory).delete('/api/auth/sessions/not-an-id'))).to.equal(400);
  });

  it('refuses on one instance a session ended on another', async () => {
    const u = await createUser(srv);
    const tablet = await signIn(srv, u, 'Tablet/3.0');
    expect(await status(api(other.url).as(tablet).get('/api/auth/me'))).to.equal(200);
    const id = (await sessions(other, tablet)).find((s) => s.current)!.id;
    expect(await status(api(srv.url).as(u).delete(`/api/auth/sessions/${id}`))).to.equal(204);
    expect(await status(api(other.url).as(tablet).get('/api/auth/me'))).to.equal(401);
  });

  it('logout deletes the session row; signing out everywhere and a password change delete all rows', async () => {
    const u = await createUser(srv);
    const second = await signIn(srv, u, 'Second/1.0');
    expect(await status(api(srv.url).as(second).post('/api/auth/logout'))).to.equal(204);
    expect(await sessions(srv, u.token)).to.have.length(1);
    expect(await status(api(srv.url).as(second).get('/api/auth/me'))).to.equal(401);

    await signIn(srv, u, 'Third/1.0');
    const changed = await api(srv.url).as(u).post('/api/auth/password', {
      currentPassword: u.password,
      newPassword: 'another-password-1',
    });
    expect(changed.status).to.equal(200);
    const fresh = ((await changed.json()) as { token: string }).token;
    expect((await sessions(srv, fresh)).map((s) => s.current)).to.deep.equal([true]);

    expect(await status(api(srv.url).as(fresh).post('/api/auth/logout-all'))).to.equal(204);
    const rows = await srv.app.db.all('SELECT id FROM sessions WHERE user_id = $id', { id: u.id });
    expect(rows).to.have.length(0);
  });

  it('moves lastSeenAt at most once a minute', async () => {
    const u = await createUser(srv);
    const first = (await sessions(srv, u.token))[0]!;
    clock.advance(30_000);
    expect((await sessions(srv, u.token))[0]!.lastSeenAt).to.equal(first.lastSeenAt);
    clock.advance(MINUTE);
    await api(srv.url).as(u).get('/api/auth/me'); // seen now: more than a minute after sign-in
    const seen = (await sessions(srv, u.token))[0]!.lastSeenAt;
    expect(Date.parse(seen) - Date.parse(first.lastSeenAt)).to.equal(90_000);
    clock.advance(10_000);
    expect((await sessions(srv, u.token))[0]!.lastSeenAt).to.equal(seen);
  });

  it('checks the session in the query that reads the user: one statement, and one more a minute later', async () => {
    const u = await createUser(srv);
    const statements = async () => {
      const before = srv.app.db.stats().statements;
      expect(await status(api(srv.url).as(u).get('/api/auth/sessions'))).to.equal(200);
      return srv.app.db.stats().statements - before;
    };
    expect(await statements()).to.equal(2); // the session check, then the list
    clock.advance(MINUTE + 1);
    expect(await statements()).to.equal(3); // last_seen_at written once
    expect(await statements()).to.equal(2);
  });

  it('sweeps expired session rows in the daily clean-up', async () => {
    const u = await createUser(srv);
    const count = async () =>
      (await srv.app.db.all('SELECT id FROM sessions WHERE user_id = $id', { id: u.id })).length;
    expect(await count()).to.equal(1);
    clock.advance(srv.app.config.jwtTtlSeconds * 1000 + 1000);
    expect(await status(api(srv.url).as(u).get('/api/auth/me'))).to.equal(401);
    expect(await srv.app.jobs.fire('session-cleanup', new Date(clock.now()))).to.equal(true);
    expect(await count()).to.equal(0);
  });
});
