/**
 * The mail a user gets when someone shares with them: sent after the share is committed, with a
 * link to it in the console and every name escaped in the HTML part; not sent once the user opts
 * out; and a mail server that refuses or is down never breaks the share (the failure is logged).
 */
import { expect } from 'chai';
import { api, createUser, type TestUser } from '../support/http.js';
import { freePort } from '../support/net.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const PUBLIC_URL = 'https://files.example.test';

const share = (srv: TestServer, owner: TestUser, nodeId: string, user: string, permission = 'view') =>
  api(srv.url).as(owner).post(`/api/nodes/${nodeId}/shares`, { user, permission });

describe('share notifications by email', () => {
  let smtp: TestSmtpServer;
  let srv: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    smtp = await startSmtpServer();
    srv = await startTestServer({ env: { SMTP_URL: smtp.url, PUBLIC_URL, BASE_PATH: '/coffer' } });
    alice = await createUser(srv, { prefix: 'alice' });
    bob = await createUser(srv, { prefix: 'bob' });
  });
  after(async () => {
    await srv?.close();
    await smtp?.close();
  });

  it('mails the grantee who shared what, with a link to it; names are text in the HTML part', async () => {
    const name = 'Plans <b>&<b> "quotes"';
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, name);
    const before = smtp.messages.length;
    const res = await share(srv, alice, folder.id, bob.username, 'edit');
    expect(res.status).to.equal(201);
    const mail = await smtp.waitFor((m) => m.to.includes(bob.email) && smtp.messages.indexOf(m) >= before);
    expect(mail.subject).to.equal(`${alice.username} shared "${name}" with you`);
    expect(mail.text).to.include(`${alice.username} shared the folder "${name}" with you`);
    expect(mail.text).to.include('view and change');
    expect(mail.text).to.include(`${PUBLIC_URL}/coffer/files/${folder.id}`);
    expect(mail.text).to.include(`${PUBLIC_URL}/coffer/settings`);
    expect(mail.html).to.include(`href="${PUBLIC_URL}/coffer/files/${folder.id}"`);
    expect(mail.html).to.include('Plans &lt;b&gt;&amp;&lt;b&gt; &quot;quotes&quot;');
    expect(mail.html).not.to.include('<b>');

    // Changing the permission of that share is no new share: no second mail.
    expect((await share(srv, alice, folder.id, bob.username, 'view')).status).to.equal(201);
    await srv.app.mailer!.settled();
    expect(smtp.messages.slice(before)).to.have.length(1);
  });

  it('shows the preference in /api/auth/me and sends nothing once the user opts out', async () => {
    const me = () => api(srv.url).as(bob).json(api(srv.url).as(bob).get('/api/auth/me'));
    expect((await me()).user.notifyShares).to.equal(true);
    const off = await api(srv.url).as(bob).patch('/api/auth/me/preferences', { notifyShares: false });
    expect(off.status).to.equal(200);
    expect(await off.json()).to.deep.equal({ notifyShares: false });
    expect((await me()).user.notifyShares).to.equal(false);
    expect((await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/auth/me'))).user.notifyShares).to.equal(
      true,
    );

    const before = smtp.messages.length;
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Quiet folder');
    expect((await share(srv, alice, folder.id, bob.username)).status).to.equal(201);
    await srv.app.mailer!.settled();
    expect(smtp.messages.slice(before)).to.deep.equal([]);

    expect((await api(srv.url).as(bob).patch('/api/auth/me/preferences', { notifyShares: true })).status).to.equal(200);
    const file = await api(srv.url).as(alice).upload(alice.rootId, 'notes.txt', 'hello');
    expect((await share(srv, alice, file.id, bob.email)).status).to.equal(201);
    const mail = await smtp.waitFor((m) => m.to.includes(bob.email) && smtp.messages.indexOf(m) >= before);
    expect(mail.text).to.include('shared the file "notes.txt"');
    expect(mail.text).to.include(`${PUBLIC_URL}/coffer/shared`);
  });

  it('checks the preferences body and needs a session', async () => {
    for (const body of [{ notifyShares: 'yes' }, { notifyShares: true, other: 1 }]) {
      const res = await api(srv.url).as(bob).patch('/api/auth/me/preferences', body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect((await res.json()).error.code).to.equal('invalid_input');
    }
    expect((await api(srv.url).patch('/api/auth/me/preferences', { notifyShares: false })).status).to.equal(401);
  });

  it('shares all the same when the mail server refuses the message (logged)', async () => {
    smtp.refuse = true;
    try {
      const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Refused mail');
      expect((await share(srv, alice, folder.id, bob.username)).status).to.equal(201);
      await srv.app.mailer!.settled();
      expect(srv.errors.some((l) => l.includes('mail not sent') && l.includes('share notification'))).to.equal(true);
      const incoming = await api(srv.url).as(bob).json(api(srv.url).as(bob).get('/api/shares/incoming'));
      expect(incoming.items.map((i: { name: string }) => i.name)).to.include('Refused mail');
    } finally {
      smtp.refuse = false;
    }
  });
});

describe('share notifications: mail server down', () => {
  it('shares without delay or failure, and logs the failed mail', async () => {
    const port = await freePort(); // nothing listens there
    const srv = await startTestServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL } });
    try {
      const alice = await createUser(srv);
      const bob = await createUser(srv);
      const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Shared anyway');
      expect((await share(srv, alice, folder.id, bob.username)).status).to.equal(201);
      await srv.app.mailer!.settled();
      expect(srv.errors.some((l) => l.includes('mail not sent'))).to.equal(true);
    } finally {
      await srv.close();
    }
  });

  it('without SMTP_URL: shares work and the preference is kept', async () => {
    const srv = await startTestServer();
    try {
      const alice = await createUser(srv);
      const bob = await createUser(srv);
      const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'No mail');
      expect((await share(srv, alice, folder.id, bob.username)).status).to.equal(201);
      expect((await api(srv.url).as(bob).patch('/api/auth/me/preferences', { notifyShares: false })).status).to.equal(
        200,
      );
      expect(
        (await api(srv.url).as(bob).json(api(srv.url).as(bob).get('/api/auth/me/preferences'))).notifyShares,
      ).to.equal(false);
    } finally {
      await srv.close();
    }
  });
});
