/**
 * Accounts in the console (issue 12), in Chromium: the admin list's columns, "Set password",
 * "Delete" with a transfer, a display name set in Account settings, and ending another session.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { api, createUser } from '../support/http.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { consoleBrowser, shot, watchedPage, type Watched } from './support.js';

describe('web console: accounts (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  const watched: Watched[] = [];

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signedIn(username: string, password: string, next = '/files'): Promise<Page> {
    const ctx = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
    const w = await watchedPage(ctx, server.url);
    watched.push(w);
    await w.page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
    await w.page.fill('#username', username);
    await w.page.fill('#password', password);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await w.page.waitForURL(new RegExp(`${next}$`));
    return w.page;
  }

  it('lists users with display name, email and last sign-in; sets a password; deletes a user into another', async () => {
    const alice = await createUser(server, { prefix: 'alice' });
    const bob = await createUser(server, { prefix: 'bob' });
    await api(server.url).as(alice).patch('/api/auth/me', { displayName: 'Alice Archer' });
    await api(server.url).as(alice).upload(alice.rootId, 'notes.txt', 'alice notes');
    const page = await signedIn('admin', ADMIN_PASSWORD, '/admin');

    const row = page.locator(`[data-testid="user-row"][data-name="${alice.username}"]`);
    await row.waitFor();
    const text = await row.innerText();
    expect(text).to.include('Alice Archer').and.include(alice.username).and.include(alice.email);
    expect(await row.getByTestId('last-login').innerText()).not.to.equal('never');
    await shot(page, 'admin-users');

    const actions = row.getByRole('button', { name: `Actions for ${alice.username}` });
    await actions.click();
    await shot(page, 'admin-user-menu');
    await row.getByRole('menuitem', { name: 'Set password…' }).click();
    const dialog = page.getByRole('dialog', { name: `Set a password for ${alice.username}` });
    await dialog.getByLabel(/New password/).fill('chosen-by-admin');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await page.getByText(/password set/).waitFor();
    expect((await api(server.url).as(alice).get('/api/auth/me')).status).to.equal(401);
    const signIn = await api(server.url).post('/api/auth/login', {
      username: alice.username,
      password: 'chosen-by-admin',
    });
    expect(signIn.status).to.equal(200);

    await actions.click();
    await row.getByRole('menuitem', { name: 'Delete…' }).click();
    const del = page.getByRole('dialog', { name: `Delete ${alice.username}` });
    await del.getByLabel(/Their files/).selectOption({ label: `Move them to ${bob.username}` });
    await del.getByRole('button', { name: 'Delete user' }).click();
    await row.waitFor({ state: 'detached' });
    const moved = await api(server.url).as(bob).children(bob.rootId);
    expect(moved.map((n) => n.name)).to.deep.equal([`From ${alice.username}`]);
  });

  it('sets a display name shown in the account menu, and signs out another device', async () => {
    const u = await createUser(server); // createUser's own sign-in is the other device
    const page = await signedIn(u.username, u.password, '/settings');
    await page.getByLabel('Display name').fill('Dora Display');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Profile saved').waitFor();
    await page.getByRole('button', { name: /Account menu/ }).click();
    await page.getByRole('menu').getByText('Dora Display').waitFor();
    await page.keyboard.press('Escape');

    const sessions = page.getByTestId('sessions');
    await sessions.getByText('(this browser)').waitFor();
    expect(await sessions.locator('li').count()).to.equal(2);
    await sessions.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out that device').waitFor();
    expect((await api(server.url).as(u).get('/api/auth/me')).status).to.equal(401);
    await sessions.locator('li').nth(1).waitFor({ state: 'detached' }); // the list reloads after the toast
    expect(await sessions.locator('li').count()).to.equal(1);
    await shot(page, 'settings-sessions');
  });

  it('had no uncaught exception, failed request or foreign request on any page', () => {
    expect(watched.flatMap((w) => w.problems)).to.deep.equal([]);
  });
});
