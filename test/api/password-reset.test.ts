/**
 * Password reset by email, through HTTP against a real SMTP server on loopback: the mailed link
 * works once and for one hour, ends every session, and the request answers the same for known,
 * unknown and disabled addresses (no account oracle), throttled per address and per IP.
 */
import net from 'node:net';
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { ManualClock } from '../../server/domain/clock.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { freePort } from '../support/net.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp.js';

const PUBLIC_URL = 'https://files.example.test';
const MAX_PER_ADDRESS = 3;
const MAX_PER_IP = 6;
const LINK = /https:\/\/files\.example\.test\/reset\?token=([A-Za-z0-9_-]+)/;

let ipCounter = 1;
/** Every request from its own address (TRUST_PROXY): only the per-IP test shares one. */
const freshIp = () => `198.51.100.${ipCounter++}`;

describe('password reset by email', () => {
  let smtp: TestSmtpServer;
  let srv: TestServer;
  const clock = new ManualClock();

  before(async () => {
    smtp = await startSmtpServer();
    srv = await startTestServer({
      clock,
      env: {
        SMTP_URL: smtp.url,
        PUBLIC_URL,
        MAIL_FROM: 'Coffer Test <files@example.test>',
        TRUST_PROXY: 'true',
        PASSWORD_RESET_MAX_PER_ADDRESS: String(MAX_PER_ADDRESS),
        PASSWORD_RESET_MAX_PER_IP: String(MAX_PER_IP),
      },
    });
  });
  after(async () => {
    await srv?.close();
    await smtp?.close();
  });

  const forgot = (email: string, ip = freshIp()) =>
    api(srv.url).post('/api/auth/forgot', { email }, { 'x-forwarded-for': ip });
  const reset = (token: string, password: string) => api(srv.url).post('/api/auth/reset', { token, password });
  const mailTo = (u: TestUser, after = 0) =>
    smtp.waitFor((m) => m.to.includes(u.email) && smtp.messages.indexOf(m) >= after);
  const tokenOf = (m: ReceivedMail) => LINK.exec(m.text)![1]!;

  it('mails a link that sets a new password once, ends every session, and is logged', async () => {
    const u = await createUser(srv);
    const me = () => api(srv.url).as(u).get('/api/auth/me');
    expect((await me()).status).to.equal(200);

    const res = await forgot(u.email.toUpperCase());
    expect(res.status).to.equal(202);
    const mail = await mailTo(u);
    expect(mail.subject).to.equal('Reset your Coffer password');
    expect(mail.parsed.from?.text).to.equal('"Coffer Test" <files@example.test>');
    expect(mail.text).to.match(LINK);
    expect(mail.text).to.include(u.username);
    const token = tokenOf(mail);
    expect(Buffer.from(token, 'base64url')).to.have.length(32);
    expect(mail.html).to.include(`href="${PUBLIC_URL}/reset?token=${token}"`);

    const done = await reset(token, 'a-brand-new-password');
    expect(done.status).to.equal(200);
    expect(await done.json()).to.deep.equal({ username: u.username });

    expect((await me()).status).to.equal(401);
    expect(
      (await api(srv.url).post('/api/auth/login', { username: u.username, password: u.password })).status,
    ).to.equal(401);
    const signIn = await api(srv.url).post('/api/auth/login', {
      username: u.username,
      password: 'a-brand-new-password',
    });
    expect(signIn.status).to.equal(200);

    const again = await reset(token, 'yet-another-password');
    expect(again.status).to.equal(400);
    expect((await again.json()).error.code).to.equal('invalid_token');

    const { token: session } = (await signIn.json()) as { token: string };
    const log = await api(srv.url)
      .as(session)
      .json<{ items: { action: string }[] }>(api(srv.url).as(session).get('/api/activity'));
    const actions = log.items.map((a) => a.action);
    expect(actions).to.include.members(['auth.password_reset_requested', 'auth.password_reset']);
  });

  it('answers every address the same (status and body) and mails only an enabled account', async () => {
    const known = await createUser(srv);
    const disabled = await createUser(srv);
    const admin = api(srv.url).as(await srv.adminToken());
    expect((await admin.patch(`/api/admin/users/${disabled.id}`, { disabled: true })).status).to.equal(200);
    const before = smtp.messages.length;

    const answers = await Promise.all(
      [known.email, 'nobody-here@example.test', disabled.email].map(async (email) => {
        const res = await forgot(email);
        return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
      }),
    );
    expect(answers[0]!.status).to.equal(202);
    expect(answers[1]).to.deep.equal(answers[0]);
    expect(answers[2]).to.deep.equal(answers[0]);

    await srv.app.mailer!.settled();
    const sent = smtp.messages.slice(before);
    expect(sent.map((m) => m.to)).to.deep.equal([[known.email]]);
  });

  it('keeps only the newest link of an account', async () => {
    const u = await createUser(srv);
    const first = smtp.messages.length;
    await forgot(u.email);
    const older = tokenOf(await mailTo(u, first));
    const second = smtp.messages.length;
    await forgot(u.email);
    const newer = tokenOf(await mailTo(u, second));
    expect(newer).not.to.equal(older);
    expect((await reset(older, 'password-from-old-link')).status).to.equal(400);
    expect((await reset(newer, 'password-from-new-link')).status).to.equal(200);
  });

  it('accepts a link for one hour (injected clock)', async () => {
    const late = await createUser(srv);
    const onTime = await createUser(srv);
    for (const u of [late, onTime]) await forgot(u.email);
    const lateToken = tokenOf(await mailTo(late));
    const onTimeToken = tokenOf(await mailTo(onTime));

    clock.advance(59 * 60 * 1000);
    expect((await reset(onTimeToken, 'just-in-time-password')).status).to.equal(200);
    clock.advance(60 * 1000 + 1);
    const res = await reset(lateToken, 'too-late-password');
    expect(res.status).to.equal(400);
    expect((await res.json()).error.code).to.equal('invalid_token');
  });

  it('refuses a link once its account is disabled', async () => {
    const u = await createUser(srv);
    await forgot(u.email);
    const token = tokenOf(await mailTo(u));
    const admin = api(srv.url).as(await srv.adminToken());
    await admin.patch(`/api/admin/users/${u.id}`, { disabled: true });
    expect((await reset(token, 'password-of-the-disabled')).status).to.equal(400);
  });

  it('checks input: an address, a password like registration, a token', async () => {
    const bad = await forgot('not an address');
    expect(bad.status).to.equal(400);
    expect((await bad.json()).error.code).to.equal('invalid_input');

    const u = await createUser(srv);
    await forgot(u.email);
    const token = tokenOf(await mailTo(u));
    const short = await reset(token, 'short');
    expect(short.status).to.equal(400);
    expect((await short.json()).error).to.include({ code: 'invalid_input' });
    // The short password did not use the link up.
    expect((await reset(token, 'long-enough-password')).status).to.equal(200);

    for (const token of ['made-up-token', 'x'.repeat(43)]) {
      const res = await reset(token, 'long-enough-password');
      expect(res.status).to.equal(400);
      expect((await res.json()).error.code).to.equal('invalid_token');
    }
    expect((await api(srv.url).post('/api/auth/reset', { password: 'long-enough-password' })).status).to.equal(400);
  });

  it('throttles per address, known or not, before any mail goes out', async () => {
    const u = await createUser(srv);
    for (const email of [u.email, 'unknown-throttled@example.test']) {
      for (let i = 0; i < MAX_PER_ADDRESS; i++) expect((await forgot(email)).status).to.equal(202);
      const limited = await forgot(email.toUpperCase());
      expect(limited.status).to.equal(429);
      expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
      expect((await limited.json()).error.code).to.equal('rate_limited');
    }
    await srv.app.mailer!.settled();
    expect(smtp.to(u.email)).to.have.length(MAX_PER_ADDRESS);
  });

  it('throttles per IP address, whatever addresses it names', async () => {
    const ip = '203.0.113.9';
    for (let i = 0; i < MAX_PER_IP; i++) expect((await forgot(`nobody-${i}@example.test`, ip)).status).to.equal(202);
    expect((await forgot('one-more@example.test', ip)).status).to.equal(429);
    expect((await forgot('one-more@example.test')).status).to.equal(202);
  });

  it('tells the console that reset by email is available', async () => {
    const health = await api(srv.url).json(api(srv.url).get('/api/health'));
    expect(health.passwordResetByEmail).to.equal(true);
  });
});

