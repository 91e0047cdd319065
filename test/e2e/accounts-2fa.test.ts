/**
 * Accounts in real Chromium: turn on two-factor sign-in from the settings page (the secret read off
 * the page, the code computed with otpauth), sign out, sign in with a code; make an app password on
 * the devices page, copy it and use it over WebDAV; an admin sees 2FA on and resets it; with
 * REQUIRE_2FA a user without it is sent to the setup. The server runs on a ManualClock so that the
 * code of a later time step can be asked for without waiting.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { systemActor } from '../../server/domain/actor.js';
import { ManualClock } from '../../server/domain/clock.js';
import { totpCode } from '../support/accounts.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from '../dav/support.js';
import { consoleBrowser, shot, watchedPage, type Watched } from './support.js';

async function signInWith(page: Page, url: string, username: string, password: string) {
  await page.goto(url + '/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('accounts: two-factor sign-in and app passwords (Chromium)', function () {
  this.timeout(120_000);
  const clock = new ManualClock();
  let server: TestServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let w: Watched;
  let page: Page;
  const username = 'carol';
  const password = 'carol-password-1';

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer({ clock });
    await server.app.accounts.createUser(systemActor, { username, email: 'carol@example.test', password });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
    w = await watchedPage(ctx, server.url);
    page = w.page;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(() => expect(w?.problems ?? []).to.deep.equal([]));

  it('sets up TOTP from the settings page, signs out, and signs in with a code', async () => {
    await signInWith(page, server.url, username, password);
    await page.waitForURL(/\/files/);
    await page.goto(server.url + '/settings');
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    expect(await page.getByTestId('totp-qr').getAttribute('src')).to.match(/^data:image\/png;base64,/);
    await page.locator('#tf-code').fill(totpCode(secret, clock.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = (await page.getByTestId('recovery-codes-text').textContent())!.trim().split('\n');
    expect(codes).to.have.length(10);
    await shot(page, 'accounts-2fa-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByTestId('two-factor-on').waitFor();

    await page.getByRole('button', { name: `Account menu for ${username}` }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);

    w.expect(401, '/api/auth/login');
    await signInWith(page, server.url, username, password);
    await page.locator('#totp').waitFor();
    clock.advance(30_000); // the step used to turn it on signs in no more
    await page.locator('#totp').fill(totpCode(secret, clock.now()));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/files/);
  });

  it('makes an app password, copies it, and it opens WebDAV while the account password does not', async () => {
    await page.goto(server.url + '/settings/devices');
    await page.locator('#ap-name').fill('Laptop <rclone> & "sync"');
    await page.locator('#ap-scope').selectOption('full');
    await page.getByRole('button', { name: 'Create app password' }).click();
    const shown = (await page.getByTestId('new-app-password-text').textContent())!.trim();
    expect(shown).to.match(/^[a-z2-9]{5}(-[a-z2-9]{5}){5}$/);
    await page.getByTestId('new-app-password').getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(shown);
    expect(await page.getByTestId('rclone-line-text').textContent()).to.contain(`pass=$(rclone obscure '${shown}')`);
    expect(await page.getByTestId('davfs2-secrets-text').textContent()).to.equal(
      `${server.url}/dav/ ${username} ${shown}`,
    );
    await shot(page, 'accounts-app-password-created');
    await page.getByRole('button', { name: 'Done' }).click();
    // The name is text, not markup.
    const row = page.locator('[data-testid="app-password-row"]');
    expect(await row.locator('td').first().textContent()).to.equal('Laptop <rclone> & "sync"');

    const dav = new Dav(server.url, basic(username, shown));
    expect((await dav.put('/dav/from-laptop.txt', 'hi')).status).to.equal(201);
    const main = await new Dav(server.url, basic(username, password)).propfind('/dav/', '0');
    expect(main.status).to.equal(401);
    expect(await main.text()).to.contain('app password');

    await page.reload();
    expect(await row.locator('td').nth(3).textContent()).to.contain('from 127.0.0.1');
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No app passwords yet.').waitFor();
    expect((await dav.propfind('/dav/', '0')).status).to.equal(401);
  });

  it('the admin page shows 2FA on and resets it', async () => {
    const admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const aw = await watchedPage(admin, server.url);
    try {
      await signInWith(aw.page, server.url, 'admin', ADMIN_PASSWORD);
      await aw.page.waitForURL(/\/files/);
      await aw.page.goto(server.url + '/admin');
      const carol = aw.page.locator(`[data-testid="user-row"][data-name="${username}"]`);
      expect(await carol.getByTestId('two-factor-cell').textContent()).to.equal('On');
      await carol.getByRole('button', { name: `Actions for ${username}` }).click();
      await carol.getByRole('menuitem', { name: 'Reset 2FA' }).click();
      await aw.page.getByRole('dialog').getByRole('button', { name: 'Reset 2FA' }).click();
      await carol.getByTestId('two-factor-cell').getByText('Off').waitFor();
      expect(aw.problems).to.deep.equal([]);
    } finally {
      await admin.close();
    }
  });
});

describe('REQUIRE_2FA in the console (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  const clock = new ManualClock();

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer({ clock, env: { REQUIRE_2FA: 'true' } });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sends a user without 2FA to the setup after sign-in, and on once it is done', async () => {
    await server.app.accounts.createUser(systemActor, {
      username: 'dave',
      email: 'dave@example.test',
      password: 'dave-password-1',
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const w = await watchedPage(ctx, server.url);
    await signInWith(w.page, server.url, 'dave', 'dave-password-1');
    await w.page.waitForURL(/\/settings/);
    await w.page.getByTestId('two-factor-required').waitFor();
    await w.page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    const secret = (await w.page.getByTestId('totp-secret').textContent())!.trim();
    await w.page.locator('#tf-code').fill(totpCode(secret, clock.now()));
    await w.page.getByRole('button', { name: 'Turn on' }).click();
    await w.page.getByTestId('recovery-codes').waitFor();
    await w.page.goto(server.url + '/files');
    await w.page.waitForURL(/\/files/);
    await w.page.locator('[data-testid="file-list"]').waitFor();
    expect(w.problems).to.deep.equal([]);
    await ctx.close();
  });
});
