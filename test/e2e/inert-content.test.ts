/**
 * Stored XSS through the doors (issue 9, item 1), in real Chromium: an HTML page and an SVG with
 * script, planted through WebDAV, are opened by a victim whose console is signed in (session
 * cookie) and whose browser holds Basic credentials for /dav. No script may run and no request may
 * leave with the session: the file is downloaded, or rendered sandboxed on the separate content origin.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { Dav, davUser, type DavUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { freePort } from '../support/net.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CHROMIUM, ensureConsoleBuilt, launch } from './support.js';

/** Each payload announces itself three ways: the title, a request with the session, an image beacon. */
const HTML = `<!doctype html><meta charset="utf-8"><title>planted</title>
<img src="/beacon/html-img" alt="">
<script>
  document.title = 'RAN';
  fetch('/api/auth/me').then((r) => r.text()).then((t) => { document.title = 'RAN ' + t; new Image().src = '/beacon/html-script?' + encodeURIComponent(t); });
</script>`;
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">
<title>planted</title>
<image href="/beacon/svg-img" width="10" height="10"/>
<script>document.title = 'RAN'; fetch('/api/auth/me').then((r) => r.text()).then((t) => { new Image().src = '/beacon/svg-script?' + encodeURIComponent(t); });</script>
</svg>`;

describe('user content is inert in Chromium (stored XSS through WebDAV)', function () {
  this.timeout(180_000);
  let browser: Browser | null = null;
  let server: TestServer;
  let victim: DavUser;
  let ids: Record<string, string> = {};

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      this.skip();
    }
    ensureConsoleBuilt();
    browser = await launch();
    server = await startTestServer();
    victim = await davUser(server);
    ids = await plant(server, victim);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The attacker's files, uploaded through WebDAV (here into the victim's own drive, as a share would). */
  async function plant(srv: TestServer, user: DavUser): Promise<Record<string, string>> {
    const dav = Dav.for(srv, user);
    expect((await dav.put('/dav/x.html', HTML)).status).to.equal(201);
    expect((await dav.put('/dav/x.svg', SVG)).status).to.equal(201);
    const out: Record<string, string> = {};
    for (const n of await api(srv.url).as(user).children(user.rootId)) out[n.name] = n.id;
    return out;
  }

  /** A context with the victim signed in to the console (the real sign-in form) and Basic credentials for /dav. */
  async function signedIn(srv: TestServer, user: DavUser): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser!.newContext({
      acceptDownloads: true,
      httpCredentials: { username: user.username, password: user.password },
    });
    const page = await ctx.newPage();
    await page.goto(srv.url + '/login');
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/files$/);
    // The session is live: this same browser reads /api/auth/me with its cookie.
    const me = await page.evaluate(async () => (await fetch('/api/auth/me')).status);
    expect(me).to.equal(200);
    return { ctx, page };
  }

  /**
   * Opens `url` in a new tab and waits for whatever it does: a download (the URL is an attachment)
   * or a rendered document. Returns what happened and every request the tab sent besides the
   * navigation itself (a request the CSP blocked never leaves the browser, so it does not count).
   */
  async function open(ctx: BrowserContext, url: string) {
    const page = await ctx.newPage();
    const requests: Request[] = [];
    page.on('request', (r) => void requests.push(r));
    const download = page.waitForEvent('download', { timeout: 5_000 }).catch(() => null);
    let rendered = true;
    try {
      await page.goto(url, { waitUntil: 'load' });
    } catch (err) {
      // Chromium aborts the navigation when the response is a download.
      if (!/Download is starting|net::ERR_ABORTED/.test((err as Error).message)) throw err;
      rendered = false;
    }
    const file = rendered ? null : await download;
    await page.waitForTimeout(1_500); // time for a script, had one run, to fetch and beacon
    const title = await page.title().catch(() => '');
    const blocked = (r: Request) => /csp/i.test(r.failure()?.errorText ?? '');
    const sent = requests
      .filter((r) => r.url() !== new URL(url).href && !blocked(r))
      .map((r) => new URL(r.url()))
      .map((u) => u.pathname + u.search);
    await page.close();
    return { rendered, download: file?.suggestedFilename() ?? null, title, sent };
  }

  function expectInert(r: { title: string; sent: string[] }, what: string) {
    expect(r.title, `${what}: a script ran`).to.not.match(/^RAN/);
    expect(
      r.sent.filter((p) => !p.startsWith('/content/')),
      `${what}: requests that left the page`,
    ).to.deep.equal([]);
  }

  it('opening the WebDAV URL of a planted page or SVG downloads it: no script runs, nothing leaves with the session', async () => {
    const s = await signedIn(server, victim);
    for (const name of ['x.html', 'x.svg']) {
      const r = await open(s.ctx, `${server.url}/dav/${name}`);
      expectInert(r, `/dav/${name}`);
      expect(r.rendered, `/dav/${name} was rendered on Coffer's origin`).to.equal(false);
      expect(r.download).to.equal(name);
    }
    await s.ctx.close();
  });

  it('opening the API preview URL of the same files downloads them too', async () => {
    const s = await signedIn(server, victim);
    for (const name of ['x.html', 'x.svg']) {
      const r = await open(s.ctx, `${server.url}/api/files/${ids[name]}/content`);
      expectInert(r, `preview of ${name}`);
      expect(r.rendered).to.equal(false);
    }
    await s.ctx.close();
  });

  it('with CONTENT_ORIGIN the preview renders on the content host, sandboxed: still no script and no request', async () => {
    const port = await freePort();
    const srv = await startTestServer({ env: { PORT: String(port), CONTENT_ORIGIN: `http://localhost:${port}` } });
    try {
      const user = await davUser(srv);
      const planted = await plant(srv, user);
      const s = await signedIn(srv, user);
      for (const name of ['x.html', 'x.svg']) {
        const r = await open(s.ctx, `${srv.url}/api/files/${planted[name]}/content`);
        expect(r.rendered, `${name} is shown inline on the content host`).to.equal(true);
        expect(r.title).to.equal('planted');
        expectInert(r, `content-origin preview of ${name}`);
        expect(
          r.sent.some((p) => p.startsWith('/content/')),
          'followed the redirect',
        ).to.equal(true);
      }
      await s.ctx.close();
    } finally {
      await srv.close();
    }
  });
});
