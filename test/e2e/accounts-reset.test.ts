/**
 * Password reset by email in Chromium: "Forgot password?" on the sign-in page, the link read from
 * the mail a real SMTP server on loopback received, a new password set on /reset, and a sign-in with
 * it; the share-notification toggle in the settings; and the "ask your administrator" sentence on
 * a server that sends no mail.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { api, createUser, type TestUser } from '../support/http.js';
import { freePort } from '../support/net.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';
import { consoleBrowser, shot, watchedPage } from './support.js';

describe('web console: password reset by email (Chromium)', function () {
  this.timeout(120_000);
  let smtp: TestSmtpServer;
  let server: TestServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let user: TestUser;

  before(async function () {
    browser = await consoleBrowser(this);
    smtp = await startSmtpServer();
    // The links in mails go to PUBLIC_URL: this server's own address, so its port is fixed first.
    const port = await freePort();
    server = await startTestServer({
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, SMTP_URL: smtp.url },
    });
    user = await createUser(server);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  it('asks for a link on the sign-in page, sets a new password from the mail, and signs in with it', async () => {
    const { page, problems } = await watchedPage(ctx, server.url);
    await page.goto(`${server.url}/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(/\/forgot$/);
    await page.fill('#email', user.email);
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await page.getByTestId('reset-sent').getByText('If an account uses this address').waitFor();
    await shot(page, 'reset-requested');

    const mail = await smtp.waitFor((m) => m.to.includes(user.email));
    const link = /http:\/\/127\.0\.0\.1:\d+\/reset\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
    expect(link, mail.text).to.be.a('string');
    expect(new URL(link!).origin).to.equal(server.url);

    await page.goto(link!);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.fill('#new', 'my-new-password-1');
    await page.fill('#confirm', 'my-new-password-2');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('alert').getByText('The two passwords differ.').waitFor();
    await page.fill('#confirm', 'my-new-password-1');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByTestId('reset-done').waitFor();
    await shot(page, 'reset-done');

    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/login\?username=/);
    expect(await page.inputValue('#username')).to.equal(user.username);
    await page.fill('#password', 'my-new-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/files/);

    // The link worked once: opened again, it says so and offers a new one.
    const again = await ctx.newPage();
    await again.goto(link!);
    await again.fill('#new', 'another-password-1');
    await again.fill('#confirm', 'another-password-1');
    await again.getByRole('button', { name: 'Set the new password' }).click();
    await again.getByRole('alert').getByText('This reset link is not valid').waitFor();
    await again.getByRole('link', { name: 'Ask for a new link' }).waitFor();
    await again.close();

    expect(problems).to.deep.equal([]);
  });

  it('turns share notifications off and on in the settings', async () => {
    const { page, problems } = await watchedPage(ctx, server.url);
    await page.goto(`${server.url}/settings`);
    const toggle = page.getByLabel('Email me when someone shares a folder with me');
    await toggle.waitFor();
    expect(await toggle.isChecked()).to.equal(true);
    const preference = async () => {
      const { token } = await login(server.url, user.username, 'my-new-password-1');
      return (await api(server.url).as(token).json(api(server.url).as(token).get('/api/auth/me'))).user.notifyShares;
    };
    await Promise.all([page.waitForResponse(/\/api\/auth\/me\/preferences$/), toggle.uncheck()]);
    expect(await preference()).to.equal(false);
    await page.reload();
    await toggle.waitFor();
    expect(await toggle.isChecked()).to.equal(false);
    await Promise.all([page.waitForResponse(/\/api\/auth\/me\/preferences$/), toggle.check()]);
    expect(await preference()).to.equal(true);
    expect(problems).to.deep.equal([]);
  });

  it('without a mail server, "Forgot password?" says to ask the administrator', async () => {
    const plain = await startTestServer();
    try {
      const context = await browser.newContext();
      const { page, problems } = await watchedPage(context, plain.url);
      await page.goto(`${plain.url}/login`);
      await page.getByRole('link', { name: 'Forgot password?' }).click();
      await page.getByText('Ask your administrator to reset your password').waitFor();
      expect(await page.locator('#email').count()).to.equal(0);
      await context.close();
      expect(problems).to.deep.equal([]);
    } finally {
      await plain.close();
    }
  });
});
