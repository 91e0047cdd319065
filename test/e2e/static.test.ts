/** Serving the built console from the Koa process: caching, SPA fallback, and an honest 503 without a build. */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import { CONSOLE_BUILD_DIR, serveConsole } from '../../server/api/static.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ensureConsoleBuilt } from './support.js';

describe('console static serving', function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    ensureConsoleBuilt();
    server = await startTestServer();
  });
  after(() => server?.close());

  it('serves index.html for unknown paths (SPA fallback), revalidated, not framable', async () => {
    for (const p of ['/', '/files/some/deep/link', '/s/abc?x=1', '/trash']) {
      const res = await fetch(server.url + p);
      expect(res.status, p).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(res.headers.get('cache-control')).to.equal('no-cache');
      expect(res.headers.get('x-frame-options')).to.equal('DENY');
      expect(await res.text()).to.contain('/_app/immutable/');
    }
  });

  it('serves /_app/immutable/* with a one-year immutable cache and answers 304 to a matching ETag', async () => {
    const html = await (await fetch(server.url + '/files')).text();
    const asset = /(\/_app\/immutable\/[^"']+\.js)/.exec(html)?.[1];
    expect(asset, 'index.html references an immutable asset').to.be.a('string');
    const res = await fetch(server.url + asset);
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).to.match(/javascript/);
    const again = await fetch(server.url + asset, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).to.equal(304);
  });

  it('answers 404 for a missing asset, JSON 404 under /api, and never serves files outside the build', async () => {
    expect((await fetch(server.url + '/_app/immutable/nope.js')).status).to.equal(404);
    const api = await fetch(server.url + '/api/nope');
    expect(api.status).to.equal(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).to.equal('not_found');
    // Traversal attempts fall back to index.html at worst, never to a file outside console/build.
    for (const p of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/_app/..%2f..%2f..%2fpackage.json']) {
      const res = await fetch(server.url + p);
      expect(await res.text(), p).to.not.contain('"devDependencies"');
    }
    const post = await fetch(server.url + '/files', { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(CONSOLE_BUILD_DIR.endsWith(path.join('console', 'build'))).to.equal(true);
  });

  it('says plainly, with 503, that the console is not built when the build is missing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-nobuild-'));
    const app = new Koa();
    app.use(serveConsole(empty));
    const srv = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/files`);
      expect(res.status).to.equal(503);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      expect(await res.text()).to.equal('The web console is not built: run npm run build\n');
    } finally {
      srv.close();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
