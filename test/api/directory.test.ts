/**
 * The user directory behind the share dialog (GET /api/users/lookup): what one user can learn
 * about the others. Non-admins get usernames for prefixes and an email only when they typed the
 * whole address; DIRECTORY=exact turns prefix search off; admins keep full search.
 */
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../config/index.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Entry {
  id: string;
  username: string;
  email?: string;
}

async function addUser(srv: TestServer, username: string, email: string): Promise<string> {
  const res = await api(srv.url)
    .as(await srv.adminToken())
    .post('/api/admin/users', { username, email, password: 'a long password' });
  if (res.status !== 201) throw new Error(`create ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { user: { id: string } }).user.id;
}

const lookup = async (srv: TestServer, who: TestUser | string, q: string): Promise<Entry[]> => {
  const a = api(srv.url).as(who);
  const res = await a.get(`/api/users/lookup?q=${encodeURIComponent(q)}`);
  expect(res.status).to.equal(200);
  return ((await res.json()) as { items: Entry[] }).items;
};

describe('user directory (DIRECTORY=all, the default)', () => {
  let srv: TestServer;
  let me: TestUser;
  let carolId: string, zedId: string;
  before(async () => {
    srv = await startTestServer();
    me = await createUser(srv);
    carolId = await addUser(srv, 'carol', 'carol.jones@corp.example');
    zedId = await addUser(srv, 'zed', 'Carla.Private@corp.example');
    const gone = await addUser(srv, 'carolyn', 'carolyn@corp.example');
    await api(srv.url)
      .as(await srv.adminToken())
      .patch(`/api/admin/users/${gone}`, { disabled: true });
  });
  after(() => srv.close());

  it('gives a non-admin usernames for a prefix, without emails (and never disabled users)', async () => {
    expect(await lookup(srv, me, 'car')).to.deep.equal([{ id: carolId, username: 'carol', displayName: null }]);
  });

  it('never matches an email prefix for a non-admin', async () => {
    expect(await lookup(srv, me, 'carla')).to.deep.equal([]);
    expect(await lookup(srv, me, 'carla.private@corp.exampl')).to.deep.equal([]);
    expect(await lookup(srv, me, 'corp.example')).to.deep.equal([]);
  });

  it('returns the email only when the whole address was typed (any case)', async () => {
    expect(await lookup(srv, me, 'CARLA.private@Corp.Example')).to.deep.equal([
      { id: zedId, username: 'zed', displayName: null, email: 'Carla.Private@corp.example' },
    ]);
    expect(await lookup(srv, me, 'carol.jones@corp.example')).to.deep.equal([
      { id: carolId, username: 'carol', displayName: null, email: 'carol.jones@corp.example' },
    ]);
  });

  it('finds a one-character username only when typed whole', async () => {
    const oneId = await addUser(srv, 'q', 'q@corp.example');
    expect(await lookup(srv, me, 'Q')).to.deep.equal([{ id: oneId, username: 'q', displayName: null }]);
  });

  it('gives admins prefix search on usernames and emails, with emails', async () => {
    const items = await lookup(srv, await srv.adminToken(), 'carla');
    expect(items).to.deep.equal([
      { id: zedId, username: 'zed', displayName: null, email: 'Carla.Private@corp.example' },
    ]);
    expect((await lookup(srv, await srv.adminToken(), 'car')).map((u) => u.email)).to.deep.equal([
      'carol.jones@corp.example',
      'Carla.Private@corp.example',
    ]);
  });

  it('never returns the caller', async () => {
    expect(await lookup(srv, me, me.username)).to.deep.equal([]);
    expect(await lookup(srv, me, me.email)).to.deep.equal([]);
  });
});

describe('user directory (DIRECTORY=exact)', () => {
  let srv: TestServer;
  let me: TestUser;
  let carolId: string;
  before(async () => {
    srv = await startTestServer({ env: { DIRECTORY: 'exact' } });
    me = await createUser(srv);
    carolId = await addUser(srv, 'carol', 'carol.jones@corp.example');
  });
  after(() => srv.close());

  it('offers no prefix search to non-admins', async () => {
    expect(await lookup(srv, me, 'car')).to.deep.equal([]);
    expect(await lookup(srv, me, 'caro')).to.deep.equal([]);
  });

  it('finds a user by the whole username (no email) or the whole email (with it)', async () => {
    expect(await lookup(srv, me, 'Carol')).to.deep.equal([{ id: carolId, username: 'carol', displayName: null }]);
    expect(await lookup(srv, me, 'carol.jones@corp.example')).to.deep.equal([
      { id: carolId, username: 'carol', displayName: null, email: 'carol.jones@corp.example' },
    ]);
  });

  it('still gives admins full prefix search', async () => {
    expect(await lookup(srv, await srv.adminToken(), 'car')).to.deep.equal([
      { id: carolId, username: 'carol', displayName: null, email: 'carol.jones@corp.example' },
    ]);
  });

  it('refuses an unknown DIRECTORY value at start-up', () => {
    expect(() => loadConfig({ DIRECTORY: 'everyone' })).to.throw(ConfigError, /DIRECTORY/);
  });
});
