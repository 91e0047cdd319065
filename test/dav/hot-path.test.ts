/**
 * The small requests a mounted drive lives on, counted in SQL statements (the executor counts every
 * statement it runs): a PROPFIND Depth 0 or a GET resolves the path, checks the cached credential,
 * access, locks, quota and dead properties in one query, two through "Shared with me" (issue 10).
 * And the credential cache that makes that possible: its entry is checked against the user row read
 * with the path, so a password change, a disable or a role change shows on the very next request.
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { send } from '../support/send.js';
import { skipOnPostgres } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from './support.js';

const SW = '/dav/Shared%20with%20me';
const ALLPROP = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';
const FOUR_KIB = Buffer.alloc(4096, 7);

describe('WebDAV: statements per small request', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser;

  before(async () => {
    srv = await startTestServer();
    [alice, bob] = [await createUser(srv, { prefix: 'alice' }), await createUser(srv, { prefix: 'bob' })];
    const a = api(srv.url).as(alice);
    const plans: NodeJson = await a.mkdir(alice.rootId, 'Plans');
    await a.upload(plans.id, 'four.bin', FOUR_KIB);
    await a.upload(alice.rootId, 'four.bin', FOUR_KIB);
    expect((await a.post(`/api/nodes/${plans.id}/shares`, { user: bob.username, permission: 'view' })).status).to.equal(
      201,
    );
    // A dead property, so allprop has one to read.
    const patch = await Dav.for(srv, alice).request('PROPPATCH', '/dav/four.bin', {
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>',
    });
    expect(patch.status).to.equal(207);
    // First requests pay the credential check (bcrypt, throttle counters): not what is measured here.
    for (const u of [alice, bob]) await (await Dav.for(srv, u).propfind('/dav/', '0')).arrayBuffer();
    // The search indexer's tick (once a second, one to four statements) would be counted with the
    // request it lands in: CI saw 7 statements for a 3-statement /api/auth/me.
    await srv.app.searchBacklog.close();
  });
  after(() => srv.close());

  /**
   * Statements the server ran to answer one request (nothing else runs: jobs are off, the search
   * indexer closed), on a database changed since the last request: what is cached while it is
   * unchanged must be read again.
   */
  async function statements(send: () => Promise<Response>, expectStatus: number): Promise<number> {
    await aCommit();
    return statementsWarm(send, expectStatus);
  }
  /** The same on a database unchanged since the last request. */
  async function statementsWarm(send: () => Promise<Response>, expectStatus: number): Promise<number> {
    const before = srv.app.db.stats().statements;
    const res = await send();
    await res.arrayBuffer();
    expect(res.status).to.equal(expectStatus);
    return srv.app.db.stats().statements - before;
  }
  /** Any commit that changes something changes the database's version (here a name nobody reads). */
  let commits = 0;
  const aCommit = () =>
    srv.app.db.run('UPDATE users SET display_name = $name WHERE id = $id', { name: `b${++commits}`, id: bob.id });
  const propfind0 = (u: TestUser, path: string) => () => Dav.for(srv, u).propfind(path, '0', ALLPROP);
  const get =
    (u: TestUser, path: string, headers: Record<string, string> = {}) =>
    () =>
      Dav.for(srv, u).request('GET', path, { headers });

  it("the owner's file: PROPFIND Depth 0 (allprop: dead properties, locks, quota) and GET in one statement each", async () => {
    const res = await Dav.for(srv, alice).propfind('/dav/four.bin', '0', ALLPROP);
    const xml = await res.text();
    expect(xml).to.contain('<colour xmlns="urn:z">blue</colour>').and.contain('<D:getcontentlength>4096<');
    expect(await statements(propfind0(alice, '/dav/four.bin'), 207)).to.equal(1);
    expect(await statements(propfind0(alice, '/dav/'), 207)).to.equal(1); // a folder: quota properties too
    expect(await statements(propfind0(alice, '/dav/Plans/four.bin'), 207)).to.equal(1);
    expect(await statements(get(alice, '/dav/four.bin'), 200)).to.equal(1);
    expect(await statements(get(alice, '/dav/four.bin', { range: 'bytes=0-9' }), 206)).to.equal(1);
    expect(
      await statements(get(alice, '/dav/four.bin', { 'if-none-match': await etagOf('/dav/four.bin') }), 304),
    ).to.equal(1);
    expect(await statements(get(alice, '/dav/missing.bin'), 404)).to.equal(1);
  });

  it('asked again while the database is unchanged: no query at all; after any commit, read again', async function () {
    skipOnPostgres(this, 'PostgreSQL has no cheap database version to check, so nothing is cached there');
    const requests = [propfind0(alice, '/dav/four.bin'), propfind0(alice, '/dav/'), get(alice, '/dav/four.bin')];
    for (const send of requests) {
      expect(await statements(send, send === requests[1] ? 207 : send === requests[0] ? 207 : 200)).to.equal(1);
      expect(await statementsWarm(send, send === requests[2] ? 200 : 207)).to.equal(0);
    }
    // A write in between (here a dead property set through WebDAV) is seen by the next read.
    const patch = await Dav.for(srv, alice).request('PROPPATCH', '/dav/four.bin', {
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:colour>green</Z:colour></D:prop></D:set></D:propertyupdate>',
    });
    expect(patch.status).to.equal(207);
    const res = await Dav.for(srv, alice).propfind('/dav/four.bin', '0', ALLPROP);
    expect(await res.text()).to.contain('<colour xmlns="urn:z">green</colour>');
    // Another user asking for the same path reads their own drive, not the cached answer.
    const bobs = await Dav.for(srv, bob).request('GET', '/dav/four.bin');
    await bobs.arrayBuffer();
    expect(bobs.status).to.equal(404);
  });

  it('a deep path (past the joined walk, 14 levels) in one statement too', async () => {
    const a = api(srv.url).as(alice);
    let parent = alice.rootId;
    const names: string[] = [];
    for (let i = 0; i < 14; i++) {
      parent = (await a.mkdir(parent, `level ${i}`)).id;
      names.push(encodeURIComponent(`level ${i}`));
    }
    await a.upload(parent, 'deep.bin', FOUR_KIB);
    const path = `/dav/${names.join('/')}/deep.bin`;
    const patch = await Dav.for(srv, alice).request('PROPPATCH', path, {
      headers: { 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:depth>14</Z:depth></D:prop></D:set></D:propertyupdate>',
    });
    expect(patch.status).to.equal(207);
    const res = await Dav.for(srv, alice).propfind(path, '0', ALLPROP);
    expect(await res.text()).to.contain('<depth xmlns="urn:z">14</depth>');
    expect(await statements(propfind0(alice, path), 207)).to.equal(1);
    expect(await statements(get(alice, path), 200)).to.equal(1);
    expect(await statements(get(alice, `/dav/${names.join('/')}/missing.bin`), 404)).to.equal(1);
  });

  it('a grantee\'s file through "Shared with me": two statements', async () => {
    expect(await statements(propfind0(bob, `${SW}/Plans/four.bin`), 207)).to.equal(2);
    expect(await statements(get(bob, `${SW}/Plans/four.bin`), 200)).to.equal(2);
    expect(await statements(propfind0(bob, `${SW}/Plans/`), 207)).to.equal(2);
  });

  it('a locked file costs what lockdiscovery needs on top (the lock-free case stays at one)', async () => {
    const lock = await Dav.for(srv, alice).request('LOCK', '/dav/four.bin', {
      headers: { 'content-type': 'application/xml', timeout: 'Second-60' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(lock.status).to.equal(200);
    const token = lock.headers.get('lock-token')!;
    const res = await Dav.for(srv, alice).propfind('/dav/four.bin', '0', ALLPROP);
    expect(await res.text()).to.contain(token.slice(1, -1));
    expect(await statements(propfind0(alice, '/dav/four.bin'), 207)).to.equal(2);
    expect(await statements(get(alice, '/dav/four.bin'), 200)).to.equal(1); // GET reads no locks
    const unlock = await Dav.for(srv, alice).request('UNLOCK', '/dav/four.bin', { headers: { 'lock-token': token } });
    expect(unlock.status).to.equal(204);
  });

  it('the JSON API checks a session in one statement (user row and revocation together)', async () => {
    // GET /api/auth/me: the session check, then the bin and version byte counts it shows.
    const me = () => api(srv.url).as(alice).get('/api/auth/me');
    expect(await statements(me, 200)).to.equal(3);
  });

  it('a small PUT (its Content-Length within the inline limit) is checked once, in its transaction', async () => {
    const put = (p: string) => () => Dav.for(srv, alice).request('PUT', p, { body: FOUR_KIB });
    const created = await statements(put('/dav/Plans/new.bin'), 201);
    const replaced = await statements(put('/dav/Plans/new.bin'), 204);
    // The path (1); in the transaction the folder, the name, the locks, the quota, the blob and its
    // bytes, the node, the folder's ETag and the activity row; a replacement also asks for its access
    // and decides the old content's fate. Before: the folder, the name, the locks and the room were
    // read once more before the body (17 and 20).
    expect([created, replaced]).to.deep.equal([11, 12]);
  });

  it('a chunked PUT whose X-Expected-Entity-Length understates its body: 400, nothing stored', async () => {
    const res = await send(srv.url, {
      method: 'PUT',
      path: '/dav/liar.bin',
      headers: { authorization: basic(alice.username, alice.password), 'x-expected-entity-length': '10' },
      body: Buffer.alloc(100_000, 1),
      chunked: true,
      chunkSize: 16 * 1024,
    });
    expect(res.status, res.text).to.equal(400);
    expect((await Dav.for(srv, alice).request('HEAD', '/dav/liar.bin')).status).to.equal(404);
  });

  async function etagOf(path: string): Promise<string> {
    const res = await Dav.for(srv, alice).request('HEAD', path);
    return res.headers.get('etag')!;
  }
});

describe('WebDAV: a cached credential ends on the very next request', () => {
  let srv: TestServer;
  let adminToken: string;

  before(async () => {
    srv = await startTestServer();
    adminToken = await srv.adminToken();
  });
  after(() => srv.close());

  const status = async (auth: string, method = 'PROPFIND', path = '/dav/') => {
    const res = await new Dav(srv.url, auth).request(method, path, { headers: { depth: '0' } });
    await res.arrayBuffer();
    return res.status;
  };

  it('after a password change: the old password is refused, the new one works', async () => {
    const u = await createUser(srv, { prefix: 'pw' });
    const old = basic(u.username, u.password);
    expect(await status(old)).to.equal(207);
    expect(await status(old)).to.equal(207); // now served from the cache
    const res = await api(srv.url)
      .as(u)
      .post('/api/auth/password', { currentPassword: u.password, newPassword: 'a-new-password-42' });
    expect(res.status).to.equal(200);
    expect(await status(old)).to.equal(401);
    expect(await status(basic(u.username, 'a-new-password-42'))).to.equal(207);
  });

  it('after a disable: refused at once, and again served once enabled', async () => {
    const u = await createUser(srv, { prefix: 'off' });
    const auth = basic(u.username, u.password);
    expect(await status(auth)).to.equal(207);
    expect(await status(auth)).to.equal(207);
    const admin = api(srv.url).as(adminToken);
    expect((await admin.patch(`/api/admin/users/${u.id}`, { disabled: true })).status).to.equal(200);
    expect(await status(auth)).to.equal(401);
    expect((await admin.patch(`/api/admin/users/${u.id}`, { disabled: false })).status).to.equal(200);
    expect(await status(auth)).to.equal(207);
  });

  it('after a role change: the next request acts with the new role (breaking a lock is for admins)', async () => {
    const owner = await createUser(srv, { prefix: 'owner' });
    const staff = await createUser(srv, { prefix: 'staff' });
    const a = api(srv.url).as(owner);
    const folder: NodeJson = await a.mkdir(owner.rootId, 'Team');
    await a.upload(folder.id, 'one.txt', '1');
    await a.upload(folder.id, 'two.txt', '2');
    expect(
      (await a.post(`/api/nodes/${folder.id}/shares`, { user: staff.username, permission: 'view' })).status,
    ).to.equal(201);
    const lockOf = async (name: string) => {
      const res = await Dav.for(srv, owner).request('LOCK', `/dav/Team/${name}`, {
        headers: { 'content-type': 'application/xml' },
        body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
      });
      expect(res.status).to.equal(200);
      return res.headers.get('lock-token')!;
    };
    const [one, two] = [await lockOf('one.txt'), await lockOf('two.txt')];
    const auth = basic(staff.username, staff.password);
    const unlock = async (name: string, token: string) => {
      const res = await new Dav(srv.url, auth).request('UNLOCK', `${SW}/Team/${name}`, {
        headers: { 'lock-token': token },
      });
      await res.arrayBuffer();
      return res.status;
    };
    const admin = api(srv.url).as(adminToken);
    expect(await status(auth)).to.equal(207); // the credential is cached from here on
    expect(await unlock('one.txt', one)).to.equal(403); // a viewer cannot break the owner's lock
    expect((await admin.patch(`/api/admin/users/${staff.id}`, { role: 'admin' })).status).to.equal(200);
    expect(await unlock('one.txt', one)).to.equal(204); // an admin can
    expect((await admin.patch(`/api/admin/users/${staff.id}`, { role: 'user' })).status).to.equal(200);
    expect(await unlock('two.txt', two)).to.equal(403); // and no longer, on the very next request
  });
});

describe('WebDAV: HEAD and conditional GETs answer from the metadata (ETag = content hash)', () => {
  let srv: TestServer;
  let alice: TestUser;
  let etag: string;

  before(async () => {
    srv = await startTestServer();
    alice = await createUser(srv, { prefix: 'alice' });
    // Large enough to live in the blob store, whatever the size limit for content kept in the database.
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    expect((await Dav.for(srv, alice).put('/dav/big.bin', big)).status).to.equal(201);
    etag = (await Dav.for(srv, alice).request('HEAD', '/dav/big.bin')).headers.get('etag')!;
    // Take the bytes away: whatever still answers did not open them.
    await srv.app.blobs.remove(etag.slice(1, -1));
  });
  after(() => srv.close());

  const send = async (method: string, headers: Record<string, string> = {}) => {
    const res = await Dav.for(srv, alice).request(method, '/dav/big.bin', { headers });
    await res.arrayBuffer();
    return res;
  };

  it('HEAD: status, length and validators without the bytes', async () => {
    const res = await send('HEAD');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-length')).to.equal(String(2 * 1024 * 1024));
    expect(res.headers.get('etag')).to.equal(etag);
    expect((await send('HEAD', { range: 'bytes=0-9' })).status).to.equal(206);
  });

  it('304, 412 and 416 without the bytes', async () => {
    expect((await send('GET', { 'if-none-match': etag })).status).to.equal(304);
    expect((await send('GET', { 'if-none-match': `"other", ${etag}` })).status).to.equal(304);
    expect((await send('GET', { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() })).status).to.equal(
      304,
    );
    expect((await send('GET', { 'if-match': '"other"' })).status).to.equal(412);
    expect((await send('GET', { range: 'bytes=99999999-' })).status).to.equal(416);
  });

  it('(and a GET that needs the bytes does open them: here they are gone)', async () => {
    expect((await send('GET')).status).to.equal(500);
    srv.errors.length = 0;
  });
});

describe('WebDAV: credentials not in the cache (first use, expired) are checked once for the requests that bring them', () => {
  let srv: TestServer;
  let alice: TestUser;

  before(async () => {
    srv = await startTestServer({ env: { DAV_AUTH_CACHE_TTL: '1s' } });
    alice = await createUser(srv, { prefix: 'alice' });
    await srv.app.searchBacklog.close(); // its tick would be counted with the requests (see above)
  });
  after(() => srv.close());

  /** Statements the server ran for `n` PROPFINDs sent at once, each answered 207. */
  async function statementsFor(n: number, auth = basic(alice.username, alice.password)): Promise<number> {
    const before = srv.app.db.stats().statements;
    const all = await Promise.all(Array.from({ length: n }, () => propfind(auth)));
    for (const r of all) {
      await r.arrayBuffer();
      expect(r.status).to.equal(207);
    }
    return srv.app.db.stats().statements - before;
  }
  const propfind = (auth: string) => new Dav(srv.url, auth).request('PROPFIND', '/dav/', { headers: { depth: '0' } });
  /** Statements `n` more lookups of an unchanged path cost: none where they are cached (SQLite: read-cache.ts). */
  const lookups = (n: number) => (srv.app.db.version ? 0 : n);
  const expire = () => new Promise((r) => setTimeout(r, 1100)); // past DAV_AUTH_CACHE_TTL: not a timing assertion

  it('eight requests at once after the expiry cost one full check (bcrypt, throttle) plus their lookups', async () => {
    await statementsFor(1);
    await expire();
    const alone = await statementsFor(1); // the full check, then the lookup
    // Cached again (the credential; on SQLite the lookup too, the database being unchanged).
    expect(await statementsFor(1)).to.equal(lookups(1));
    await expire();
    // Before: eight full checks (and eight bcrypts) at once, which held a client's requests past 2 s.
    // The first lookup is in `alone`; the other seven share it where lookups are cached.
    expect(await statementsFor(8)).to.equal(alone + lookups(7));
  });

  it('a first burst of 40 requests with new good credentials: one full check, no throttle (was 429 for some)', async () => {
    const bob = await createUser(srv, { prefix: 'bob' });
    const alone = await statementsFor(1, basic(bob.email, bob.password)); // another login string: not cached
    await expire();
    expect(await statementsFor(40, basic(bob.username, bob.password))).to.equal(alone + lookups(39));
  });

  it('wrong passwords sent at once are still each checked and counted', async () => {
    const wrong = basic(alice.username, 'not-the-password');
    const res = await Promise.all(
      Array.from({ length: 4 }, () =>
        propfind(wrong).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(res).to.deep.equal([401, 401, 401, 401]);
    const failed = await api(srv.url).as(alice).get('/api/activity?action=auth.login_failed');
    expect(failed.status).to.equal(200);
    expect(((await failed.json()) as { items: unknown[] }).items.length).to.equal(4);
  });
});
