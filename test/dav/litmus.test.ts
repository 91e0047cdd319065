import { spawnSync } from 'node:child_process';
import { expectLitmusPasses } from '../support/litmus.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { davUser } from './support.js';

const SUITES = ['basic', 'copymove', 'props', 'locks', 'http'];

describe('litmus against /dav/ (basic, copymove, props, locks, http)', function () {
  this.timeout(180_000);
  let srv: TestServer;
  before(async function () {
    if (spawnSync('litmus', ['--version']).error) {
      console.log('      skipped: litmus is not installed (apt-get install litmus)');
      this.skip();
    }
    srv = await startTestServer();
  });
  after(() => srv?.close());

  it('passes every test of the five suites, none skipped', async () => {
    const u = await davUser(srv, { password: 'litmus:pässword' });
    const { suites } = await expectLitmusPasses(`${srv.url}/dav/`, u.username, u.password, SUITES);
    console.log(`      litmus: ${SUITES.map((s) => `${s} ${suites.get(s)!.passed}/${suites.get(s)!.run}`).join(', ')}`);
  });
});
