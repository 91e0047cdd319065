/**
 * Resumable uploads in the console (Chromium): a large file goes through tus, survives going
 * offline mid-transfer (CDP network emulation) and a page reload, continuing from the server's offset.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/store.js';
import { consoleBrowser, shot, signIn, watchedPage, type Watched } from './support.js';

const MiB = 1024 * 1024;

describe('web console: resumable uploads (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let user: TestUser;
  let w: Watched;
  const files: string[] = [];

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer();
    user = await createUser(server);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    w = await watchedPage(ctx, server.url);
    await signIn(w.page, server.url, user);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    for (const f of files) fs.rmSync(f, { force: true });
  });

  /** A file of random bytes (above the console's tus threshold) and its sha256. */
  function bigFile(name: string, size = 20 * MiB): { file: string; sha256: string } {
    const bytes = randomBytes(size);
    const file = path.join(os.tmpdir(), `coffer-e2e-${process.pid}-${name}`);
    fs.writeFileSync(file, bytes);
    files.push(file);
    return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  const network = (cdp: CDPSession, conditions: { offline?: boolean; uploadThroughput?: number }) =>
    cdp.send('Network.emulateNetworkConditions', {
      offline: conditions.offline ?? false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: conditions.uploadThroughput ?? -1,
    });

  const row = (page: Page, name: string) => page.locator('[data-testid="upload-row"]', { hasText: name });

  /** Bytes the server holds of the user's upload under way (what HEAD reports). */
  const serverOffset = async () =>
    Number((await server.app.db.get<{ r: unknown }>('SELECT MAX(received) AS r FROM resumable_uploads'))?.r ?? 0);

  /** Chooses `file` in the upload picker with the upload throttled to 1 MiB/s; resolves once a fifth is sent. */
  async function startThrottled(page: Page, file: string): Promise<CDPSession> {
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await network(cdp, { uploadThroughput: MiB });
    await page.locator('[data-testid="file-input"]').setInputFiles(file);
    await eventually(async () => (await width(page, path.basename(file))) >= 20, 30_000, 'a fifth sent');
    return cdp;
  }

  /** The panel says where the upload resumed (the server's offset `kept`), and the upload completes. */
  async function expectResumed(page: Page, name: string, kept: number) {
    await row(page, name)
      .getByText(/Resumed at \d+%/)
      .waitFor({ timeout: 15_000 });
    const resumed = Number(/Resumed at (\d+)%/.exec(await row(page, name).innerText())![1]);
    expect(resumed).to.equal(Math.floor((kept / (20 * MiB)) * 100));
    expect(resumed).to.be.above(0);
    await page
      .locator(`[data-testid="upload-row"][data-status="done"]`, { hasText: name })
      .waitFor({ timeout: 30_000 });
  }

  async function expectStored(name: string, sha256: string) {
    const a = api(server.url).as(user);
    const node = (await a.children(user.rootId)).find((n: NodeJson) => n.name === name);
    expect(node, `${name} is stored`).to.not.equal(undefined);
    expect(node!.etag).to.equal(sha256);
  }

  const width = async (page: Page, name: string) => {
    const style = (await row(page, name).locator('[data-testid="upload-progress"]').getAttribute('style')) ?? '';
    return parseFloat(/width:\s*([\d.]+)%/.exec(style)?.[1] ?? '0');
  };

  it('a throttled upload interrupted by going offline resumes after coming back online', async () => {
    const { page } = w;
    const { file, sha256 } = bigFile('offline.bin');
    const name = path.basename(file);
    const cdp = await startThrottled(page, file);
    try {
      await network(cdp, { offline: true });
      await row(page, name).getByText('Waiting for the network…').waitFor({ timeout: 15_000 });
      await eventually(async () => (await serverOffset()) > 0, 10_000, 'the server to keep the bytes received');
      const kept = await serverOffset();
      await shot(page, 'tus-offline');
      await network(cdp, { uploadThroughput: 8 * MiB });
      await expectResumed(page, name, kept);
    } finally {
      await network(cdp, {});
      await cdp.detach();
    }
    await expectStored(name, sha256);
  });

  it('resumes an upload after a page reload (the same file chosen again) without starting from zero', async () => {
    const { page } = w;
    const { file, sha256 } = bigFile('reload.bin');
    const name = path.basename(file);
    const cdp = await startThrottled(page, file);
    await network(cdp, {});
    await cdp.detach();
    await page.reload();
    let kept = 0;
    await eventually(async () => (kept = await serverOffset()) > 0, 10_000, 'the server to keep the bytes received');
    await page.locator('[data-testid="file-input"]').setInputFiles(file);
    await expectResumed(page, name, kept);
    await shot(page, 'tus-resumed-after-reload');
    await expectStored(name, sha256);
    // The finished upload is forgotten: nothing left in localStorage to resume.
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::')));
    expect(stored).to.deep.equal([]);
  });

  it('uploads a large file through an edit link page with tus', async () => {
    const a = api(server.url).as(user);
    const inbox = await a.mkdir(user.rootId, 'Inbox');
    const link = await a.json<{ token: string }>(a.post(`/api/nodes/${inbox.id}/links`, { permission: 'edit' }));
    const { file, sha256 } = bigFile('via-link.bin', 9 * MiB);
    const { page } = w;
    const tusRequests: string[] = [];
    const seen = (req: { method(): string; url(): string }) => {
      if (req.url().includes(`/api/public/${link.token}/uploads`)) tusRequests.push(req.method());
    };
    page.on('request', seen);
    try {
      await page.goto(`${server.url}/s/${link.token}`);
      await page.locator('[data-testid="public-file-input"]').setInputFiles(file);
      await page.getByText(`Uploaded “${path.basename(file)}”`).waitFor({ timeout: 30_000 });
    } finally {
      page.off('request', seen);
    }
    expect(tusRequests).to.include.members(['POST', 'PATCH']);
    const stored = (await a.children(inbox.id)).find((n) => n.name === path.basename(file));
    expect(stored?.etag).to.equal(sha256);
  });

  it("shows the server's reason when a large upload cannot fit (507 at creation)", async () => {
    const admin = api(server.url).as(await server.adminToken());
    const setQuota = (quotaBytes: number) => admin.patch(`/api/admin/users/${user.id}`, { quotaBytes });
    expect((await setQuota(100 * MiB)).status).to.equal(200);
    w.expect(507, '/api/uploads');
    try {
      const { file } = bigFile('too-big.bin', 110 * MiB);
      const { page } = w;
      await page.goto(`${server.url}/files`);
      await page.locator('[data-testid="file-input"]').setInputFiles(file);
      const failed = page.locator('[data-testid="upload-row"][data-status="error"]', { hasText: path.basename(file) });
      await failed.waitFor({ timeout: 15_000 });
      expect(await failed.innerText()).to.include('Failed: Not enough storage space left'); // the server's message
    } finally {
      await setQuota(10 * 1024 * MiB);
    }
  });

  it('had no unexpected errors (other than the requests the offline network refused, and the 507 provoked)', () => {
    const expected = /ERR_INTERNET_DISCONNECTED$|responded with a status of 507 \(Insufficient Storage\)$/;
    expect(w.problems.filter((p) => !expected.test(p))).to.deep.equal([]);
  });
});
