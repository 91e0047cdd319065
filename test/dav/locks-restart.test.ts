/** A WebDAV lock outlives a restart of the server and ends with its timeout (an injected clock). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../server/app.js';
import { ManualClock } from '../../server/domain/clock.js';
import { Locks } from '../../server/domain/locks.js';
import { createTestDatabase } from '../support/database.js';
import { ADMIN_PASSWORD, login, type TestServer } from '../support/server.js';
import { lock, lockdiscovery, status } from './lock-requests.js';
import { Dav, davUser } from './support.js';

describe('WebDAV locks across a restart and on the clock', function () {
  this.timeout(60_000);

  it('a lock survives a restart (reported and enforced) and is gone after its timeout', async () => {
    const clock = new ManualClock();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-lockrestart-'));
    const database = await createTestDatabase(); // kept across the restart, like the data dir
    const env = {
      ...database.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      JOBS_ENABLED: 'false',
      LOG_LEVEL: 'silent',
      ADMIN_PASSWORD,
    };
    let app = await createApp(loadConfig(env), { clock });
    try {
      let url = await app.listen();
      const srv1 = {
        url,
        adminToken: async () => (await login(url, 'admin', ADMIN_PASSWORD)).token,
      } as unknown as TestServer;
      const u = await davUser(srv1);
      let dav = Dav.for({ url } as TestServer, u);
      await dav.put('/dav/keep.txt', 'v1');
      const l = await lock(dav, '/dav/keep.txt', { timeout: 'Second-600' });
      expect(l.status).to.equal(200);
      await app.close();

      app = await createApp(loadConfig(env), { clock });
      url = await app.listen();
      dav = Dav.for({ url } as TestServer, u);
      expect(await lockdiscovery(dav, '/dav/keep.txt')).to.include(l.token);
      expect(await status(dav.request('PUT', '/dav/keep.txt', { body: 'v2' }))).to.equal(423);
      expect(
        await status(dav.request('PUT', '/dav/keep.txt', { body: 'v2', headers: { If: `(<${l.token}>)` } })),
      ).to.equal(204);

      clock.advance(601_000);
      expect(await lockdiscovery(dav, '/dav/keep.txt')).to.not.include(l.token);
      expect(await status(dav.request('PUT', '/dav/keep.txt', { body: 'v3' }))).to.equal(204);
      expect(
        await status(dav.request('UNLOCK', '/dav/keep.txt', { headers: { 'lock-token': `<${l.token}>` } })),
      ).to.equal(409);
      expect(
        await new Locks(app.db, clock, { maxTimeoutSeconds: 86400, granteeMaxTimeoutSeconds: 3600 }).sweep(),
      ).to.deep.equal({ expired: 1 });
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
