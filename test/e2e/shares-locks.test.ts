/**
 * The console in Chromium for issue 9 items 2 and 5: a grantee renames a received share on the
 * "Shared with me" page and browses it under that name (breadcrumbs "Shared with me › name"); an
 * owner sees a lock badge on an item an editor locked through WebDAV, and breaks the lock from the
 * item's menu and from the list in Settings.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { Api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { consoleBrowser, shot, watchedPage, type Watched } from './support.js';

const SW = '/dav/Shared%20with%20me';
const LOCKINFO =
  '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';

describe('console: share names and locks (Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser | null = null;
  const watched: Watched[] = [];
  const users = { olga: 'olga-password-1', omar: 'omar-password-1', gina: 'gina-password-1' };
  const api: Record<string, Api> = {};
  let plansId = '';

  before(async function () {
    browser = await consoleBrowser(this);
    server = await startTestServer();
    const admin = new Api(server.url, await server.adminToken());
    const roots: Record<string, string> = {};
    for (const [username, password] of Object.entries(users)) {
      expect(
        (await admin.post('/api/admin/users', { username, email: `${username}@example.com`, password })).status,
      ).to.equal(201);
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const { token, user } = (await res.json()) as { token: string; user: { rootId: string } };
      api[username] = new Api(server.url, token);
      roots[username] = user.rootId;
    }
    // Olga shares "Plans" with Gina first, then Omar his own "Plans".
    for (const owner of ['olga', 'omar']) {
      const plans = await api[owner]!.mkdir(roots[owner]!, 'Plans');
      if (owner === 'olga') {
        plansId = plans.id;
        await api.olga!.upload(plans.id, 'doc.txt', 'the doc');
      }
      expect(
        (await api[owner]!.post(`/api/nodes/${plans.id}/shares`, { user: 'gina', permission: 'edit' })).status,
      ).to.equal(201);
    }
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(username: keyof typeof users, path: string): Promise<Page> {
    const w = await watchedPage(await browser!.newContext(), server.url);
    watched.push(w);
    await w.page.goto(server.url + path);
    await w.page.waitForURL(/\/login/);
    await w.page.fill('#username', username);
    await w.page.fill('#password', users[username]);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await w.page.waitForURL((u) => u.pathname === path);
    return w.page;
  }
  const davAs = (u: keyof typeof users) => ({
    authorization: 'Basic ' + Buffer.from(`${u}:${users[u]}`).toString('base64'),
  });
  async function ginaLocksDoc(): Promise<string> {
    const res = await fetch(`${server.url}${SW}/Plans/doc.txt`, {
      method: 'LOCK',
      headers: { ...davAs('gina'), 'content-type': 'text/xml' },
      body: LOCKINFO,
    });
    expect(res.status).to.equal(200);
    return res.headers.get('lock-token')!;
  }

  it('the grantee renames a received share and browses it under that name', async () => {
    const page = await signIn('gina', '/shared');
    const list = page.locator('[data-testid="incoming"]');
    await list.locator('[data-name="Plans"]').waitFor();
    const omars = list.locator('[data-name="Plans (omar)"]');
    await omars.getByRole('button', { name: 'Rename Plans (omar)' }).click();
    await page.locator('[data-testid="share-rename-input"]').fill('From Omar');
    await page.keyboard.press('Enter');
    await list.locator('[data-name="From Omar"]').waitFor();
    const items = (await api.gina!.json(api.gina!.get('/api/shares/incoming'))).items as {
      shareName: string;
      sharedBy: { username: string };
    }[];
    expect(items.map((i) => `${i.sharedBy.username}:${i.shareName}`).sort()).to.deep.equal([
      'olga:Plans',
      'omar:From Omar',
    ]);
    expect(
      (
        await fetch(`${server.url}${SW}/From%20Omar/`, {
          method: 'PROPFIND',
          headers: { ...davAs('gina'), depth: '0' },
        })
      ).status,
    ).to.equal(207);

    await list.locator('[data-name="From Omar"]').getByRole('button', { name: 'From Omar', exact: true }).click();
    const crumbs = page.getByRole('navigation', { name: 'Breadcrumbs' });
    await crumbs.getByRole('link', { name: 'Shared with me' }).waitFor();
    expect(await crumbs.locator('[aria-current="page"]').textContent()).to.equal('From Omar');
    await shot(page, 'share-renamed');
  });

  it("the owner sees a lock badge and breaks the lock from the item's menu, and from Settings", async () => {
    await ginaLocksDoc();
    const page = await signIn('olga', `/files/${plansId}`);
    const row = page.locator('[data-testid="file-list"] [data-testid="row"][data-name="doc.txt"]');
    await row.locator('[data-testid="lock-badge"]').waitFor();
    expect(await row.locator('[data-testid="lock-badge"]').getAttribute('title')).to.match(/^Locked by gina/);
    await row.click({ button: 'right' });
    await page.locator('[data-testid="context-menu"]').getByRole('menuitem', { name: 'Break lock' }).click();
    await row.locator('[data-testid="lock-badge"]').waitFor({ state: 'detached' });
    expect((await api.olga!.json(api.olga!.get('/api/locks'))).items).to.deep.equal([]);

    await ginaLocksDoc();
    await page.goto(server.url + '/settings');
    const entry = page.locator('[data-testid="locks-panel"] [data-path="/Plans/doc.txt"]');
    await entry.getByText('gina').waitFor();
    await shot(page, 'locks-panel');
    await entry.getByRole('button', { name: 'Break' }).click();
    await page.locator('[data-testid="locks-panel"]').getByText('None of your files is locked.').waitFor();
    const log = (await api.olga!.json(api.olga!.get('/api/activity?action=lock.broken'))).items as unknown[];
    expect(log).to.have.length(2);
  });

  it('had no uncaught exception, failed request or foreign request', () => {
    expect(watched.flatMap((w) => w.problems)).to.deep.equal([]);
  });
});
