/**
 * The web console in real Chromium (Debian's /usr/bin/chromium through playwright-core), against a real
 * Coffer: sign-up, uploads, clashes, rename, move, previews, bin, sharing, public links, live updates,
 * search, activity, admin, phone width and dark mode. Screenshots go to test/artifacts/.
 * The steps build on each other (one user's drive), so they run in order in one describe block.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { Api } from '../support/http.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import {
  CHROMIUM,
  ensureConsoleBuilt,
  launch,
  samplePdf,
  samplePng,
  shot,
  watchedPage,
  type Watched,
} from './support.js';

const XSS = '<img src=x onerror=alert(1)>.txt';
const attr = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const row = (page: Page, name: string) =>
  page.locator(`[data-testid="file-list"] [data-testid="row"][data-name="${attr(name)}"]`);

describe('web console (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  let ctx: BrowserContext;
  let alice: Watched;
  let page: Page;
  const watched: Watched[] = [];
  const dialogs: string[] = [];
  const password = 'alice-password-1';
  let projectsId = '';

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      this.skip();
    }
    this.timeout(180_000);
    ensureConsoleBuilt();
    server = await startTestServer({ env: { OPEN_REGISTRATION: 'true' } });
    browser = await launch();
    ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    alice = await watchedPage(ctx, server.url);
    watched.push(alice);
    page = alice.page;
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function upload(files: { name: string; mimeType: string; buffer: Buffer }[]) {
    await page.locator('[data-testid="file-input"]').setInputFiles(files);
  }
  async function uploadsSettled() {
    await page.waitForFunction(
      () =>
        ![...document.querySelectorAll('[data-testid="upload-row"]')].some((r) =>
          ['queued', 'uploading'].includes(r.getAttribute('data-status')!),
        ),
    );
  }

  it('signs up, and an ended session returns to sign-in and then back to the same page', async () => {
    await page.goto(server.url + '/');
    await page.waitForURL(/\/login\?next=/);
    // A first visit had no session to end: no "Your session has ended" on it.
    await page.getByRole('heading', { name: 'Sign in to Coffer' }).waitFor();
    expect(await page.getByText('Your session has ended').count()).to.equal(0);
    await page.getByRole('link', { name: 'Create one' }).click();
    // The sign-in page has #username and #password too: wait for the sign-up form before typing.
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.fill('#username', 'alice');
    await page.fill('#email', 'alice@example.com');
    await page.fill('#password', password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/files$/);
    await page.getByText('This folder is empty').waitFor();
    await page.locator('[data-testid="quota"]').waitFor();

    // The session ends (cookie gone): the next API call sends the user to sign-in, and back afterwards.
    await ctx.clearCookies();
    alice.expect(401, '/api/trash');
    // The bin page asks for the quota 300 ms after it opens, without a session now. That answer (a 401)
    // is held back until after the sign-in below, and must not sign the new session out when it lands
    // (a race that CI hit: the user was sent back to sign-in).
    let staleStatus = 0;
    let staleFetched!: () => void;
    let landStale!: () => void;
    const fetched = new Promise<void>((resolve) => (staleFetched = resolve));
    const mayLand = new Promise<void>((resolve) => (landStale = resolve));
    await page.route('**/api/auth/me', async (route) => {
      if (staleStatus) return route.continue();
      const answer = await route.fetch();
      staleStatus = answer.status();
      staleFetched();
      await mayLand;
      await route.fulfill({ response: answer });
    });
    await page.getByRole('link', { name: 'Recycle bin' }).click();
    await page.waitForURL(/\/login\?next=%2Ftrash&ended=1/);
    await page.getByText('Your session has ended').waitFor();
    await fetched;
    expect(staleStatus, 'the held answer').to.equal(401);
    await page.fill('#username', 'alice');
    await page.fill('#password', password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/trash$/);
    await page.getByRole('heading', { name: 'Recycle bin' }).waitFor();
    const landed = page.waitForResponse((r) => r.url().endsWith('/api/auth/me') && r.status() === 401);
    landStale();
    await landed;
    await page.waitForTimeout(300); // what the page does with that answer, it does within a few ms
    expect(new URL(page.url()).pathname, 'still in the bin after the stale answer').to.match(/\/trash$/);
    await page.getByRole('heading', { name: 'Recycle bin' }).waitFor({ timeout: 1000 });
    await page.unroute('**/api/auth/me');
  });

  it('creates a folder, uploads files with the chooser and by drag-and-drop, and lists them with sizes', async () => {
    await page.getByRole('link', { name: 'My files' }).click();
    await page.waitForURL(/\/files$/);
    await page.getByRole('button', { name: 'New folder' }).first().click();
    await page.locator('[data-testid="new-folder-input"]').fill('Projects');
    await page.keyboard.press('Enter');
    await row(page, 'Projects').waitFor();
    projectsId = (await row(page, 'Projects').getAttribute('id'))!.replace('row-', '');

    // A second "projects" clashes: the error toast carries the server's own message.
    alice.expect(409, '/api/folders');
    // With an item selected, New folder and Upload stay at hand beside the selection's actions.
    await row(page, 'Projects').click();
    await page.locator('[data-testid="selection-count"]').waitFor();
    await page.getByRole('button', { name: 'Upload' }).waitFor();
    await page.getByRole('button', { name: 'New folder' }).first().click();
    await page.locator('[data-testid="new-folder-input"]').fill('projects');
    await page.keyboard.press('Enter');
    await page
      .getByRole('alert')
      .filter({ hasText: /Could not create the folder: .*exist/i })
      .waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();

    await upload([
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the console\n'.repeat(100)) },
      { name: 'photo.png', mimeType: 'image/png', buffer: samplePng() },
    ]);
    await uploadsSettled();
    await row(page, 'notes.txt').waitFor();
    expect(await row(page, 'notes.txt').locator('[data-testid="size"]').textContent()).to.equal('2.2 KiB');
    await row(page, 'photo.png').waitFor();

    // Drag and drop from the desktop: a drop event carrying a file.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['# dropped\n'], 'dropped.md', { type: 'text/markdown' }));
      const list = document.querySelector('[data-testid="file-list"]')!;
      list.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      list.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await row(page, 'dropped.md').waitFor();
    expect(await row(page, 'dropped.md').locator('[data-testid="size"]').textContent()).to.equal('10 B');
    await shot(page, 'files-light');
  });

  it('on a name clash replaces the file, then keeps both as "name (1).ext"', async () => {
    await upload([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('replaced\n') }]);
    await page.locator('[data-testid="clash-name"]', { hasText: 'notes.txt' }).waitFor();
    await page.getByRole('button', { name: 'Replace' }).click();
    await uploadsSettled();
    await page.waitForFunction(
      () => document.querySelector('[data-name="notes.txt"] [data-testid="size"]')?.textContent === '9 B',
    );

    await upload([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('second copy\n') }]);
    await page.getByRole('button', { name: 'Keep both' }).click();
    await row(page, 'notes (1).txt').waitFor();
    expect(await row(page, 'notes.txt').locator('[data-testid="size"]').textContent()).to.equal('9 B');

    // A name that differs only in case clashes too; replacing writes to the file as it is named
    // (the server would refuse NOTES.TXT with 409). Same bytes, so later tests see the same file.
    const doneBefore = await page
      .locator('[data-testid="upload-row"][data-status="done"]', { hasText: 'notes.txt' })
      .count();
    await upload([{ name: 'NOTES.TXT', mimeType: 'text/plain', buffer: Buffer.from('replaced\n') }]);
    await page.locator('[data-testid="clash-name"]', { hasText: 'notes.txt' }).waitFor();
    await page.getByRole('button', { name: 'Replace' }).click();
    await uploadsSettled();
    expect(
      await page.locator('[data-testid="upload-row"][data-status="done"]', { hasText: 'notes.txt' }).count(),
    ).to.equal(doneBefore + 1);
    expect(await page.locator('[data-testid="upload-row"][data-status="error"]').count()).to.equal(0);
    expect(await page.locator('[data-name="NOTES.TXT"]').count()).to.equal(0);
  });

  it('shows per-file progress and speed on a throttled upload, and cancels another one', async () => {
    const file = path.join(os.tmpdir(), `coffer-e2e-big-${process.pid}.bin`);
    fs.writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 1024 * 1024,
    });
    try {
      await page.locator('[data-testid="file-input"]').setInputFiles(file);
      const widths = new Set<string>();
      let speedSeen = false;
      const r = page.locator('[data-testid="upload-row"]', { hasText: path.basename(file) });
      await r.waitFor();
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        if ((await r.getAttribute('data-status')) === 'done') break;
        const w = await r
          .locator('[data-testid="upload-progress"]')
          .evaluate((e) => (e as HTMLElement).style.width)
          .catch(() => null);
        if (w && w !== '0%') widths.add(w);
        if (/\/s$/.test((await r.textContent().catch(() => '')) ?? '')) speedSeen = true;
        await page.waitForTimeout(100);
      }
      expect(widths.size, `progress values seen: ${[...widths].join(', ')}`).to.be.at.least(3);
      expect(speedSeen, 'a speed (…/s) was shown').to.equal(true);
      await row(page, path.basename(file)).waitFor();

      // Cancel: the second upload stops and leaves nothing behind. Chromium's emulated throttle slows
      // the progress events, not the socket: the server could have the whole body (and keep the file)
      // before the click. So its request is held back until it is cancelled, as a slow link would.
      // The held route is aborted explicitly at the end: unrouting a route whose handler never
      // settled may let Playwright continue the paused request, and the file arrives after all.
      const held = '**/api/folders/*/files/cancelled.bin*';
      let heldRoute: Route | undefined;
      let routedNow = () => {};
      const routed = new Promise<void>((resolve) => (routedNow = resolve));
      await page.route(held, (r) => {
        heldRoute = r;
        routedNow();
      });
      await page.locator('[data-testid="file-input"]').setInputFiles({
        name: 'cancelled.bin',
        mimeType: 'application/octet-stream',
        buffer: Buffer.alloc(3 * 1024 * 1024, 1),
      });
      await routed;
      const last = page.locator('[data-testid="upload-row"]', { hasText: 'cancelled.bin' });
      await last.getByRole('button', { name: 'Cancel upload of cancelled.bin' }).click();
      expect(await last.getAttribute('data-status')).to.equal('cancelled');
      await heldRoute!.abort().catch(() => {});
      await page.unroute(held);
    } finally {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
      fs.rmSync(file, { force: true });
    }
    await page.reload();
    await row(page, 'photo.png').waitFor();
    expect(await row(page, 'cancelled.bin').count()).to.equal(0);
  });

  it('renames inline and moves a file into a folder through the folder picker', async () => {
    await row(page, 'notes (1).txt').click();
    await page.keyboard.press('F2');
    const input = page.locator('[data-testid="rename-input"]');
    await input.fill('renamed.txt');
    await input.press('Enter');
    await row(page, 'renamed.txt').waitFor();

    await row(page, 'renamed.txt').click({ button: 'right' });
    await page.locator('[data-testid="context-menu"]').getByRole('menuitem', { name: 'Move to…' }).click();
    await page.locator('[data-testid="folder-picker"] [data-name="Projects"]').click();
    await page.getByRole('button', { name: 'Move here' }).click();
    await row(page, 'renamed.txt').waitFor({ state: 'detached' });
    await row(page, 'Projects').dblclick();
    await page.waitForURL(new RegExp(`/files/${projectsId}$`));
    await row(page, 'renamed.txt').waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My files' }).click();
    await row(page, 'photo.png').waitFor();
  });

  it('previews an image, a text file, a PDF and a video (streamed with Range), with next/previous', async () => {
    // A short WebM recorded by the browser itself from a canvas (no media files in the repository).
    const webm = await page.evaluate(async () => {
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 120;
      const g = c.getContext('2d')!;
      const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm' });
      const parts: Blob[] = [];
      rec.ondataavailable = (e) => parts.push(e.data);
      const stopped = new Promise((r) => (rec.onstop = r));
      rec.start();
      for (let i = 0; i < 30; i++) {
        g.fillStyle = `hsl(${i * 12}, 80%, 50%)`;
        g.fillRect(0, 0, 160, 120);
        await new Promise((r) => setTimeout(r, 40));
      }
      rec.stop();
      await stopped;
      const buf = new Uint8Array(await new Blob(parts).arrayBuffer());
      let s = '';
      for (const b of buf) s += String.fromCharCode(b);
      return btoa(s);
    });
    await upload([
      { name: 'clip.webm', mimeType: 'video/webm', buffer: Buffer.from(webm, 'base64') },
      { name: 'paper.pdf', mimeType: 'application/pdf', buffer: samplePdf() },
    ]);
    await uploadsSettled();
    await row(page, 'paper.pdf').waitFor();

    await row(page, 'photo.png').locator('[data-testid="name"]').click();
    const preview = page.locator('[data-testid="preview"]');
    await preview.waitFor();
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="preview"] img') as HTMLImageElement | null)?.naturalWidth === 64,
    );
    await shot(page, 'preview-image');

    const ranges: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/content') && r.headers().range) ranges.push(r.headers().range!);
    });
    // Next/previous walk the previewable files in listing order: clip.webm, dropped.md, notes.txt, paper.pdf, photo.png.
    await page.keyboard.press('ArrowLeft');
    await preview.locator('[data-testid="preview-name"]', { hasText: 'paper.pdf' }).waitFor();
    await preview.locator('[data-testid="preview-pdf"]').waitFor();
    expect(await preview.locator('[data-testid="preview-pdf"]').getAttribute('src')).to.match(/^blob:/);
    await page.getByRole('button', { name: 'Previous file' }).click();
    await preview.locator('[data-testid="preview-text"]').waitFor();
    expect(await preview.locator('[data-testid="preview-text"]').textContent()).to.equal('replaced\n');
    await page.keyboard.press('Escape');
    await preview.waitFor({ state: 'detached' });

    await row(page, 'clip.webm').locator('[data-testid="name"]').click();
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="preview-video"]') as HTMLVideoElement | null;
      return !!v && v.readyState >= 2 && v.currentTime > 0;
    });
    expect(ranges.length, 'the video element asked for byte ranges').to.be.greaterThan(0);
    await page.keyboard.press('Escape');
  });

  it('deletes with undo, deletes again and restores from the recycle bin', async () => {
    await row(page, 'dropped.md').click();
    await page.keyboard.press('Delete');
    await row(page, 'dropped.md').waitFor({ state: 'detached' });
    await page
      .locator('[data-testid="toast"]', { hasText: 'recycle bin' })
      .getByRole('button', { name: 'Undo' })
      .click();
    await row(page, 'dropped.md').waitFor();

    await row(page, 'dropped.md').click();
    await page.getByRole('toolbar', { name: 'Selection actions' }).getByRole('button', { name: 'Delete' }).click();
    await row(page, 'dropped.md').waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Recycle bin' }).click();
    const binRow = page.locator('[data-testid="trash-row"][data-name="dropped.md"]');
    await binRow.waitFor();
    expect(await binRow.textContent()).to.contain('My files/dropped.md');
    await shot(page, 'bin');
    await binRow.getByRole('button', { name: /Restore/ }).click();
    await binRow.waitFor({ state: 'detached' });
    // Places are named as the console names them: "My files", not "/".
    await page.locator('[data-testid="toast"]', { hasText: 'Restored “dropped.md” to My files' }).waitFor();
    await page.getByRole('link', { name: 'My files' }).click();
    await row(page, 'dropped.md').waitFor();
  });

  it('selects with click, shift-click, ctrl-click and the keyboard, opens folders by keyboard, and downloads a selection as ZIP', async () => {
    const count = async () =>
      Number(((await page.locator('[data-testid="selection-count"]').textContent()) ?? '0').split(' ')[0]);
    const index = async (name: string) => Number(await row(page, name).getAttribute('data-index'));
    const total = await page.locator('[data-testid="file-list"] [data-testid="row"]').count();

    await row(page, 'clip.webm').click();
    await row(page, 'photo.png').click({ modifiers: ['Shift'] });
    expect(await count()).to.equal((await index('photo.png')) - (await index('clip.webm')) + 1);
    await row(page, 'paper.pdf').click({ modifiers: ['Control'] });
    expect(await count()).to.equal((await index('photo.png')) - (await index('clip.webm')));
    await page.keyboard.press('Control+a');
    expect(await count()).to.equal(total);
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="selection-count"]').waitFor({ state: 'detached' });

    await page.locator('[data-testid="file-list"]').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    expect(await count()).to.equal(2);
    await page.keyboard.press('Home');
    expect(await row(page, 'Projects').getAttribute('aria-selected')).to.equal('true');
    // Shift+F10 opens the context menu with focus inside; Escape closes it and returns to the list.
    await page.keyboard.press('Shift+F10');
    await page.locator('[data-testid="context-menu"]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).to.equal('menuitem');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="context-menu"]').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).to.equal('file-list');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/files/${projectsId}$`));
    await row(page, 'renamed.txt').waitFor();
    await page.locator('[data-testid="file-list"]').focus();
    await page.keyboard.press('Backspace');
    await page.waitForURL(/\/files\/[\w-]+$/);
    await row(page, 'photo.png').waitFor();

    await row(page, 'notes.txt').click();
    await row(page, 'paper.pdf').click({ modifiers: ['Control'] });
    const [zip] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('toolbar', { name: 'Selection actions' }).getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(zip.suggestedFilename()).to.match(/\.zip$/);
    expect(await zip.failure()).to.equal(null);
    await page.keyboard.press('Escape');
  });

  it('uploads a whole folder through the folder picker, and moves a file into it by drag-and-drop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-e2e-'));
    const album = path.join(dir, 'album');
    fs.mkdirSync(path.join(album, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(album, 'a.txt'), 'a');
    fs.writeFileSync(path.join(album, 'sub', 'b.txt'), 'bb');
    try {
      await page.locator('[data-testid="folder-input"]').setInputFiles(album);
      await uploadsSettled();
      await row(page, 'album').dblclick();
      await row(page, 'a.txt').waitFor();
      await row(page, 'sub').dblclick();
      await row(page, 'b.txt').waitFor();
      await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My files' }).click();
      await row(page, 'photo.png').waitFor();

      // Drag a file onto a folder: it moves there.
      await row(page, 'dropped.md').dragTo(row(page, 'album'));
      await row(page, 'dropped.md').waitFor({ state: 'detached' });
      await row(page, 'album').dblclick();
      await row(page, 'dropped.md').waitFor();
      await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My files' }).click();
      await row(page, 'photo.png').waitFor();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows a file named like HTML as exactly that text', async () => {
    await upload([{ name: XSS, mimeType: 'text/plain', buffer: Buffer.from('xss') }]);
    await uploadsSettled();
    await row(page, XSS).waitFor();
    expect(await row(page, XSS).locator('[data-testid="name"]').textContent()).to.equal(XSS);
    expect(await page.locator('[data-testid="file-list"] img[src="x"]').count()).to.equal(0);
    expect(dialogs).to.deep.equal([]);
  });

  it('reloads a deep link (SPA fallback) into the same folder', async () => {
    await page.goto(`${server.url}/files/${projectsId}`);
    await row(page, 'renamed.txt').waitFor();
    await page.reload();
    await row(page, 'renamed.txt').waitFor();
    expect(
      await page.getByRole('navigation', { name: 'Breadcrumbs' }).locator('[aria-current="page"]').textContent(),
    ).to.equal('Projects');
  });

  it('shows a file written through WebDAV in the open folder without a reload', async () => {
    const auth = 'Basic ' + Buffer.from(`alice:${password}`).toString('base64');
    const res = await fetch(`${server.url}/dav/Projects/from-dav.txt`, {
      method: 'PUT',
      headers: { authorization: auth },
      body: 'via webdav',
    });
    expect(res.status).to.be.oneOf([201, 204]);
    await row(page, 'from-dav.txt').waitFor({ timeout: 10_000 });
  });

  it('shares the folder with a second user, who sees and downloads it', async () => {
    const admin = new Api(server.url, await server.adminToken());
    expect(
      (await admin.post('/api/admin/users', { username: 'bob', email: 'bob@example.com', password: 'bob-password-1' }))
        .status,
    ).to.equal(201);
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My files' }).click();
    await row(page, 'Projects').click();
    await page.getByRole('toolbar', { name: 'Selection actions' }).getByRole('button', { name: 'Share' }).click();
    await page.locator('[data-testid="share-user"]').fill('bo');
    await page.getByRole('button', { name: /^bob/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Share', exact: true }).click();
    await page.locator('[data-testid="share-list"]', { hasText: 'bob' }).waitFor();
    await shot(page, 'share-dialog');

    const bobCtx = await browser!.newContext({ acceptDownloads: true });
    const bob = await watchedPage(bobCtx, server.url);
    watched.push(bob);
    await bob.page.goto(server.url + '/shared');
    await bob.page.waitForURL(/\/login/);
    await bob.page.fill('#username', 'bob');
    await bob.page.fill('#password', 'bob-password-1');
    await bob.page.getByRole('button', { name: 'Sign in' }).click();
    await bob.page.waitForURL(/\/shared$/);
    const item = bob.page.locator('[data-testid="incoming"] [data-name="Projects"]');
    await item.waitFor();
    const [dl] = await Promise.all([
      bob.page.waitForEvent('download'),
      item.getByRole('link', { name: 'Download Projects' }).click(),
    ]);
    expect(dl.suggestedFilename()).to.equal('Projects.zip');
    expect(await dl.failure()).to.equal(null);
    await bobCtx.close();
  });

  it('creates a password-protected public link that opens in a fresh browser', async () => {
    await page.getByRole('tab', { name: 'Public links' }).click();
    await page.locator('[data-testid="link-password"]').fill('link-secret');
    await page.getByRole('button', { name: 'Create link' }).click();
    const url = (await page.locator('[data-testid="link-url"]').first().textContent())!;
    expect(url).to.match(/\/s\/[\w-]+$/);
    // Escape closes the dialog after an action inside it, wherever focus went.
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    const anon = await browser!.newContext();
    const visitor = await watchedPage(anon, server.url);
    watched.push(visitor);
    visitor.expect(401, '/api/public/');
    await visitor.page.goto(url);
    await visitor.page.getByText('This link is protected').waitFor();
    await visitor.page.fill('#link-pw', 'wrong-password');
    await visitor.page.getByRole('button', { name: 'Open' }).click();
    await visitor.page.getByText('Wrong password.').waitFor();
    await visitor.page.fill('#link-pw', 'link-secret');
    await visitor.page.getByRole('button', { name: 'Open' }).click();
    await visitor.page.locator('[data-testid="public-list"] [data-name="renamed.txt"]').waitFor();
    await shot(visitor.page, 'public-link');
    await visitor.page.locator('[data-name="renamed.txt"] button').click();
    await visitor.page.locator('[data-testid="preview-text"]').waitFor();
    await anon.close();
  });

  it('lets a visitor upload through an edit link and download the folder as ZIP; the owner sees the upload live', async () => {
    await page.goto(`${server.url}/files/${projectsId}`);
    await row(page, 'renamed.txt').waitFor();
    const res = await page.evaluate(async (id) => {
      const r = await fetch(`/api/nodes/${id}/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-requested-with': 'coffer' },
        body: JSON.stringify({ permission: 'edit' }),
      });
      return { status: r.status, body: await r.json() };
    }, projectsId);
    expect(res.status).to.equal(201);
    const anon = await browser!.newContext({ acceptDownloads: true });
    const visitor = await watchedPage(anon, server.url);
    watched.push(visitor);
    await visitor.page.goto(res.body.url);
    await visitor.page.locator('[data-testid="public-list"] [data-name="renamed.txt"]').waitFor();
    await visitor.page
      .locator('[data-testid="public-file-input"]')
      .setInputFiles({ name: 'from-visitor.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') });
    await visitor.page.locator('[data-testid="public-list"] [data-name="from-visitor.txt"]').waitFor();
    const [zip] = await Promise.all([
      visitor.page.waitForEvent('download'),
      visitor.page.getByRole('link', { name: 'Download all (ZIP)' }).click(),
    ]);
    expect(zip.suggestedFilename()).to.equal('Projects.zip');
    await anon.close();
    await row(page, 'from-visitor.txt').waitFor({ timeout: 10_000 }); // the owner's open folder view picks it up
  });

  it('finds a file with the search box, instantly and on the results page', async () => {
    await page.fill('#global-search', 'renam');
    await page.locator('#search-results').getByText('renamed.txt').waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?q=renam/);
    await page.locator('[data-testid="search-results"] [data-name="renamed.txt"]').waitFor();
    // The dropdown never outlives its page, and never shows for an empty box (no "No matches for “”").
    await page.focus('#global-search');
    await page.locator('#search-results').waitFor();
    await page.goBack();
    await page.waitForURL((u) => !u.pathname.endsWith('/search'));
    await page.waitForTimeout(400); // past the search's debounce
    expect(await page.locator('#search-results').count()).to.equal(0);
    expect(await page.inputValue('#global-search')).to.equal('');
    await page.fill('#global-search', 'renam');
    await page.locator('#search-results').getByText('renamed.txt').waitFor();
    // Leaving the box and coming straight back (as a navigation's focus reset and a click can do)
    // keeps the dropdown: the close that leaving scheduled is cancelled.
    await page.evaluate(() => {
      const box = document.querySelector<HTMLInputElement>('#global-search')!;
      box.blur();
      box.focus();
    });
    await page.waitForTimeout(400);
    expect(await page.locator('#search-results').count(), 'the dropdown after leaving and coming back').to.equal(1);
    await page.fill('#global-search', '');
    await page.waitForTimeout(400);
    expect(await page.locator('#search-results').count()).to.equal(0);
    await page.locator('#global-search').blur();
  });

  it('lists the uploads, the move, the share, the link, the delete and the restore in the activity log', async () => {
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.locator('[data-testid="activity-row"]').first().waitFor();
    const actions = new Set(
      await page
        .locator('[data-testid="activity-row"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))),
    );
    for (const a of [
      'file.uploaded',
      'file.replaced',
      'folder.created',
      'node.renamed',
      'node.moved',
      'share.created',
      'link.created',
      'node.trashed',
      'node.restored',
    ]) {
      expect(actions, a).to.include(a);
    }
    // A rename shows the old name, a move where the item was, and the console's door is "web".
    const activityRow = (action: string) =>
      page.locator(`[data-testid="activity-row"][data-action="${action}"]`, { hasText: 'renamed.txt' }).first();
    expect(await activityRow('node.renamed').textContent()).to.contain('was “notes (1).txt”');
    expect(await activityRow('node.moved').textContent()).to.contain('was at My files/renamed.txt');
    expect(await activityRow('node.moved').locator('td').last().textContent()).to.match(/^web\b/);
    await shot(page, 'activity');

    // Infinite scroll: 60 more entries, the first page holds 50, scrolling to the end loads the rest.
    await page.evaluate(async (parentId) => {
      for (let i = 0; i < 60; i++) {
        await fetch('/api/folders', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-requested-with': 'coffer' },
          body: JSON.stringify({ parentId, name: `bulk-${i}` }),
        });
      }
    }, projectsId);
    // A fresh load at the top (a reload restores the scroll position, and with the end of the list in
    // view the next page loads at once: the count below then raced it).
    await page.goto(page.url());
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('[data-testid="activity-row"]').nth(49).waitFor();
    expect(await page.locator('[data-testid="activity-row"]').count()).to.equal(50);
    await page.locator('[data-testid="activity-row"]').nth(49).scrollIntoViewIfNeeded();
    await page.locator('[data-testid="activity-row"]').nth(50).waitFor();
    // The action filter narrows the table to one kind of entry.
    await page.selectOption('#f-action', 'node.moved');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="activity-row"]')];
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-action') === 'node.moved');
    });
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).to.contain('action=node.moved');
  });

  it('renders in dark mode', async () => {
    await page.getByRole('link', { name: 'My files' }).click();
    await row(page, 'photo.png').waitFor();
    await page.getByRole('button', { name: 'Use dark theme' }).click();
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).to.not.equal(
      'rgb(255, 255, 255)',
    );
    await page.getByRole('button', { name: 'Grid view' }).click();
    // Names in the grid wrap between words (a word is broken only when it alone is too long), two lines at most.
    const tileName = page.locator('[data-testid="file-list"] [data-testid="name"]').first();
    expect(
      await tileName.evaluate((e) => {
        const s = getComputedStyle(e);
        return [s.wordBreak, s.overflowWrap, s.webkitLineClamp];
      }),
    ).to.deep.equal(['normal', 'break-word', '2']);
    await shot(page, 'files-dark-grid');
    await page.getByRole('button', { name: 'List view' }).click();
    await shot(page, 'files-dark');
    // A tour of the remaining pages (the final check sees any error they raise).
    await page.getByRole('link', { name: 'Shared' }).click();
    await page.getByRole('tab', { name: 'Shared by me' }).click();
    await page.locator('[data-testid="outgoing"] [data-name="Projects"]').waitFor();
    await shot(page, 'shared-by-me-dark');
    await page.getByRole('link', { name: 'Connect a drive' }).click();
    await page.locator('[data-testid="dav-url"]').waitFor();
    await page.getByRole('tab', { name: 'Linux' }).click();
    // davfs2 1.6 lists no folder on Linux ≥ 6.16 without buf_size; a boot fstab line has no noauto.
    await page.getByText('buf_size 64', { exact: true }).waitFor();
    const fstab = await page.getByText('/mnt/coffer davfs _netdev', { exact: false }).textContent();
    expect(fstab).to.not.include('noauto');
    await page.getByRole('tab', { name: 'rclone' }).click();
    await page.getByText('vendor=owncloud', { exact: false }).first().waitFor();
    await shot(page, 'connect-dark');
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menuitem', { name: 'Account settings' }).click();
    await page.getByRole('heading', { name: 'Change password' }).waitFor();
    await page.getByRole('button', { name: 'Use light theme' }).click();
  });

  it('shows the admin pages to an administrator', async () => {
    const adminCtx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const admin = await watchedPage(adminCtx, server.url);
    watched.push(admin);
    await admin.page.goto(server.url + '/login?next=%2Fadmin');
    await admin.page.fill('#username', 'admin');
    await admin.page.fill('#password', ADMIN_PASSWORD);
    await admin.page.getByRole('button', { name: 'Sign in' }).click();
    await admin.page.waitForURL(/\/admin$/);
    await admin.page.locator('[data-testid="user-row"][data-name="bob"]').waitFor();
    await admin.page.locator('[data-testid="stats"]').waitFor();
    await shot(admin.page, 'admin');
    await adminCtx.close();
  });

  it('fits a phone-sized screen without horizontal scrolling', async () => {
    const phone = await browser!.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const p = await watchedPage(phone, server.url);
    watched.push(p);
    await p.page.goto(server.url + '/login');
    await p.page.fill('#username', 'alice');
    await p.page.fill('#password', password);
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await p.page.waitForURL(/\/files$/);
    await row(p.page, 'photo.png').waitFor();
    const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).to.be.at.most(0);
    await shot(p.page, 'phone-files');
    await p.page.getByRole('button', { name: 'Open navigation' }).click();
    await p.page.getByRole('link', { name: 'Connect a drive' }).click();
    await p.page.locator('[data-testid="dav-url"]', { hasText: `${server.url}/dav/` }).waitFor();
    expect(await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).to.be.at.most(0);
    await phone.close();
  });

  it('had no uncaught exception, failed request or foreign request on any page', () => {
    const all = watched.flatMap((w) => w.problems);
    expect(all).to.deep.equal([]);
  });
});
