/**
 * COPY/MOVE to another host (issue 9, item 9): a Destination that names another server is answered
 * 502 Bad Gateway (RFC 4918 §9.8.4, §9.9.4) and nothing moves. This server is named by the
 * request's Host, or by PUBLIC_URL (behind a proxy that rewrites Host); absolute paths stay allowed.
 */
import { expect } from 'chai';
import { loadConfig } from '../../config/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav, davUser } from './support.js';

describe('WebDAV Destination on another host', () => {
  let srv: TestServer;
  let dav: Dav;

  before(async () => {
    srv = await startTestServer({ env: { PUBLIC_URL: 'https://files.example.com' } });
    dav = Dav.for(srv, await davUser(srv));
    expect((await dav.put('/dav/a.txt', 'alpha')).status).to.equal(201);
  });
  after(() => srv.close());

  const send = async (method: 'COPY' | 'MOVE', from: string, destination: string) => {
    const res = await dav.request(method, from, { headers: { destination } });
    await res.arrayBuffer();
    return res.status;
  };
  const exists = async (path: string) => {
    const res = await dav.request('HEAD', path);
    await res.arrayBuffer();
    return res.status === 200;
  };

  it('answers 502 for another host or port, and neither copies nor moves', async () => {
    const port = Number(new URL(srv.url).port);
    for (const destination of [
      'http://evil.example/dav/b.txt',
      `http://evil.example:${port}/dav/b.txt`,
      `http://127.0.0.1:${port + 1}/dav/b.txt`,
      'https://files.example.com.evil.example/dav/b.txt',
    ]) {
      expect(await send('COPY', '/dav/a.txt', destination), `COPY to ${destination}`).to.equal(502);
      expect(await send('MOVE', '/dav/a.txt', destination), `MOVE to ${destination}`).to.equal(502);
    }
    expect(await exists('/dav/a.txt')).to.equal(true);
    expect(await exists('/dav/b.txt')).to.equal(false);
  });

  it('copies and moves to this server: its Host, PUBLIC_URL, or an absolute path', async () => {
    expect(await send('COPY', '/dav/a.txt', `${srv.url}/dav/b.txt`)).to.equal(201);
    expect(await send('COPY', '/dav/a.txt', srv.url.replace('http://', 'HTTP://') + '/dav/x.txt')).to.equal(201);
    expect(await send('MOVE', '/dav/b.txt', 'https://files.example.com/dav/c.txt')).to.equal(201);
    expect(
      await send('MOVE', '/dav/c.txt', 'http://FILES.example.com:443/dav/d.txt'),
      'host compared case-insensitively; the port is part of it',
    ).to.equal(502);
    expect(await send('MOVE', '/dav/c.txt', 'https://FILES.example.com:443/dav/d.txt')).to.equal(201);
    expect(await send('COPY', '/dav/d.txt', '/dav/e.txt')).to.equal(201);
    for (const name of ['a', 'd', 'e', 'x']) expect(await exists(`/dav/${name}.txt`), name).to.equal(true);
    expect(await exists('/dav/c.txt')).to.equal(false);
  });

  it('refuses a PUBLIC_URL that is not an http(s) origin', () => {
    for (const bad of [
      'files.example.com',
      'ftp://files.example.com',
      'https://files.example.com/coffer',
      'https://user:pw@files.example.com',
    ]) {
      expect(() => loadConfig({ PUBLIC_URL: bad }), bad).to.throw(/PUBLIC_URL/);
    }
    expect(loadConfig({ PUBLIC_URL: 'https://files.example.com/' }).publicUrl).to.deep.equal({
      origin: 'https://files.example.com',
      host: 'files.example.com',
    });
  });
});
