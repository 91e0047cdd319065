/** The console's Versions panel in Chromium: list, download, restore and delete a file's versions. */
import fs from 'node:fs';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { CHROMIUM, ensureConsoleBuilt, launch, shot, watchedPage, type Watched } from './support.js';

describe('web console: file versions (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  let user: TestUser;
  let w: Watched;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      this.skip();
    }
    this.timeout(180_000);
    ensureConsoleBuilt();
    server = await startTestServer();
    user = await createUser(server);
    browser = await launch();
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    w = await watchedPage(ctx, server.url);
    w.page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the versions of a file, downloads one, restores it and deletes another', async () => {
    const a = api(server.url).as(user);
    const file = await a.upload(user.rootId, 'notes.txt', 'first draft');
    await a.upload(user.rootId, 'notes.txt', 'second draft', '?overwrite=true');
    const { page } = w;

    await page.goto(`${server.url}/login`);
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/files/);
    const row = page.locator('[data-testid="file-list"] [data-testid="row"][data-name="notes.txt"]');
    await row.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Versions…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Versions of notes.txt' });
    await dialog.locator('[data-testid="version-row"]').first().waitFor();
    expect(await dialog.locator('[data-testid="version-row"]').count()).to.equal(1);
    const text = (await dialog.locator('[data-testid="version-row"]').first().innerText()).replace(/\s+/g, ' ');
    expect(text, text).to.include(`by ${user.username} via web`);
    await shot(page, 'versions-panel');

    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      dialog.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(fs.readFileSync((await dl.path())!, 'utf8')).to.equal('first draft');

    await dialog.getByRole('button', { name: 'Restore' }).click();
    await page.getByText(/Restored the version of/).waitFor();
    expect(await (await a.get(`/api/files/${file.id}/content`)).text()).to.equal('first draft');
    // The replaced content ("second draft") is now the one version.
    await dialog.locator('[data-testid="version-row"]').first().waitFor();
    const { items } = await a.json(a.get(`/api/nodes/${file.id}/versions`));
    expect(items).to.have.length(1);
    expect(items[0].size).to.equal('second draft'.length);

    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByTestId('no-versions').waitFor();
    expect((await a.json(a.get(`/api/nodes/${file.id}/versions`))).items).to.deep.equal([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(w.problems).to.deep.equal([]);
  });
});
