import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { api, createUser, type TestUser } from '../support/http.js';
import { login, startTestServer, type TestServer } from '../support/server.js';

describe('accounts and sessions', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { OPEN_REGISTRATION: 'true' } });
  });
  after(() => srv.close());

  it('registers, signs in, reads me, and signs out (the token is refused afterwards)', async () => {
    const a = api(srv.url);
    const reg = await a.post('/api/auth/register', {
      username: 'reggie',
      email: 'reggie@example.test',
      password: 'correct horse',
    });
    expect(reg.status).to.equal(201);
    const { token } = await login(srv.url, 'reggie', 'correct horse');
    const me = await a.as(token).json(a.as(token).get('/api/auth/me'));
    expect(me.user).to.include({ username: 'reggie', role: 'user', usedBytes: 0, trashBytes: 0 });
    expect(me.user.rootId).to.be.a('string');
    expect((await a.as(token).post('/api/auth/logout')).status).to.equal(204);
    const after = await a.as(token).get('/api/auth/me');
    expect(after.status).to.equal(401);
    expect((await after.json()).error.code).to.equal('unauthenticated');
  });

  it('signs in with the email too, and answers unknown user and wrong password the same way', async () => {
    const u = await createUser(srv);
    expect((await login(srv.url, u.email, u.password)).token).to.be.a('string');
    const a = api(srv.url);
    const wrong = await a.post('/api/auth/login', { username: u.username, password: 'nope-nope' });
    const unknown = await a.post('/api/auth/login', { username: 'nobody-here', password: 'nope-nope' });
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(await wrong.json()).to.deep.equal(await unknown.json());
  });

  it('refuses tampered, expired and pre-password-change tokens with 401', async () => {
    const u: TestUser = await createUser(srv);
    const a = api(srv.url);
    const [h, p, s] = u.token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = [
      h,
      Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url'),
      s,
    ].join('.');
    expect((await a.as(tampered).get('/api/auth/me')).status).to.equal(401);
    const expired = jwt.sign({ tv: 0, exp: Math.floor(Date.now() / 1000) - 10 }, 'x'.repeat(64), {
      subject: u.id,
      jwtid: 'j',
    });
    expect((await a.as(expired).get('/api/auth/me')).status).to.equal(401);
    const changed = await a
      .as(u)
      .post('/api/auth/password', { currentPassword: u.password, newPassword: 'a brand new secret' });
    expect(changed.status).to.equal(200);
    const fresh = (await changed.json()).token as string;
    expect((await a.as(u).get('/api/auth/me')).status).to.equal(401);
    expect((await a.as(fresh).get('/api/auth/me')).status).to.equal(200);
    expect((await a.post('/api/auth/login', { username: u.username, password: u.password })).status).to.equal(401);
  });

  it('answers the 11th rapid wrong password with 429 and Retry-After', async () => {
    const u = await createUser(srv);
    const a = api(srv.url);
    for (let i = 0; i < 10; i++) {
      expect((await a.post('/api/auth/login', { username: u.username, password: `wrong-${i}` })).status).to.equal(401);
    }
    const blocked = await a.post('/api/auth/login', { username: u.username, password: u.password });
    expect(blocked.status).to.equal(429);
    expect(Number(blocked.headers.get('retry-after'))).to.be.greaterThan(0);
    expect((await blocked.json()).error.code).to.equal('rate_limited');
  });

  it('does not count a request without credentials as a failure', async () => {
    const u = await createUser(srv);
    const a = api(srv.url);
    for (let i = 0; i < 15; i++)
      expect((await a.post('/api/auth/login', { username: u.username })).status).to.equal(400);
    expect((await a.post('/api/auth/login', { username: u.username, password: u.password })).status).to.equal(200);
  });

  it('refuses a disabled user at sign-in and ends their sessions', async () => {
    const u = await createUser(srv);
    const admin = api(srv.url).as(await srv.adminToken());
    expect((await admin.patch(`/api/admin/users/${u.id}`, { disabled: true })).status).to.equal(200);
    expect((await api(srv.url).as(u).get('/api/auth/me')).status).to.equal(401);
    expect(
      (await api(srv.url).post('/api/auth/login', { username: u.username, password: u.password })).status,
    ).to.equal(401);
  });

  it('requires X-Requested-With on cookie-authenticated writes (CSRF guard)', async () => {
    const u = await createUser(srv);
    const res = await fetch(`${srv.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: u.username, password: u.password }),
    });
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect(res.headers.get('set-cookie'))
      .to.match(/HttpOnly/i)
      .and.match(/SameSite=Lax/i);
    const body = JSON.stringify({ parentId: u.rootId, name: 'x' });
    const noHeader = await fetch(`${srv.url}/api/folders`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body,
    });
    expect(noHeader.status).to.equal(403);
    const withHeader = await fetch(`${srv.url}/api/folders`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-requested-with': 'coffer' },
      body,
    });
    expect(withHeader.status).to.equal(201);
    expect((await fetch(`${srv.url}/api/auth/me`, { headers: { cookie } })).status).to.equal(200);
  });
});

describe('GET /api/health', () => {
  it('tells the console whether sign-up is open and how long the bin keeps items', async () => {
    const open = await startTestServer({ env: { OPEN_REGISTRATION: 'true', TRASH_RETENTION_DAYS: '14' } });
    const closed = await startTestServer();
    try {
      expect(await (await fetch(`${open.url}/api/health`)).json()).to.deep.include({
        status: 'ok',
        openRegistration: true,
        trashRetentionDays: 14,
      });
      expect(await (await fetch(`${closed.url}/api/health`)).json()).to.deep.include({
        openRegistration: false,
        trashRetentionDays: 30,
      });
      const refused = await api(closed.url).post('/api/auth/register', {
        username: 'x1',
        email: 'x1@example.test',
        password: 'long enough',
      });
      expect(refused.status).to.equal(403);
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
