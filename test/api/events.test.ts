import { expect } from 'chai';
import { api, createUser } from '../support/http.js';
import { readEvents } from '../support/sse.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('GET /api/events (live folder updates)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('announces a change to the watched folder made by another user through a share', async () => {
    const alice = await createUser(srv);
    const bob = await createUser(srv);
    const a = api(srv.url).as(alice);
    const team = await a.mkdir(alice.rootId, 'Team');
    await a.post(`/api/nodes/${team.id}/shares`, { user: bob.username, permission: 'edit' });
    const res = await a.get(`/api/events?folder=${team.id}&interval=200`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/text\/event-stream/);
    const reading = readEvents(res, 2, 5000);
    await new Promise((r) => setTimeout(r, 300));
    await api(srv.url).as(bob).upload(team.id, 'new.txt', 'hi');
    const events = await reading;
    expect(events.map((e) => e.event)).to.deep.equal(['ready', 'changed']);
    expect(events[1]!.data.folderId).to.equal(team.id);
  });

  it('answers 404 for a folder the user cannot see, and 401 without a session', async () => {
    const alice = await createUser(srv);
    const bob = await createUser(srv);
    expect((await api(srv.url).as(bob).get(`/api/events?folder=${alice.rootId}`)).status).to.equal(404);
    expect((await api(srv.url).get(`/api/events?folder=${alice.rootId}`)).status).to.equal(401);
  });
});

describe('GET /api/events: streams per user are capped (EVENTS_MAX_STREAMS_PER_USER)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { EVENTS_MAX_STREAMS_PER_USER: '3' } });
  });
  after(() => srv.close());

  it('refuses the stream over the cap with 429 rate_limited and Retry-After; closing one frees a slot; other users are not affected', async () => {
    const alice = await createUser(srv);
    const bob = await createUser(srv);
    const open = (who: { token: string; rootId: string }, signal?: AbortSignal) =>
      fetch(`${srv.url}/api/events?folder=${who.rootId}`, {
        headers: { authorization: `Bearer ${who.token}` },
        signal,
      });
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const streams = [];
    for (const c of controllers) {
      const res = await open(alice, c.signal);
      expect(res.status).to.equal(200);
      streams.push(res);
    }
    const over = await open(alice);
    expect(over.status).to.equal(429);
    expect(over.headers.get('retry-after')).to.match(/^\d+$/);
    const body = await over.json();
    expect(body.error.code).to.equal('rate_limited');
    expect(body.error.message).to.match(/streams/);

    const other = new AbortController();
    expect((await open(bob, other.signal)).status, 'another user has slots of their own').to.equal(200);
    other.abort();

    controllers[0]!.abort();
    await streams[0]!.body?.cancel().catch(() => {});
    // The server notices the closed connection and gives the slot back.
    const deadline = Date.now() + 3000;
    let again: Response;
    const last = new AbortController();
    for (;;) {
      again = await open(alice, last.signal);
      if (again.status === 200 || Date.now() > deadline) break;
      await again.arrayBuffer();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(again.status).to.equal(200);
    last.abort();
    for (const c of controllers) c.abort();
  });
});
