/**
 * Password guessing under concurrency: every door that checks a password counts the attempt
 * before bcrypt runs (reserve, then settle), so a parallel burst gets exactly the budget and no
 * more; the account budget belongs to the account, not to the login string; and bcrypt runs off
 * the event loop, so a burst does not slow other requests.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect } from 'chai';
import { basic } from '../dav/support.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MAX = 10; // LOGIN_MAX_FAILURES
const BURST = 60;

/** Status counts of a burst, e.g. {401: 10, 429: 50}. */
async function burst(n: number, send: (i: number) => Promise<Response>): Promise<Record<number, number>> {
  const responses = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
  const counts: Record<number, number> = {};
  for (const r of responses) {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (r.status === 429) expect(Number(r.headers.get('retry-after'))).to.be.greaterThan(0);
    await r.arrayBuffer();
  }
  return counts;
}

const signIn = (url: string, username: string, password: string) =>
  api(url).post('/api/auth/login', { username, password });

describe('throttling: reserve before bcrypt, settle after', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { LOGIN_MAX_FAILURES: String(MAX) } });
  });
  after(() => srv.close());

  it(`lets exactly ${MAX} of ${BURST} parallel wrong passwords reach the check; the rest, and then the right password, get 429`, async () => {
    const u = await createUser(srv);
    expect(await burst(BURST, (i) => signIn(srv.url, u.username, `wrong-${i}`))).to.deep.equal({
      401: MAX,
      429: BURST - MAX,
    });
    const locked = await signIn(srv.url, u.username, u.password);
    expect(locked.status).to.equal(429);
    expect((await locked.json()).error.code).to.equal('rate_limited');
  });

  it('limits an unknown login exactly like a known one', async () => {
    expect(await burst(BURST, (i) => signIn(srv.url, 'nobody-by-this-name', `wrong-${i}`))).to.deep.equal({
      401: MAX,
      429: BURST - MAX,
    });
  });

  it('gives the username and the email (any case) one budget: the account', async () => {
    const u = await createUser(srv);
    for (let i = 0; i < MAX / 2; i++) expect((await signIn(srv.url, u.username, `wrong-${i}`)).status).to.equal(401);
    for (let i = 0; i < MAX / 2; i++)
      expect((await signIn(srv.url, u.email.toUpperCase(), `wrong-e${i}`)).status).to.equal(401);
    expect((await signIn(srv.url, u.username.toUpperCase(), u.password)).status).to.equal(429);
    expect((await signIn(srv.url, u.email, u.password)).status).to.equal(429);
  });

  it("clears the account's count on a correct sign-in", async () => {
    const u = await createUser(srv);
    for (let i = 0; i < MAX - 1; i++) expect((await signIn(srv.url, u.username, `wrong-${i}`)).status).to.equal(401);
    expect((await signIn(srv.url, u.email, u.password)).status).to.equal(200);
    expect(await burst(BURST, (i) => signIn(srv.url, u.username, `again-${i}`))).to.deep.equal({
      401: MAX,
      429: BURST - MAX,
    });
  });

  it('throttles a burst of link-password guesses per link', async () => {
    const owner = await createUser(srv);
    const a = api(srv.url).as(owner);
    const folder = await a.mkdir(owner.rootId, 'Guarded');
    const link = await a.json(a.post(`/api/nodes/${folder.id}/links`, { permission: 'view', password: 'open sesame' }));
    const visitor = api(srv.url);
    expect(
      await burst(BURST, (i) => visitor.get(`/api/public/${link.token}`, { 'x-link-password': `guess-${i}` })),
    ).to.deep.equal({ 401: MAX, 429: BURST - MAX });
    expect((await visitor.get(`/api/public/${link.token}`, { 'x-link-password': 'open sesame' })).status).to.equal(429);
    const unlock = await visitor.post(`/api/public/${link.token}/unlock`, { password: 'open sesame' });
    expect(unlock.status).to.equal(429);
  });

  it("throttles a burst of wrong current passwords on a password change, on the account's sign-in budget", async () => {
    const u = await createUser(srv);
    const a = api(srv.url).as(u);
    const counts = await burst(BURST, (i) =>
      a.post('/api/auth/password', { currentPassword: `wrong-${i}`, newPassword: 'a new secret 1' }),
    );
    expect(counts).to.deep.equal({ 403: MAX, 429: BURST - MAX });
    expect(
      (await a.post('/api/auth/password', { currentPassword: u.password, newPassword: 'a new secret 1' })).status,
    ).to.equal(429);
    expect((await signIn(srv.url, u.username, u.password)).status).to.equal(429);
  });

  it('throttles a burst of wrong WebDAV Basic passwords (the same account budget as sign-in)', async () => {
    const u = await createUser(srv);
    const propfind = (password: string) =>
      fetch(`${srv.url}/dav/`, {
        method: 'PROPFIND',
        headers: { authorization: basic(u.username, password), depth: '0' },
      });
    expect(await burst(BURST, (i) => propfind(`wrong-${i}`))).to.deep.equal({ 401: MAX, 429: BURST - MAX });
    expect((await propfind(u.password)).status).to.equal(429);
    expect((await signIn(srv.url, u.email, u.password)).status).to.equal(429);
  });
});

describe('throttling: the per-IP budget', () => {
  let srv: TestServer;
  let u: TestUser;
  before(async () => {
    srv = await startTestServer({ env: { LOGIN_MAX_FAILURES_PER_IP: '5' } });
    u = await createUser(srv); // one sign-in from this IP
  });
  after(() => srv.close());

  it('gives a correct sign-in its attempt back, and counts a parallel burst across accounts before checking', async () => {
    for (let i = 0; i < 12; i++) expect((await signIn(srv.url, u.username, u.password)).status).to.equal(200);
    expect(await burst(BURST, (i) => signIn(srv.url, `someone-${i}`, 'wrong-password'))).to.deep.equal({
      401: 5,
      429: BURST - 5,
    });
    expect((await signIn(srv.url, u.username, u.password)).status).to.equal(429);
  });
});

describe('throttling: bcrypt runs off the event loop', function () {
  this.timeout(120_000);
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { BCRYPT_COST: '12', LOGIN_MAX_FAILURES: String(MAX) } });
  });
  after(() => srv.close());

  it(`keeps /api/health under 50 ms at p99 during a ${BURST}-attempt burst at bcrypt cost 12`, async () => {
    const u = await createUser(srv);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const health: number[] = [];
    let done = false;
    loop.enable();
    const started = performance.now();
    const attempts = burst(BURST, (i) => signIn(srv.url, u.username, `wrong-${i}`)).finally(() => (done = true));
    while (!done) {
      const t = performance.now();
      const res = await fetch(`${srv.url}/api/health`);
      await res.arrayBuffer();
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    const counts = await attempts;
    const burstMs = performance.now() - started;
    loop.disable();
    const sorted = [...health].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
    const loopP99 = loop.percentile(99) / 1e6;
    console.log(
      `      burst ${burstMs.toFixed(0)} ms; /api/health n=${health.length} p50 ${sorted[sorted.length >> 1]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; event-loop delay p99 ${loopP99.toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
    );
    // Ten cost-12 compares take ~2.5 s of CPU: the burst must last long enough to have been measured.
    expect(health.length).to.be.greaterThan(20);
    expect(p99).to.be.lessThan(50);
    expect(counts).to.deep.equal({ 401: MAX, 429: BURST - MAX });
  });
});
