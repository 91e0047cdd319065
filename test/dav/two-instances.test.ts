/**
 * Two Coffer processes' worth of servers on one PostgreSQL database (each with its own data dir):
 * their write transactions are one line across both (the executor's advisory lock), so the quota
 * holds under uploads spread over both, and a WebDAV lock taken through one is enforced by the other.
 */
import { expect } from 'chai';
import { createTestDatabase, skipOnSqlite, type TestDatabase } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { MiB, patternChunk } from '../support/store.js';
import { lock, status } from './lock-requests.js';
import { Dav, davUser, type DavUser } from './support.js';

describe('two servers on one PostgreSQL database', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let u: DavUser;

  before(async function () {
    skipOnSqlite(this, 'a SQLite database belongs to one process');
    database = await createTestDatabase();
    a = await startTestServer({ env: database.env });
    b = await startTestServer({ env: database.env });
    u = await davUser(a, { quotaBytes: 10 * MiB });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('30 concurrent 1 MiB uploads over both into a 10 MiB quota: exactly ten fit, the rest are 507', async () => {
    // Each server verifies the password once first (then caches it): 30 sign-ins at once would be throttled.
    for (const srv of [a, b]) expect((await Dav.for(srv, u).propfind('/dav/', '0')).status).to.equal(207);
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await Dav.for(i % 2 ? a : b, u).request('PUT', `/dav/part-${i}.bin`, {
          body: patternChunk(2000 + i, MiB),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(
      results.filter((s) => s !== 201 && s !== 507),
      results.join(' '),
    ).to.deep.equal([]);
    expect(results.filter((s) => s === 201)).to.have.length(10);
    for (const srv of [a, b]) {
      const usage = await srv.app.db.get<{ used_bytes: number }>('SELECT used_bytes FROM users WHERE id = $id', {
        id: u.id,
      });
      expect(usage?.used_bytes).to.equal(10 * MiB);
    }
  });

  it('a WebDAV lock taken through one server is enforced by the other, and its token works there', async () => {
    const w = await davUser(b);
    const onA = Dav.for(a, w);
    const onB = Dav.for(b, w);
    expect((await onA.request('PUT', '/dav/shared.txt', { body: 'v1' })).status).to.equal(201);
    const l = await lock(onA, '/dav/shared.txt', { timeout: 'Second-600' });
    expect(l.status).to.equal(200);
    expect(await status(onB.request('PUT', '/dav/shared.txt', { body: 'v2' }))).to.equal(423);
    expect(
      await status(onB.request('PUT', '/dav/shared.txt', { body: 'v2', headers: { If: `(<${l.token}>)` } })),
    ).to.equal(204);
  });
});
