/**
 * Behind a real nginx (Debian's), as the README tells people to deploy it: the proxy settings users
 * copy (config/nginx/coffer-proxy.conf, included as is) in front of two instances on one store,
 * requests handed to either in turn. litmus's basic, copymove and locks suites pass through it —
 * a lock taken through one instance is enforced by the other — and so do a large streamed upload
 * and a live-update stream.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { basic, Dav, davUser, type DavUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { expectLitmusPasses } from '../support/litmus.js';
import { freePort } from '../support/net.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { skipWithout } from '../support/programs.js';
import { readEvents } from '../support/sse.js';
import { ROOT } from './support.js';

const SNIPPET = path.join(ROOT, 'config/nginx/coffer-proxy.conf');

function nginxConf(dir: string, port: number, upstreams: number[], location = '/'): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${path.join(dir, t)};`)
    .join('\n  ');
  return `worker_processes 1;
user root;
error_log ${path.join(dir, 'error.log')} warn;
pid ${path.join(dir, 'nginx.pid')};
events { worker_connections 256; }
http {
  access_log off;
  ${temp}
  upstream coffer {
    ${upstreams.map((p) => `server 127.0.0.1:${p};`).join('\n    ')}
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port};
    location ${location} {
      include ${SNIPPET};
    }
  }
}
`;
}

/** nginx in front of `servers`, on a free port; resolves once Coffer answers through it. */
async function startNginx(dir: string, servers: TestServer[], location = '/', health = '/api/health') {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  const upstreams = servers.map((s) => Number(new URL(s.url).port));
  fs.writeFileSync(conf, nginxConf(dir, port, upstreams, location));
  const check = spawnSync('nginx', ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
  expect(check.status, check.stderr).to.equal(0);
  const proc = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(url + health).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline)
      throw new Error(`nginx did not answer: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, url };
}

async function stopNginx(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGQUIT');
  await exited;
}

/** Two instances on one store with nginx in front of them, and a WebDAV user. */
interface Stack {
  a: TestServer;
  b: TestServer;
  nginx: ChildProcess;
  dir: string;
  /** nginx's origin (no BASE_PATH). */
  url: string;
  user: DavUser;
}

async function stackBehindNginx(env: Record<string, string>, base = ''): Promise<Stack> {
  const a = await startTestServer({ env });
  const b = await startTestServer({ env, shareStoreWith: a });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-nginx-'));
  const { proc: nginx, url } = await startNginx(dir, [a, b], `${base}/`, `${base}/api/health`);
  return { a, b, nginx, dir, url, user: await davUser(a, { password: 'through-nginx-42' }) };
}

async function tearDown(s: Stack | undefined): Promise<void> {
  if (!s) return;
  await stopNginx(s.nginx);
  await s.b.close();
  await s.a.close();
  fs.rmSync(s.dir, { recursive: true, force: true });
}

describe('behind nginx (config/nginx/coffer-proxy.conf), two instances on one store', function () {
  this.timeout(240_000);
  let stack: Stack | undefined;
  let a: TestServer, url: string, user: DavUser;

  before(async function () {
    skipWithout(this, 'nginx', '-v');
    stack = await stackBehindNginx({ TRUST_PROXY: 'true' });
    ({ a, url, user } = stack);
  });

  after(() => tearDown(stack));

  it('passes litmus basic, copymove and locks through the proxy, requests spread over both instances', async () => {
    await expectLitmusPasses(`${url}/dav/`, user.username, user.password, ['basic', 'copymove', 'locks']);
  });

  it('streams a 20 MiB WebDAV upload and download through it byte for byte', async () => {
    const body = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
    const dav = new Dav(url, `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    const put = await dav.request('PUT', '/dav/big.bin', { body });
    expect(put.status).to.equal(201);
    const got = Buffer.from(await (await dav.request('GET', '/dav/big.bin')).arrayBuffer());
    const sha = (x: Buffer) => createHash('sha256').update(x).digest('hex');
    expect(sha(got)).to.equal(sha(body));
  });

  it('passes a live-update stream through unbuffered: a change shows within 2 s', async () => {
    const session = await login(url, user.username, user.password);
    const folder = await api(url).as(session).mkdir(session.user.rootId, 'Live');
    const res = await api(url).as(session).get(`/api/events?folder=${folder.id}&interval=500`);
    expect(res.status).to.equal(200);
    const reading = readEvents(res, 2, 4000);
    await new Promise((r) => setTimeout(r, 200));
    const sent = Date.now();
    await api(a.url).as(session).upload(folder.id, 'new.txt', 'hello');
    const events = await reading;
    expect(events.map((e) => e.event)).to.deep.equal(['ready', 'changed']);
    expect(Date.now() - sent).to.be.below(2000);
  });
});

describe('behind nginx at a sub-path (BASE_PATH=/coffer), two instances on one store', function () {
  this.timeout(240_000);
  const BASE = '/coffer';
  let stack: Stack | undefined;
  let a: TestServer, url: string, user: DavUser;

  before(async function () {
    skipWithout(this, 'nginx', '-v');
    stack = await stackBehindNginx({ TRUST_PROXY: 'true', BASE_PATH: BASE }, BASE);
    ({ a, url, user } = stack);
  });

  after(() => tearDown(stack));

  it('passes litmus basic, copymove and locks at /coffer/dav/', async () => {
    await expectLitmusPasses(`${url}${BASE}/dav/`, user.username, user.password, ['basic', 'copymove', 'locks']);
  });

  it('writes /coffer into what leaves the server: WebDAV hrefs, link URLs, the session cookie', async () => {
    const dav = new Dav(`${url}${BASE}`, basic(user.username, user.password));
    expect((await dav.request('PUT', '/dav/a%20b.txt', { body: 'x' })).status).to.equal(201);
    const listing = await (await dav.propfind('/dav/', '1')).text();
    expect(listing).to.contain('<D:href>/coffer/dav/</D:href>').and.contain('<D:href>/coffer/dav/a%20b.txt</D:href>');
    const signIn = await api(`${url}${BASE}`).post('/api/auth/login', {
      username: user.username,
      password: user.password,
    });
    expect(signIn.headers.get('set-cookie')).to.match(/path=\/coffer\//i);
    const session = (await signIn.json()) as { token: string; user: { id: string; rootId: string } };
    const folder = await api(`${url}${BASE}`).as(session).mkdir(session.user.rootId, 'Linked');
    const created = await api(`${url}${BASE}`)
      .as(session)
      .post(`/api/nodes/${folder.id}/links`, { permission: 'view' });
    const link = (await created.json()) as { url: string; token: string };
    expect(link.url).to.equal(`${url}${BASE}/s/${link.token}`);
  });

  it('sends the bare host to /coffer/, answers 404 outside it, and refuses a console built for another base', async () => {
    const origin = new URL(a.url).origin;
    const root = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(root.status).to.equal(302);
    expect(root.headers.get('location')).to.equal(`${BASE}/`);
    const outside = await fetch(`${origin}/dav/`, { method: 'PROPFIND' });
    expect(outside.status).to.equal(404);
    // The console here was built for the root (npm test builds it so): said, with how to rebuild.
    const page = await fetch(`${url}${BASE}/files`);
    expect(page.status).to.equal(503);
    expect(await page.text()).to.contain('BASE_PATH=/coffer npm run build');
  });
});