describe('password reset by email: without a working mail server', () => {
  it('without SMTP_URL: a clear 501 and the flag off', async () => {
    const srv = await startTestServer();
    try {
      const res = await api(srv.url).post('/api/auth/forgot', { email: 'someone@example.test' });
      expect(res.status).to.equal(501);
      const { error } = await res.json();
      expect(error.code).to.equal('not_configured');
      expect(error.message).to.match(/not available.*administrator/);
      expect((await api(srv.url).json(api(srv.url).get('/api/health'))).passwordResetByEmail).to.equal(false);
    } finally {
      await srv.close();
    }
  });

  it('with the mail server down: the same 202, and the failure is logged', async () => {
    const port = await freePort(); // nothing listens there
    const srv = await startTestServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL } });
    try {
      const u = await createUser(srv);
      const res = await api(srv.url).post('/api/auth/forgot', { email: u.email });
      expect(res.status).to.equal(202);
      await srv.app.mailer!.settled();
      expect(srv.errors.some((line) => line.includes('mail not sent') && line.includes('password reset'))).to.equal(
        true,
      );
    } finally {
      await srv.close();
    }
  });

  it('with a mail server that never answers: the answer does not wait for it', async () => {
    // Accepts connections and says nothing: a send would wait for the greeting (10 s).
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const srv = await startTestServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL } });
    try {
      const u = await createUser(srv);
      for (const email of [u.email, 'nobody-at-all@example.test']) {
        const started = performance.now();
        const res = await api(srv.url).post('/api/auth/forgot', { email });
        expect(res.status).to.equal(202);
        expect(performance.now() - started).to.be.lessThan(2000);
      }
      // The known address's mail is under way, held by the silent server.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sockets.size).to.equal(1);
    } finally {
      for (const s of sockets) s.destroy();
      await srv.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('configuration: SMTP_URL must be smtp(s):// and needs PUBLIC_URL; MAIL_FROM has a default', () => {
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.example.test:587' })).to.throw(/SMTP_URL needs PUBLIC_URL/);
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example.test', PUBLIC_URL })).to.throw(/SMTP_URL/);
    expect(() => loadConfig({ SMTP_URL: 'not a url', PUBLIC_URL })).to.throw(/SMTP_URL/);
    const config = loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.test', PUBLIC_URL });
    expect(config.mail.smtpUrl).to.equal('smtps://u:p@mail.example.test');
    expect(config.mail.from).to.match(/^Coffer <coffer@.+>$/);
    expect(loadConfig({}).mail.smtpUrl).to.equal(undefined);
  });
});
