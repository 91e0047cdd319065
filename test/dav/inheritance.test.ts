/**
 * Access inherited through 25 levels, in both doors; the recycle bin fed through both doors, with
 * an exact restore and the 31-day purge (injected clock) that frees the quota and leaves fsck clean.
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { expectFsckClean, usedBytes } from '../support/store.js';
import { ManualClock } from '../../server/domain/clock.js';
import { Dav, hrefs } from './support.js';

const DAY = 24 * 3600 * 1000;

describe('inheritance through 25 levels (API and WebDAV)', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser;

  before(async () => {
    srv = await startTestServer();
    [alice, bob] = [await createUser(srv, { prefix: 'alice' }), await createUser(srv, { prefix: 'bob' })];
  });
  after(() => srv.close());

  it('a share 25 levels up grants access to the file at the bottom; revoking removes it at once', async () => {
    const a = api(srv.url).as(alice);
    const top = await a.mkdir(alice.rootId, 'Top');
    let parent: NodeJson = top;
    const names: string[] = [];
    for (let i = 1; i <= 25; i++) {
      parent = await a.mkdir(parent.id, `L${i}`);
      names.push(`L${i}`);
    }
    const file = await a.upload(parent.id, 'deep.txt', 'at the bottom');
    const davPath = `/dav/Shared%20with%20me/Top/${names.join('/')}/deep.txt`;
    const b = api(srv.url).as(bob);
    const dav = Dav.for(srv, bob);

    expect((await b.get(`/api/files/${file.id}/content`)).status).to.equal(404);
    expect((await dav.request('GET', davPath)).status).to.equal(404);

    const share = await (
      await a.post(`/api/nodes/${top.id}/shares`, { user: bob.username, permission: 'view' })
    ).json();
    expect(await (await b.get(`/api/files/${file.id}/content`)).text()).to.equal('at the bottom');
    expect(await (await dav.request('GET', davPath)).text()).to.equal('at the bottom');
    expect((await b.json(b.get(`/api/nodes/${file.id}`))).permission).to.equal('view');
    expect((await dav.request('PUT', davPath, { body: 'changed' })).status).to.equal(403);

    expect((await a.delete(`/api/shares/${share.id}`)).status).to.equal(204);
    expect((await b.get(`/api/files/${file.id}/content`)).status).to.equal(404);
    expect((await dav.request('GET', davPath)).status).to.equal(404);
  });
});

describe('recycle bin through both doors', () => {
  let srv: TestServer;
  const clock = new ManualClock();
  let alice: TestUser;

  before(async () => {
    srv = await startTestServer({ clock });
    alice = await createUser(srv, { prefix: 'alice' });
  });
  after(async () => {
    await expectFsckClean(srv);
    await srv.close();
  });

  async function tree(folderId: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (id: string, prefix: string) => {
      for (const n of await api(srv.url).as(alice).children(id)) {
        out.push(`${prefix}${n.name}${n.kind === 'folder' ? '/' : `=${n.size}`}`);
        if (n.kind === 'folder') await walk(n.id, `${prefix}${n.name}/`);
      }
    };
    await walk(folderId, '');
    return out.sort();
  }

  it('DELETE through WebDAV and the API both land in the bin; restore rebuilds the exact subtree', async () => {
    const dav = Dav.for(srv, alice);
    expect(await dav.mkcol('/dav/Album')).to.equal(201);
    expect(await dav.mkcol('/dav/Album/2026')).to.equal(201);
    expect(await dav.mkcol('/dav/Album/2026/Empty')).to.equal(201);
    await dav.put('/dav/Album/cover.jpg', 'jpeg bytes');
    await dav.put('/dav/Album/2026/a.txt', 'aaa');
    await dav.put('/dav/Album/2026/b.txt', 'bbbbb');
    const a = api(srv.url).as(alice);
    const album = (await a.children(alice.rootId)).find((n) => n.name === 'Album')!;
    const before = await tree(album.id);
    expect(before).to.deep.equal(['2026/', '2026/Empty/', '2026/a.txt=3', '2026/b.txt=5', 'cover.jpg=10']);

    expect((await dav.request('DELETE', '/dav/Album/')).status).to.equal(204);
    const loose = await a.upload(alice.rootId, 'loose.txt', 'l');
    expect((await a.delete(`/api/nodes/${loose.id}`)).status).to.equal(204);
    const bin = (await a.json(a.get('/api/trash'))).items as { id: string; name: string; size: number }[];
    expect(bin.map((i) => i.name).sort()).to.deep.equal(['Album', 'loose.txt']);
    expect(bin.find((i) => i.name === 'Album')!.size).to.equal(18);
    expect(hrefs(await (await dav.request('PROPFIND', '/dav/', { headers: { depth: '1' } })).text())).to.not.include(
      '/dav/Album/',
    );

    expect((await a.post(`/api/trash/${album.id}/restore`)).status).to.equal(200);
    expect(await tree(album.id)).to.deep.equal(before);
    expect(await (await dav.request('GET', '/dav/Album/2026/b.txt')).text()).to.equal('bbbbb');
  });

  it('the purge with the clock 31 days ahead removes trashed items, frees the quota, and fsck stays clean', async () => {
    const dav = Dav.for(srv, alice);
    const used = await usedBytes(srv, alice.id);
    expect((await dav.request('DELETE', '/dav/Album/')).status).to.equal(204);
    expect(await usedBytes(srv, alice.id)).to.equal(used); // the bin still counts
    clock.advance(31 * DAY);
    const result = await srv.app.bin.purgeExpired();
    expect(result.items).to.equal(2); // Album and loose.txt
    expect(await usedBytes(srv, alice.id)).to.equal(used - 19); // 18 bytes of Album + 1 of loose.txt
    alice.token = (await login(srv.url, alice.username, alice.password)).token;
    expect((await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/trash'))).items).to.deep.equal([]);
    await srv.app.collectGarbage(0);
  });
});
