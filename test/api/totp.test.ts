/** Two-factor sign-in (TOTP): setup, sign-in with a code or a recovery code, throttling, WebDAV, REQUIRE_2FA, admin reset. */
import { expect } from 'chai';
import { systemActor } from '../../server/domain/actor.js';
import { ManualClock } from '../../server/domain/clock.js';
import { createAppPassword, enableTotp, signIn, totpCode } from '../support/accounts.js';
import { api, createUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from '../dav/support.js';

const STEP = 30_000;

describe('two-factor sign-in (TOTP)', function () {
  let srv: TestServer;
  const clock = new ManualClock();
  before(async () => {
    srv = await startTestServer({ clock });
  });
  after(() => srv.close());

  describe('POST /api/auth/totp/setup and /enable', () => {
    it('a second setup replaces the pending secret; a wrong code is refused; enable answers 10 recovery codes', async () => {
      const u = await createUser(srv);
      const as = api(srv.url).as(u);
      const first = await as.json<{ secret: string; otpauthUrl: string }>(as.post('/api/auth/totp/setup'));
      expect(first.secret).to.match(/^[A-Z2-7]{32}$/);
      expect(first.otpauthUrl).to.match(/^otpauth:\/\/totp\/Coffer:/);
      expect(first.otpauthUrl).to.contain(`secret=${first.secret}`);
      const second = await as.json<{ secret: string }>(as.post('/api/auth/totp/setup'));
      expect(second.secret).not.to.equal(first.secret);

      const stale = await as.post('/api/auth/totp/enable', { code: totpCode(first.secret, clock.now()) });
      expect(stale.status).to.equal(400);
      const res = await as.post('/api/auth/totp/enable', { code: totpCode(second.secret, clock.now()) });
      expect(res.status).to.equal(200);
      const { recoveryCodes } = await res.json();
      expect(recoveryCodes).to.have.length(10);
      expect(new Set(recoveryCodes).size).to.equal(10);

      const me = await as.json(as.get('/api/auth/me'));
      expect(me.user.twoFactor).to.deep.equal({ enabled: true, required: false });
      expect(await as.json(as.get('/api/auth/totp'))).to.deep.equal({
        enabled: true,
        required: false,
        recoveryCodesLeft: 10,
      });
      // Never shown again, and a new setup is refused while it is on.
      expect(JSON.stringify(await as.json(as.get('/api/auth/me')))).not.to.contain(second.secret);
      expect((await as.post('/api/auth/totp/setup')).status).to.equal(400);
    });
  });

  describe('POST /api/auth/login with TOTP on', () => {
    it('asks for a code only after the right password; a code signs in once; a recovery code works once', async () => {
      const u = await createUser(srv);
      const { secret, recoveryCodes } = await enableTotp(srv, u, clock.now());
      clock.advance(STEP);

      const wrongPassword = await signIn(srv, u.username, 'not-the-password');
      expect(wrongPassword.status).to.equal(401);
      expect((await wrongPassword.json()).error.code).to.equal('unauthenticated');
      const noCode = await signIn(srv, u.username, u.password);
      expect(noCode.status).to.equal(401);
      expect((await noCode.json()).error.code).to.equal('totp_required');
      // A code with a wrong password says nothing about the code.
      const wrongWithCode = await signIn(srv, u.username, 'not-the-password', totpCode(secret, clock.now()));
      expect((await wrongWithCode.json()).error.code).to.equal('unauthenticated');

      const code = totpCode(secret, clock.now());
      const ok = await signIn(srv, u.username, u.password, code);
      expect(ok.status).to.equal(200);
      const session = await ok.json();
      expect(session.user.twoFactor.enabled).to.equal(true);
      expect((await api(srv.url).as(session.token).get('/api/auth/me')).status).to.equal(200);

      const replay = await signIn(srv, u.username, u.password, code);
      expect(replay.status).to.equal(401);
      expect((await replay.json()).error.code).to.equal('totp_required');
      // The step before the one used is no good either (±1 step is accepted, but never backwards).
      expect((await signIn(srv, u.username, u.password, totpCode(secret, clock.now() - STEP))).status).to.equal(401);
      clock.advance(STEP);
      expect((await signIn(srv, u.username, u.password, totpCode(secret, clock.now()))).status).to.equal(200);

      const recovery = recoveryCodes[3]!;
      expect((await signIn(srv, u.username, u.password, recovery.toUpperCase())).status).to.equal(200);
      const again = await signIn(srv, u.username, u.password, recovery);
      expect(again.status).to.equal(401);
      expect((await again.json()).error.code).to.equal('totp_required');
      const status = await api(srv.url).as(session.token).json(api(srv.url).as(session.token).get('/api/auth/totp'));
      expect(status.recoveryCodesLeft).to.equal(9);
    });
  });

  describe('WebDAV with TOTP on', () => {
    it('refuses the main password (401 naming app passwords), even cached, while an app password works', async () => {
      const u = await createUser(srv);
      const main = Dav.for(srv, u);
      expect((await main.propfind('/dav/', '0')).status).to.equal(207); // now cached
      const { password } = await createAppPassword(srv, u);
      await enableTotp(srv, u, clock.now());

      const refused = await main.propfind('/dav/', '0');
      expect(refused.status).to.equal(401);
      expect(refused.headers.get('www-authenticate')).to.match(/^Basic/);
      expect(await refused.text()).to.contain('app password');
      const as = api(srv.url).as(u);
      const failed = await as.json(as.get('/api/activity?action=auth.login_failed'));
      expect(failed.items.map((i: { details: { reason: string } }) => i.details.reason)).to.deep.equal([
        'app_password_required',
      ]);
      const app = new Dav(srv.url, basic(u.username, password));
      expect((await app.put('/dav/x.txt', 'x')).status).to.equal(201);
    });
  });

  describe('POST /api/auth/totp/disable', () => {
    it('needs the password and a code; then the password alone signs in again', async () => {
      const u = await createUser(srv);
      const { secret, recoveryCodes } = await enableTotp(srv, u, clock.now());
      clock.advance(STEP);
      const as = api(srv.url).as(u);
      const wrong = await as.post('/api/auth/totp/disable', {
        password: 'nope-nope',
        code: totpCode(secret, clock.now()),
      });
      expect(wrong.status).to.equal(403);
      const badCode = await as.post('/api/auth/totp/disable', { password: u.password, code: '000000' });
      expect(badCode.status).to.equal(403);
      const ok = await as.post('/api/auth/totp/disable', { password: u.password, code: recoveryCodes[0] });
      expect(ok.status).to.equal(204);
      expect((await signIn(srv, u.username, u.password)).status).to.equal(200);
      expect((await as.json(as.get('/api/auth/me'))).user.twoFactor.enabled).to.equal(false);
    });
  });

  describe('DELETE /api/admin/users/:id/totp', () => {
    it('an admin turns it off (logged); the admin list shows 2FA on and off; others get 403', async () => {
      const u = await createUser(srv);
      await enableTotp(srv, u, clock.now());
      const admin = api(srv.url).as(await srv.adminToken());
      const listed = async () =>
        (await admin.json(admin.get('/api/admin/users'))).items.find((i: { id: string }) => i.id === u.id).twoFactor;
      expect(await listed()).to.deep.equal({ enabled: true });

      const other = await createUser(srv);
      expect((await api(srv.url).as(other).delete(`/api/admin/users/${u.id}/totp`)).status).to.equal(403);
      expect((await admin.delete(`/api/admin/users/${u.id}/totp`)).status).to.equal(204);
      expect(await listed()).to.deep.equal({ enabled: false });
      expect((await signIn(srv, u.username, u.password)).status).to.equal(200);
      const log = await admin.json(admin.get(`/api/activity?owner=${u.id}&action=totp.reset`));
      expect(log.items).to.have.length(1);
      expect((await admin.delete('/api/admin/users/00000000-0000-4000-8000-000000000000/totp')).status).to.equal(404);
    });
  });
});

describe('two-factor codes are throttled like passwords', function () {
  let srv: TestServer;
  const clock = new ManualClock();
  before(async () => {
    srv = await startTestServer({ clock, env: { LOGIN_MAX_FAILURES: '3' } });
  });
  after(() => srv.close());

  it('wrong codes spend the account budget (counted before the check), asking for a code does not', async () => {
    const u = await createUser(srv);
    const { secret } = await enableTotp(srv, u, clock.now());
    clock.advance(STEP);
    // The right password without a code gives its attempt back: an old sync client cannot lock the account.
    for (let i = 0; i < 5; i++) expect((await signIn(srv, u.username, u.password)).status).to.equal(401);
    for (const code of ['111111', '222222', '333333']) {
      const res = await signIn(srv, u.username, u.password, code);
      expect(res.status, code).to.equal(401);
    }
    // A known password cannot reset the budget the guesses of the code spend.
    const limited = await signIn(srv, u.username, u.password);
    expect(limited.status).to.equal(429);
    const right = await signIn(srv, u.username, u.password, totpCode(secret, clock.now()));
    expect(right.status).to.equal(429);
    expect(right.headers.get('retry-after')).to.match(/^\d+$/);
  });
});

describe('REQUIRE_2FA=true', function () {
  let srv: TestServer;
  const clock = new ManualClock();
  before(async () => {
    srv = await startTestServer({ clock, env: { REQUIRE_2FA: 'true' } });
  });
  after(() => srv.close());

  it('a session without 2FA may only set it up; once it is on, everything opens', async () => {
    // The admin account is under the rule too, so this user is made without it.
    const username = `req${Date.now().toString(36)}`;
    const password = 'required-2fa-password';
    const user = await srv.app.accounts.createUser(systemActor, {
      username,
      email: `${username}@example.test`,
      password,
    });
    const u = { id: user.id, username, email: user.email, password, token: '', rootId: user.rootId };
    const res = await signIn(srv, u.username, u.password);
    expect(res.status).to.equal(200);
    const session = await res.json();
    expect(session.user.twoFactor).to.deep.equal({ enabled: false, required: true });
    const as = api(srv.url).as(session.token);

    const refused = await as.get(`/api/nodes/${u.rootId}/children`);
    expect(refused.status).to.equal(403);
    expect((await refused.json()).error.code).to.equal('two_factor_setup_required');
    expect((await as.get('/api/auth/app-passwords')).status).to.equal(403);
    expect((await as.get('/api/auth/me')).status).to.equal(200);
    expect((await as.get('/api/auth/totp')).status).to.equal(200);

    await enableTotp(srv, { ...u, token: session.token }, clock.now());
    expect((await as.get(`/api/nodes/${u.rootId}/children`)).status).to.equal(200);
    expect((await as.json(as.get('/api/auth/me'))).user.twoFactor).to.deep.equal({ enabled: true, required: true });
    expect((await as.post('/api/auth/logout')).status).to.equal(204);
  });
});
