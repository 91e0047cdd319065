/**
 * Several instances on one store — two servers on two ports sharing a database and a blob store, as
 * behind a load balancer — behave as one: what one instance decides (a lock, a share, a password
 * change, a throttle count, a session) holds on the other at once, live updates reach a browser
 * whichever instance made the change, and a background job's run happens on exactly one of them.
 */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { basic, Dav, davUser } from '../dav/support.js';
import { lock, status } from '../dav/lock-requests.js';
import { api, createUser } from '../support/http.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { readEvents } from '../support/sse.js';
import { expectFsckClean } from '../support/store.js';
import { skipOnSqlite } from '../support/database.js';

const MAX_FAILURES = 10;
const DAY_MS = 24 * 3600 * 1000;

describe('two instances on one store', () => {
  let a: TestServer;
  let b: TestServer;
  const clock = new ManualClock();
  before(async () => {
    const env = { LOGIN_MAX_FAILURES: String(MAX_FAILURES) };
    a = await startTestServer({ env, clock });
    b = await startTestServer({ env, clock, shareStoreWith: a });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('share one token secret: a session issued by A is valid on B', async () => {
    const u = await createUser(a);
    const me = await api(b.url).as(u).get('/api/auth/me');
    expect(me.status).to.equal(200);
    expect(((await me.json()) as { user: { id: string } }).user.id).to.equal(u.id);
  });

  it('enforce a WebDAV lock taken through A on B: 423 without its token, accepted with it in If:', async () => {
    const u = await davUser(a);
    expect(await status(Dav.for(a, u).request('PUT', '/dav/doc.txt', { body: 'v1' }))).to.equal(201);
    const taken = await lock(Dav.for(a, u), '/dav/doc.txt');
    expect(taken.status).to.equal(200);
    const onB = Dav.for(b, u);
    expect(await status(onB.request('PUT', '/dav/doc.txt', { body: 'v2' }))).to.equal(423);
    expect(
      await status(onB.request('PUT', '/dav/doc.txt', { body: 'v2', headers: { if: `(<${taken.token}>)` } })),
    ).to.equal(204);
    expect(await (await Dav.for(a, u).request('GET', '/dav/doc.txt')).text()).to.equal('v2');
  });

  it('show a share created on A in the grantee\'s "Shared with me" on B at once', async () => {
    const owner = await davUser(a);
    const grantee = await davUser(a);
    const o = api(a.url).as(owner);
    const team = await o.mkdir(owner.rootId, 'Team');
    await o.upload(team.id, 'plan.txt', 'the plan');
    expect(
      (await o.post(`/api/nodes/${team.id}/shares`, { user: grantee.username, permission: 'view' })).status,
    ).to.equal(201);
    const got = await Dav.for(b, grantee).request('GET', '/dav/Shared%20with%20me/Team/plan.txt');
    expect(got.status).to.equal(200);
    expect(await got.text()).to.equal('the plan');
  });

  it('revoke on B the sessions and the cached WebDAV credential of a password changed on A', async () => {
    const u = await davUser(a);
    const onB = Dav.for(b, u);
    expect(await status(onB.request('PROPFIND', '/dav/', { headers: { depth: '0' } }))).to.equal(207); // cached on B
    expect((await api(b.url).as(u).get('/api/auth/me')).status).to.equal(200);

    const changed = await api(a.url).as(u).post('/api/auth/password', {
      currentPassword: u.password,
      newPassword: 'a-new-password-42',
    });
    expect(changed.status).to.equal(200);

    expect(await status(onB.request('PROPFIND', '/dav/', { headers: { depth: '0' } }))).to.equal(401);
    expect((await api(b.url).as(u).get('/api/auth/me')).status).to.equal(401);
    const fresh = new Dav(b.url, basic(u.username, 'a-new-password-42'));
    expect(await status(fresh.request('PROPFIND', '/dav/', { headers: { depth: '0' } }))).to.equal(207);
  });

  it(`count wrong passwords sent to A and B against one budget: after ${MAX_FAILURES}, both refuse even the right one`, async () => {
    const u = await createUser(a);
    const tries = Array.from({ length: MAX_FAILURES }, (_, i) =>
      api(i % 2 === 0 ? a.url : b.url).post('/api/auth/login', { username: u.username, password: `wrong-${i}` }),
    );
    const statuses = await Promise.all(tries.map(async (t) => (await t).status));
    expect(statuses).to.deep.equal(Array(MAX_FAILURES).fill(401));
    for (const srv of [a, b]) {
      const right = await api(srv.url).post('/api/auth/login', { username: u.username, password: u.password });
      expect(right.status).to.equal(429);
    }
    const dav = await new Dav(b.url, basic(u.username, u.password)).request('PROPFIND', '/dav/', {
      headers: { depth: '0' },
    });
    expect(dav.status).to.equal(429);
  });

  it('deliver to a live-update stream on B a change made through A within 2 s', async () => {
    const u = await createUser(a);
    const folder = await api(a.url).as(u).mkdir(u.rootId, 'Live');
    const res = await api(b.url).as(u).get(`/api/events?folder=${folder.id}&interval=500`);
    expect(res.status).to.equal(200);
    const reading = readEvents(res, 2, 4000);
    await new Promise((r) => setTimeout(r, 200));
    const sent = Date.now();
    await api(a.url).as(u).upload(folder.id, 'new.txt', 'hello');
    const events = await reading;
    expect(events.map((e) => e.event)).to.deep.equal(['ready', 'changed']);
    expect(Date.now() - sent).to.be.below(2000);
  });

  it('keep the quota under 30 parallel 1 MiB uploads spread over both: never above it, 201s and 507s add up, fsck clean', async () => {
    const MiB = 1024 * 1024;
    const u = await davUser(a, { quotaBytes: 10 * MiB });
    const body = Buffer.alloc(MiB, 7);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await Dav.for(i % 2 === 0 ? a : b, u).request('PUT', `/dav/f${i}.bin`, { body });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const created = statuses.filter((s) => s === 201).length;
    expect(
      statuses.filter((s) => s !== 201 && s !== 507),
      String(statuses),
    ).to.deep.equal([]);
    expect(created).to.be.at.least(1).and.at.most(10);
    const me = (await (await api(b.url).as(u).get('/api/auth/me')).json()) as { user: { usedBytes: number } };
    expect(me.user.usedBytes).to.equal(created * MiB);
    const listing = await (await Dav.for(a, u).propfind('/dav/', '1')).text();
    expect(listing.match(/<D:href>\/dav\/f\d+\.bin<\/D:href>/g) ?? []).to.have.length(created);
    await expectFsckClean(a);
  });

  it('on PostgreSQL, wake a stream on B at once by the database announcing the change made through A (its poll is a minute)', async function () {
    skipOnSqlite(this, 'announcements are PostgreSQL LISTEN/NOTIFY; on SQLite the stream polls (the test above)');
    const u = await createUser(a);
    const folder = await api(a.url).as(u).mkdir(u.rootId, 'Announced');
    const res = await api(b.url).as(u).get(`/api/events?folder=${folder.id}&interval=60000`);
    expect(res.status).to.equal(200);
    const reading = readEvents(res, 2, 4000);
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    await Dav.for(a, { username: u.username, password: u.password }).request('PUT', '/dav/Announced/x.txt', {
      body: 'via WebDAV on A',
    });
    const events = await reading;
    expect(events.map((e) => e.event)).to.deep.equal(['ready', 'changed']);
    expect(Date.now() - sent).to.be.below(2000);

    // The listening connections cut (a database restart, a network blip): they come back and listen again.
    const cut = await a.app.db.all(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN coffer_folders%'`,
    );
    expect(cut.length).to.be.at.least(2); // one per instance
    await new Promise((r) => setTimeout(r, 1500));
    const again = await api(b.url).as(u).get(`/api/events?folder=${folder.id}&interval=60000`);
    const more = readEvents(again, 2, 4000);
    await new Promise((r) => setTimeout(r, 300));
    await api(a.url).as(u).upload(folder.id, 'after-the-cut.txt', 'again');
    expect((await more).map((e) => e.event)).to.deep.equal(['ready', 'changed']);
  });

  it('run a job that falls due on both exactly once (the bin purge), and the next run again once', async () => {
    const u = await createUser(a);
    const o = api(a.url).as(u);
    const file = await o.upload(u.rootId, 'old.txt', 'expired soon');
    expect((await o.delete(`/api/nodes/${file.id}`)).status).to.equal(204);
    clock.advance(31 * DAY_MS);
    const due = new Date(clock.now());
    const ran = await Promise.all([a.app.jobs.fire('trash-purge', due), b.app.jobs.fire('trash-purge', due)]);
    expect(ran.filter(Boolean)).to.have.length(1);
    // A later firing of the same run (a late clock) is refused; the next run is claimed once again.
    expect(await b.app.jobs.fire('trash-purge', due)).to.equal(false);
    const next = new Date(clock.now() + DAY_MS);
    const again = await Promise.all([b.app.jobs.fire('trash-purge', next), a.app.jobs.fire('trash-purge', next)]);
    expect(again.filter(Boolean)).to.have.length(1);
    const session = await login(b.url, u.username, u.password); // the first one expired with the days passed
    const bin = (await (await api(b.url).as(session).get('/api/trash')).json()) as { items: unknown[] };
    expect(bin.items).to.deep.equal([]);
  });
});
