/** App passwords: the API, WebDAV with one, read-only scope, revocation at once, and what they cannot open. */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { createAppPassword, signIn } from '../support/accounts.js';
import { api, createUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from '../dav/support.js';

describe('app passwords', function () {
  let srv: TestServer;
  const clock = new ManualClock();
  before(async () => {
    srv = await startTestServer({ clock });
  });
  after(() => srv.close());

  describe('GET|POST|DELETE /api/auth/app-passwords', () => {
    it('creates one (the password shown once), lists it without a secret, deletes it', async () => {
      const u = await createUser(srv);
      const as = api(srv.url).as(u);
      const created = await createAppPassword(srv, u, 'read', 'Laptop rclone');
      expect(created).to.have.keys('id', 'name', 'scope', 'password');
      expect(created.name).to.equal('Laptop rclone');
      expect(created.scope).to.equal('read');
      // Six groups of five from a 31-character alphabet: about 148 random bits.
      expect(created.password).to.match(/^[a-z2-9]{5}(-[a-z2-9]{5}){5}$/);

      const list = await as.json<{ items: Record<string, unknown>[] }>(as.get('/api/auth/app-passwords'));
      expect(list.items).to.have.length(1);
      expect(list.items[0]).to.deep.equal({
        id: created.id,
        name: 'Laptop rclone',
        scope: 'read',
        createdAt: new Date(clock.now()).toISOString(),
        lastUsedAt: null,
        lastUsedIp: null,
      });
      expect(JSON.stringify(list)).not.to.contain(created.password);

      expect((await as.delete(`/api/auth/app-passwords/${created.id}`)).status).to.equal(204);
      expect((await as.json(as.get('/api/auth/app-passwords'))).items).to.deep.equal([]);
      expect((await as.delete(`/api/auth/app-passwords/${created.id}`)).status).to.equal(404);
    });

    it("answers 404 for another user's app password, which keeps working", async () => {
      const owner = await createUser(srv);
      const other = await createUser(srv);
      const created = await createAppPassword(srv, owner);
      const res = await api(srv.url).as(other).delete(`/api/auth/app-passwords/${created.id}`);
      expect(res.status).to.equal(404);
      expect((await res.json()).error.code).to.equal('not_found');
      const dav = new Dav(srv.url, basic(owner.username, created.password));
      expect((await dav.propfind('/dav/', '0')).status).to.equal(207);
    });

    it('refuses a bad scope or an empty name with 400', async () => {
      const u = await createUser(srv);
      const as = api(srv.url).as(u);
      for (const body of [
        { name: 'x', scope: 'write' },
        { name: '', scope: 'full' },
        { name: '   ', scope: 'full' },
      ]) {
        const res = await as.post('/api/auth/app-passwords', body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect((await res.json()).error.code).to.equal('invalid_input');
      }
    });

    it('needs a session', async () => {
      expect((await api(srv.url).get('/api/auth/app-passwords')).status).to.equal(401);
    });
  });

  describe('WebDAV Basic with an app password', () => {
    it('works with the username or the email, and notes the last use', async () => {
      const u = await createUser(srv);
      const { id, password } = await createAppPassword(srv, u);
      const byName = new Dav(srv.url, basic(u.username, password));
      expect((await byName.put('/dav/a.txt', 'hello')).status).to.equal(201);
      const byEmail = new Dav(srv.url, basic(u.email.toUpperCase(), password));
      const got = await byEmail.request('GET', '/dav/a.txt');
      expect(got.status).to.equal(200);
      expect(await got.text()).to.equal('hello');

      const [item] = (await api(srv.url).as(u).json(api(srv.url).as(u).get('/api/auth/app-passwords'))).items;
      expect(item.id).to.equal(id);
      expect(item.lastUsedAt).to.equal(new Date(clock.now()).toISOString());
      expect(item.lastUsedIp).to.be.a('string').and.not.equal('');
      const activity = await api(srv.url)
        .as(u)
        .json(api(srv.url).as(u).get('/api/activity?action=app_password.first_used'));
      expect(activity.items).to.have.length(1);
    });

    it('writes the last use at most once a minute', async () => {
      const u = await createUser(srv);
      const as = api(srv.url).as(u);
      const kept = await createAppPassword(srv, u);
      const dav = new Dav(srv.url, basic(u.username, kept.password));
      const lastUse = async () =>
        (await as.json(as.get('/api/auth/app-passwords'))).items.find((i: { id: string }) => i.id === kept.id)
          .lastUsedAt;
      // Deleting another app password makes the cached credential check in full again (a use is noted there).
      const recheck = async () => {
        const spare = await createAppPassword(srv, u);
        expect((await as.delete(`/api/auth/app-passwords/${spare.id}`)).status).to.equal(204);
        expect((await dav.propfind('/dav/', '0')).status).to.equal(207);
      };
      expect((await dav.propfind('/dav/', '0')).status).to.equal(207);
      const first = new Date(clock.now()).toISOString();
      expect(await lastUse()).to.equal(first);
      clock.advance(30_000);
      await recheck();
      expect(await lastUse()).to.equal(first);
      clock.advance(31_000);
      await recheck();
      expect(await lastUse()).to.equal(new Date(clock.now()).toISOString());
    });

    it('a read app password: GET and PROPFIND work, every write method answers 403 and changes nothing', async () => {
      const u = await createUser(srv);
      const full = new Dav(srv.url, basic(u.username, (await createAppPassword(srv, u, 'full')).password));
      expect((await full.put('/dav/keep.txt', 'kept')).status).to.equal(201);
      expect(await full.mkcol('/dav/folder')).to.equal(201);
      const ro = new Dav(srv.url, basic(u.username, (await createAppPassword(srv, u, 'read')).password));

      expect((await ro.propfind('/dav/', '1')).status).to.equal(207);
      const get = await ro.request('GET', '/dav/keep.txt');
      expect(get.status).to.equal(200);
      expect(await get.text()).to.equal('kept');
      expect((await ro.request('HEAD', '/dav/keep.txt')).status).to.equal(200);

      const dest = { destination: `${srv.url}/dav/moved.txt` };
      const lockBody =
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
      const writes: [string, string, { headers?: Record<string, string>; body?: string }][] = [
        ['PUT', '/dav/keep.txt', { body: 'overwritten' }],
        ['PUT', '/dav/new.txt', { body: 'new' }],
        ['DELETE', '/dav/keep.txt', {}],
        ['MKCOL', '/dav/other', {}],
        ['MOVE', '/dav/keep.txt', { headers: dest }],
        ['COPY', '/dav/keep.txt', { headers: dest }],
        [
          'PROPPATCH',
          '/dav/keep.txt',
          {
            headers: { 'content-type': 'application/xml' },
            body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>',
          },
        ],
        ['LOCK', '/dav/keep.txt', { headers: { 'content-type': 'application/xml' }, body: lockBody }],
        ['UNLOCK', '/dav/keep.txt', { headers: { 'lock-token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' } }],
      ];
      for (const [method, path, opts] of writes) {
        const res = await ro.request(method, path, opts);
        expect(res.status, `${method} ${path}`).to.equal(403);
        expect(await res.text(), method).to.contain('read-only');
      }
      const names = (await api(srv.url).as(u).children(u.rootId)).map((n) => n.name).sort();
      expect(names).to.deep.equal(['folder', 'keep.txt']);
      const after = await full.request('GET', '/dav/keep.txt');
      expect(await after.text()).to.equal('kept');
      const props = await srv.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM properties');
      const locks = await srv.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM locks');
      expect([Number(props?.n), Number(locks?.n)]).to.deep.equal([0, 0]);
    });

    it('revoking ends access at the next request, though the credential is cached', async () => {
      const u = await createUser(srv);
      const created = await createAppPassword(srv, u);
      const dav = new Dav(srv.url, basic(u.username, created.password));
      // Cached by these successful requests.
      expect((await dav.propfind('/dav/', '0')).status).to.equal(207);
      expect((await dav.propfind('/dav/', '0')).status).to.equal(207);
      expect((await api(srv.url).as(u).delete(`/api/auth/app-passwords/${created.id}`)).status).to.equal(204);
      const res = await dav.propfind('/dav/', '0');
      expect(res.status).to.equal(401);
      // The session that deleted it and the main password are untouched.
      expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(200);
      expect((await Dav.for(srv, u).propfind('/dav/', '0')).status).to.equal(207);
    });

    it('cannot sign in to the console or the JSON API', async () => {
      const u = await createUser(srv);
      const { password } = await createAppPassword(srv, u);
      const res = await signIn(srv, u.username, password);
      expect(res.status).to.equal(401);
      expect((await res.json()).error.code).to.equal('unauthenticated');
      const basicApi = await fetch(`${srv.url}/api/auth/me`, {
        headers: { authorization: basic(u.username, password) },
      });
      expect(basicApi.status).to.equal(401);
    });
  });
});

describe('app password guesses are throttled like passwords', function () {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { LOGIN_MAX_FAILURES: '3' } });
  });
  after(() => srv.close());

  it('counts each wrong secret before checking it: after the limit even the right app password gets 429', async () => {
    const u = await createUser(srv);
    const { password } = await createAppPassword(srv, u);
    for (let i = 0; i < 3; i++) {
      const wrong = new Dav(srv.url, basic(u.username, `${password.slice(0, -1)}${i === 0 ? 'x' : 'y'}${i}`));
      expect((await wrong.propfind('/dav/', '0')).status).to.equal(401);
    }
    const right = new Dav(srv.url, basic(u.username, password));
    const res = await right.propfind('/dav/', '0');
    expect(res.status).to.equal(429);
    expect(res.headers.get('retry-after')).to.match(/^\d+$/);
  });
});
