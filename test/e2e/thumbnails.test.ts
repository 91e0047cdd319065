/** Thumbnails in the console (Chromium): the grid, the preview (its strip, a PDF's first page at once) and a link's page. */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { api, createUser, type TestUser } from '../support/http.js';
import { solid } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { consoleBrowser, samplePdf, shot, watchedPage, type Watched } from './support.js';

const naturalWidth = (page: Page, selector: string) =>
  page.waitForFunction(
    (sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].some((i) => i.complete && i.naturalWidth > 0),
    selector,
  );

describe('web console: thumbnails (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  let user: TestUser;
  let w: Watched;

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer();
    user = await createUser(server);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    w = await watchedPage(ctx, server.url);
    const a = api(server.url).as(user);
    const photo = await solid(1600, 1200, '#c84').jpeg().toBuffer();
    await a.upload(user.rootId, 'photo.jpg', photo);
    await a.upload(user.rootId, 'paper.pdf', samplePdf());
    await a.upload(user.rootId, 'broken.png', Buffer.from('not a png at all'));
    await a.upload(user.rootId, 'readme.txt', 'hello');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows thumbnails in the grid, the icon when there is none', async () => {
    const { page } = w;
    w.expect(404, '/api/files/'); // broken.png: no_thumbnail, shown as its icon
    await page.goto(`${server.url}/login`);
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/files/);
    await page.getByRole('button', { name: 'Grid view' }).click();
    const tile = (name: string) => page.locator(`[data-testid="file-list"] [data-testid="row"][data-name="${name}"]`);
    const img = tile('photo.jpg').locator('img[data-testid="thumbnail"]');
    await img.waitFor();
    expect(await img.getAttribute('loading')).to.equal('lazy');
    expect(await img.getAttribute('src')).to.match(/\/api\/files\/[^/]+\/thumbnail\?size=256/);
    await naturalWidth(page, '[data-name="photo.jpg"] img[data-testid="thumbnail"]');
    // A thumbnail, not the 1600-pixel photo.
    expect(await img.evaluate((i: HTMLImageElement) => i.naturalWidth)).to.equal(256);
    await naturalWidth(page, '[data-name="paper.pdf"] img[data-testid="thumbnail"]');
    // The broken image falls back to its icon; a text file never asks.
    await tile('broken.png').locator('svg').waitFor();
    expect(await tile('broken.png').locator('img').count()).to.equal(0);
    expect(await tile('readme.txt').locator('img').count()).to.equal(0);
    await shot(page, 'thumbnails-grid');
    expect(w.problems).to.deep.equal([]);
  });

  it("shows a PDF's first page at once while the file loads, and a strip of the others", async () => {
    const { page } = w;
    // Hold the PDF's bytes back: the first page must show from the thumbnail meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(/\/api\/files\/[^/]+\/content/, async (route) => {
      await held;
      await route.continue();
    });
    await page.locator('[data-testid="row"][data-name="paper.pdf"]').dblclick();
    const preview = page.locator('[data-testid="preview"]');
    await naturalWidth(page, '[data-testid="preview-pdf-thumbnail"]');
    expect(await preview.locator('[data-testid="preview-pdf"]').count(), 'the PDF is still loading').to.equal(0);
    const strip = preview.locator('[data-testid="preview-strip"]');
    await strip.getByRole('button', { name: 'Show photo.jpg' }).locator('img').waitFor();
    await shot(page, 'thumbnails-pdf-preview');
    release();
    await preview.locator('[data-testid="preview-pdf"]').waitFor();
    await page.unroute(/\/api\/files\/[^/]+\/content/);
    await strip.getByRole('button', { name: 'Show photo.jpg' }).click();
    await preview.locator('[data-testid="preview-name"]', { hasText: 'photo.jpg' }).waitFor();
    await page.keyboard.press('Escape');
    expect(w.problems).to.deep.equal([]);
  });

  it("shows thumbnails on a public link's page", async () => {
    const a = api(server.url).as(user);
    const folder = await a.mkdir(user.rootId, 'Album');
    await a.upload(folder.id, 'shot.jpg', await solid(300, 200, '#48c').jpeg().toBuffer());
    const { token } = await a.json(a.post(`/api/nodes/${folder.id}/links`, { permission: 'view' }));
    const { page } = w;
    await page.goto(`${server.url}/s/${token}`);
    await page.locator('[data-testid="public-list"] [data-name="shot.jpg"]').waitFor();
    await naturalWidth(page, '[data-testid="public-list"] [data-name="shot.jpg"] img[data-testid="thumbnail"]');
    expect(await page.locator('[data-name="shot.jpg"] img[data-testid="thumbnail"]').getAttribute('src')).to.include(
      `/api/public/${token}/thumbnail?id=`,
    );
    expect(w.problems).to.deep.equal([]);
  });
});
