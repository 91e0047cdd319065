/**
 * A file drop in Chromium: the owner creates an upload-only link in the share dialog (which also
 * shows the link's WebDAV URL), a fresh browser opens it, sees no listing, sends two files (one of
 * them a name already taken, stored under a number), and the owner sees them in the folder.
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { Api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { consoleBrowser, shot, watchedPage, type Watched } from './support.js';

describe('file-drop links (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  const watched: Watched[] = [];
  let owner: Api;
  let inboxId = '';
  const password = 'dora-password-1';

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer();
    const admin = new Api(server.url, await server.adminToken());
    expect(
      (await admin.post('/api/admin/users', { username: 'dora', email: 'dora@example.com', password })).status,
    ).to.equal(201);
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dora', password }),
    });
    const { token, user } = (await res.json()) as { token: string; user: { rootId: string } };
    owner = new Api(server.url, token);
    inboxId = (await owner.mkdir(user.rootId, 'Inbox')).id;
    await owner.upload(inboxId, 'report.txt', 'the owner’s report');
    await owner.upload(inboxId, 'private.txt', 'not for visitors');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the owner creates an upload-only link; a visitor sees no listing, sends files; the owner sees them', async () => {
    const dora = await watchedPage(await browser!.newContext(), server.url);
    watched.push(dora);
    const page = dora.page;
    await page.goto(server.url + '/');
    await page.waitForURL(/\/login/);
    await page.fill('#username', 'dora');
    await page.fill('#password', password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const inbox = page.locator('[data-testid="file-list"] [data-testid="row"][data-name="Inbox"]');
    await inbox.click();
    await page.getByRole('toolbar', { name: 'Selection actions' }).getByRole('button', { name: 'Share' }).click();
    await page.getByRole('tab', { name: 'Public links' }).click();
    await page.locator('#link-perm').selectOption('upload');
    await page.locator('#link-max-size').fill('5');
    await page.getByRole('button', { name: 'Create link' }).click();
    const url = (await page.locator('[data-testid="link-url"]').first().textContent())!;
    expect(url).to.match(/\/s\/[\w-]+$/);
    const token = url.split('/').pop()!;
    expect(await page.locator('[data-testid="link-dav-url"]').first().textContent()).to.equal(
      `${server.url}/public-dav/${token}/`,
    );
    await page.getByRole('dialog').getByText('upload only').waitFor();
    await shot(page, 'file-drop-dialog');
    const links = (await owner.json(owner.get(`/api/nodes/${inboxId}/links`))).items as {
      permission: string;
      maxUploadBytes: number;
    }[];
    expect(links[0]).to.include({ permission: 'upload', maxUploadBytes: 5 * 1024 * 1024 });

    const anon = await browser!.newContext();
    const visitor = await watchedPage(anon, server.url);
    watched.push(visitor);
    await visitor.page.goto(url);
    await visitor.page.getByRole('heading', { name: 'Send files to “Inbox”' }).waitFor();
    expect(await visitor.page.locator('[data-testid="public-list"]').count()).to.equal(0);
    expect(await visitor.page.getByText('private.txt').count()).to.equal(0);
    await visitor.page.locator('[data-testid="drop-file-input"]').setInputFiles([
      { name: 'from-visitor.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from outside') },
      { name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from('a visitor’s report') },
    ]);
    const sent = visitor.page.locator('[data-testid="drop-sent"]');
    await sent.locator('[data-name="from-visitor.txt"][data-status="done"]').waitFor();
    await sent.locator('[data-name="report.txt"][data-status="done"]').getByText('sent as “report (1).txt”').waitFor();
    await shot(visitor.page, 'file-drop-visitor');
    await anon.close();

    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await inbox.dblclick();
    for (const name of ['from-visitor.txt', 'report (1).txt', 'report.txt'])
      await page.locator(`[data-testid="file-list"] [data-testid="row"][data-name="${name}"]`).waitFor();
    const kids = await owner.children(inboxId);
    const report = kids.find((n) => n.name === 'report.txt')!;
    expect(await (await owner.get(`/api/files/${report.id}/content`)).text()).to.equal('the owner’s report');
    expect(watched.flatMap((w) => w.problems)).to.deep.equal([]);
  });
});
