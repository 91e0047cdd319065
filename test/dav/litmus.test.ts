import { expectLitmusPasses } from '../support/litmus.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { davUser } from './support.js';
import { skipWithout } from '../support/programs.js';

const SUITES = ['basic', 'copymove', 'props', 'locks', 'http'];

describe('litmus against /dav/ (basic, copymove, props, locks, http)', function () {
  this.timeout(180_000);
  let srv: TestServer;
  before(async function () {
    skipWithout(this, 'litmus');
    srv = await startTestServer();
  });
  after(() => srv?.close());

  it('passes every test of the five suites, none skipped', async () => {
    const u = await davUser(srv, { password: 'litmus:pässword' });
    const { suites } = await expectLitmusPasses(`${srv.url}/dav/`, u.username, u.password, SUITES);
    console.log(`      litmus: ${SUITES.map((s) => `${s} ${suites.get(s)!.passed}/${suites.get(s)!.run}`).join(', ')}`);
  });
});
