/**
 * The database going away under a running server (PostgreSQL: a network cut, a restart): both
 * doors answer 503 with a clean body, the process stays up, and once the database is back the
 * same server serves again without a restart. The server reaches PostgreSQL through a TCP relay
 * of the test's own, which the test cuts.
 */
import net from 'node:net';
import { expect } from 'chai';
import { davUser, type DavUser } from '../dav/support.js';
import { createTestDatabase, skipOnSqlite, type TestDatabase } from '../support/database.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A TCP relay to `target`; `cut()` drops every connection and refuses new ones until `mend()`. */
async function relay(target: { host: string; port: number }) {
  const open = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => open.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      cut = true;
      for (const s of open) s.destroy();
    },
    mend: () => (cut = false),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the database lost under a running server', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let link: Awaited<ReturnType<typeof relay>>;
  let srv: TestServer;
  let u: DavUser;

  before(async function () {
    skipOnSqlite(this, 'its database is a file in the process, there is no connection to lose');
    database = await createTestDatabase();
    const url = new URL(database.env.DATABASE_URL!);
    link = await relay({ host: url.hostname, port: Number(url.port) });
    url.hostname = '127.0.0.1';
    url.port = String(link.port);
    srv = await startTestServer({ env: { DATABASE_URL: url.toString() } });
    u = await davUser(srv);
  });
  after(async () => {
    await srv?.close();
    await link?.close();
    await database?.drop();
  });

  it('answers 503 through the API and WebDAV while it is gone, and serves again once it is back', async () => {
    const a = api(srv.url).as(u);
    const auth = { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}` };
    expect(
      (await fetch(`${srv.url}/dav/before.txt`, { method: 'PUT', headers: auth, body: 'before' })).status,
    ).to.equal(201);

    link.cut();
    const listing = await a.get(`/api/nodes/${u.rootId}/children`);
    expect(listing.status).to.equal(503);
    expect(((await listing.json()) as { error: { code: string } }).error.code).to.equal('unavailable');
    const upload = await fetch(`${srv.url}/dav/during.txt`, { method: 'PUT', headers: auth, body: 'during' });
    expect(upload.status).to.equal(503);
    expect(upload.headers.get('retry-after')).to.equal('5');
    await upload.arrayBuffer();
    expect((await fetch(`${srv.url}/api/health`)).status).to.equal(200); // the process is up

    link.mend();
    const back = await fetch(`${srv.url}/dav/before.txt`, { headers: auth });
    expect(back.status).to.equal(200);
    expect(await back.text()).to.equal('before');
    expect((await fetch(`${srv.url}/dav/after.txt`, { method: 'PUT', headers: auth, body: 'after' })).status).to.equal(
      201,
    );
    expect(srv.errors.length, 'the failures are logged').to.be.greaterThan(0);
  });
});
