/** A session token must carry an expiry (issue 9, item 13): one without `exp` would be valid forever. */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { getSetting } from '../../server/db/repos/settings.js';
import { Dav } from '../dav/support.js';
import { api, createUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('session tokens need an expiry', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('refuses a correctly signed token without exp (API and WebDAV Bearer), accepts the same with exp', async () => {
    const user = await createUser(srv);
    const secret = (await getSetting(srv.app.db, 'jwt_secret'))!;
    // The id of the user's real session, so the only difference between the two tokens is `exp`.
    const jti = (jwt.decode(user.token) as { jti: string }).jti;
    const sign = (extra: object) =>
      jwt.sign({ tv: 0, ...extra }, secret, { algorithm: 'HS256', subject: user.id, jwtid: jti });
    const forever = sign({});
    const me = await api(srv.url).as(forever).get('/api/auth/me');
    expect(me.status).to.equal(401);
    expect((await me.json()).error.code).to.equal('unauthenticated');
    const dav = await new Dav(srv.url, `Bearer ${forever}`).request('PROPFIND', '/dav/', { headers: { depth: '0' } });
    await dav.arrayBuffer();
    expect(dav.status).to.equal(401);
    // The control: the same claims with an expiry are a valid session.
    const ok = await api(srv.url)
      .as(sign({ exp: Math.floor(Date.now() / 1000) + 600 }))
      .get('/api/auth/me');
    expect(ok.status).to.equal(200);
  });
});
