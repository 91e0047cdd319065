/**
 * The client address behind a proxy (issue 9, item 4): one function decides it for WebDAV and the
 * API. The test's requests come from 127.0.0.1 (a trusted proxy by default) and carry
 * X-Forwarded-For as a proxy would write it: the client's own claims on the left, then what each
 * proxy appended. Only the right-most address that is not a trusted proxy counts.
 */
import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { clientAddress } from '../../server/client-address.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav, davUser, type DavUser } from './support.js';

const ATTACKER = '203.0.113.66';
const VICTIM = '198.51.100.7';

async function activityIps(srv: TestServer, user: DavUser, action: string): Promise<(string | null)[]> {
  const res = await api(srv.url).as(user).get(`/api/activity?action=${action}`);
  expect(res.status).to.equal(200);
  return ((await res.json()) as { items: { ip: string | null }[] }).items.map((r) => r.ip);
}

describe('client address behind a proxy (TRUST_PROXY)', () => {
  let srv: TestServer;
  let victim: DavUser;

  before(async () => {
    srv = await startTestServer({
      env: { TRUST_PROXY: 'true', TRUSTED_PROXIES: '127.0.0.0/8, ::1, 10.0.0.0/8', LOGIN_MAX_FAILURES_PER_IP: '100' },
    });
    victim = await davUser(srv);
  });
  after(() => srv.close());

  const propfind = (authorization: string, xff?: string) =>
    new Dav(srv.url, authorization).request('PROPFIND', '/dav/', {
      headers: { depth: '0', ...(xff ? { 'x-forwarded-for': xff } : {}) },
    });

  it('101 bad Basic attempts from one forwarded client lock out that client only, not every WebDAV user', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) {
      const res = await propfind(basic(`nobody-${i}`, 'guess'), ATTACKER);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(
      statuses.slice(0, 100).every((s) => s === 401),
      'the first 100 are wrong passwords',
    ).to.equal(true);
    expect(statuses[100], 'the attacker is throttled').to.equal(429);
    const ok = await propfind(basic(victim.username, victim.password), VICTIM);
    await ok.arrayBuffer();
    expect(ok.status, 'another client with the right password').to.equal(207);
  });

  it('a spoofed left-most X-Forwarded-For picks neither the throttle key nor the logged address', async () => {
    // The attacker names the victim's address first; the proxy appended the attacker's real one.
    const spoofed = await propfind(basic(victim.username, 'wrong'), `${VICTIM}, ${ATTACKER}`);
    await spoofed.arrayBuffer();
    expect(spoofed.status, 'still the throttled attacker').to.equal(429);
    // A client behind two of our proxies (10.1.2.3 is trusted): the client is the address before them.
    const bad = await propfind(basic(victim.username, 'wrong'), `6.6.6.6, ${VICTIM}, 10.1.2.3`);
    await bad.arrayBuffer();
    expect(bad.status).to.equal(401);
    expect((await activityIps(srv, victim, 'auth.login_failed'))[0]).to.equal(VICTIM);
  });

  it('the API decides the same way: sign-in throttling and the activity log', async () => {
    const blocked = await api(srv.url).post(
      '/api/auth/login',
      { username: victim.username, password: victim.password },
      { 'x-forwarded-for': `${VICTIM}, ${ATTACKER}` },
    );
    expect(blocked.status, 'the spoofed left-most entry does not escape the attacker throttle').to.equal(429);
    const res = await api(srv.url).post(
      '/api/auth/login',
      { username: victim.username, password: victim.password },
      { 'x-forwarded-for': `${ATTACKER}, ${VICTIM}` },
    );
    expect(res.status, 'the right-most untrusted entry is the client').to.equal(200);
    expect((await activityIps(srv, victim, 'auth.login'))[0]).to.equal(VICTIM);
    // A WebDAV write is logged with the same address.
    const put = await new Dav(srv.url, basic(victim.username, victim.password)).request('PUT', '/dav/note.txt', {
      body: 'x',
      headers: { 'x-forwarded-for': `1.1.1.1, ${VICTIM}` },
    });
    expect(put.status).to.equal(201);
    const up = await api(srv.url).as(victim).get('/api/activity?limit=1');
    expect(((await up.json()) as { items: { ip: string; via: string }[] }).items[0]).to.include({
      ip: VICTIM,
      via: 'dav',
    });
  });
});

describe('client address without TRUST_PROXY', () => {
  let srv: TestServer;
  let user: DavUser;

  before(async () => {
    srv = await startTestServer();
    user = await davUser(srv);
  });
  after(() => srv.close());

  it('ignores X-Forwarded-For on both doors: the socket address is logged', async () => {
    const res = await new Dav(srv.url, basic(user.username, 'wrong')).request('PROPFIND', '/dav/', {
      headers: { depth: '0', 'x-forwarded-for': ATTACKER },
    });
    await res.arrayBuffer();
    expect(res.status).to.equal(401);
    expect((await activityIps(srv, user, 'auth.login_failed'))[0]).to.equal('127.0.0.1');
    const ok = await api(srv.url).post(
      '/api/auth/login',
      { username: user.username, password: user.password },
      { 'x-forwarded-for': ATTACKER },
    );
    expect(ok.status).to.equal(200);
    expect((await activityIps(srv, user, 'auth.login'))[0]).to.equal('127.0.0.1');
  });
});

describe('clientAddress(req, config)', () => {
  const req = (peer: string, xff?: string | string[]) =>
    ({
      socket: { remoteAddress: peer },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as unknown as IncomingMessage;
  const trusting = loadConfig({ TRUST_PROXY: 'true', TRUSTED_PROXIES: '127.0.0.0/8,::1,10.0.0.0/8,fd00::/8' });

  it('without TRUST_PROXY: the socket peer, IPv4-mapped addresses normalised', () => {
    expect(clientAddress(req('::ffff:127.0.0.1', '1.2.3.4'), loadConfig({}))).to.equal('127.0.0.1');
  });

  it('reads X-Forwarded-For only from a trusted peer, from the right', () => {
    expect(clientAddress(req('192.0.2.1', '1.2.3.4'), trusting), 'untrusted peer').to.equal('192.0.2.1');
    expect(clientAddress(req('::ffff:10.0.0.2', '9.9.9.9, 1.2.3.4, 10.0.0.7'), trusting)).to.equal('1.2.3.4');
    expect(clientAddress(req('::1', ['9.9.9.9', '2001:db8::1, fd00::5']), trusting), 'repeated headers, IPv6').to.equal(
      '2001:db8::1',
    );
    expect(clientAddress(req('127.0.0.1', '10.0.0.9, 10.0.0.8'), trusting), 'all trusted: the left-most').to.equal(
      '10.0.0.9',
    );
    expect(clientAddress(req('127.0.0.1', 'garbage, 1.2.3.4:5678'), trusting), 'a port is dropped').to.equal('1.2.3.4');
    expect(
      clientAddress(req('127.0.0.1', '10.0.0.9, not-an-ip, 10.0.0.8'), trusting),
      'stops at a malformed entry',
    ).to.equal('10.0.0.8');
    expect(clientAddress(req('127.0.0.1'), trusting), 'no header').to.equal('127.0.0.1');
  });

  it('refuses a bad TRUSTED_PROXIES value at start', () => {
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/33' })).to.throw(/TRUSTED_PROXIES/);
    expect(() => loadConfig({ TRUSTED_PROXIES: 'proxy.local' })).to.throw(/TRUSTED_PROXIES/);
  });
});
