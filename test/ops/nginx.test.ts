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
import { Dav, davUser, type DavUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { expectLitmusPasses } from '../support/litmus.js';
import { freePort } from '../support/net.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { readEvents } from '../support/sse.js';
import { ROOT } from './support.js';

const SNIPPET = path.join(ROOT, 'config/nginx/coffer-proxy.conf');

function nginxConf(dir: string, port: number, upstreams: number[]): string {
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
    location / {
      include ${SNIPPET};
    }
  }
}
`;
}

describe('behind nginx (config/nginx/coffer-proxy.conf), two instances on one store', function () {
  this.timeout(240_000);
  let a: TestServer, b: TestServer;
  let nginx: ChildProcess | undefined;
  let dir: string;
  let url: string;
  let user: DavUser;

  before(async function () {
    if (spawnSync('nginx', ['-v']).error) {
      console.log('      skipped: nginx is not installed (apt-get install nginx)');
      this.skip();
    }
    const env = { TRUST_PROXY: 'true' };
    a = await startTestServer({ env });
    b = await startTestServer({ env, shareStoreWith: a });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-nginx-'));
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(
      conf,
      nginxConf(
        dir,
        port,
        [a, b].map((s) => Number(new URL(s.url).port)),
      ),
    );
    const check = spawnSync('nginx', ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
    expect(check.status, check.stderr).to.equal(0);
    nginx = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await fetch(`${url}/api/health`).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() > deadline)
        throw new Error(`nginx did not answer: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    user = await davUser(a, { password: 'through-nginx-42' });
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await b?.close();
    await a?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

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
