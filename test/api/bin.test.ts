import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { login, startTestServer, type TestServer } from '../support/server.js';
import { blobRows, expectFsckClean, usedBytes } from '../support/store.js';
import { ManualClock } from '../../server/domain/clock.js';
import { Dav, hrefs } from '../dav/support.js';

const DAY = 24 * 3600 * 1000;

describe('recycle bin', () => {
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

  const a = () => api(srv.url).as(alice);
  const bin = async () =>
    (await a().json(a().get('/api/trash'))).items as {
      id: string;
      name: string;
      originalPath: string;
      size: number;
      deletedAt: string;
    }[];

  it('lists trashed roots with original path, size and date; trash still counts toward quota', async () => {
    const docs = await a().mkdir(alice.rootId, 'Docs');
    await a().upload(docs.id, 'a.txt', 'aaaa');
    await a().upload(docs.id, 'b.txt', 'bb');
    const used = await usedBytes(srv, alice.id);
    expect((await a().delete(`/api/nodes/${docs.id}`)).status).to.equal(204);
    const items = await bin();
    const item = items.find((i) => i.id === docs.id)!;
    expect(item).to.include({ name: 'Docs', originalPath: '/Docs', size: 6 });
    expect(Date.parse(item.deletedAt)).to.be.closeTo(clock.now(), 1000);
    expect(await usedBytes(srv, alice.id)).to.equal(used);
    const me = await a().json(a().get('/api/auth/me'));
    expect(me.user.trashBytes).to.equal(6);
    expect((await a().get(`/api/nodes/${docs.id}`)).status).to.equal(404);
  });

  it('restores to the original place with the whole subtree', async () => {
    const items = await bin();
    const docs = items.find((i) => i.name === 'Docs')!;
    const res = await a().post(`/api/trash/${docs.id}/restore`);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as NodeJson).parentId).to.equal(alice.rootId);
    expect((await a().children(docs.id)).map((n) => n.name)).to.deep.equal(['a.txt', 'b.txt']);
    expect((await bin()).some((i) => i.id === docs.id)).to.equal(false);
  });

  it('restores with a " (restored)" suffix when the name is taken, and to the root when the parent is gone', async () => {
    const f1 = await a().upload(alice.rootId, 'clash.txt', 'one');
    await a().delete(`/api/nodes/${f1.id}`);
    await a().upload(alice.rootId, 'clash.txt', 'two');
    const r1 = (await a().json(a().post(`/api/trash/${f1.id}/restore`))) as NodeJson;
    expect(r1.name).to.equal('clash (restored).txt');

    const parent = await a().mkdir(alice.rootId, 'Parent');
    const child = await a().upload(parent.id, 'orphan.txt', 'o');
    await a().delete(`/api/nodes/${child.id}`);
    await a().delete(`/api/nodes/${parent.id}`);
    const r2 = (await a().json(a().post(`/api/trash/${child.id}/restore`))) as NodeJson;
    expect(r2.parentId).to.equal(alice.rootId);
    expect(r2.name).to.equal('orphan.txt');
    // The folder is still in the bin, and restoring it now does not bring the child twice.
    const r3 = (await a().json(a().post(`/api/trash/${parent.id}/restore`))) as NodeJson;
    expect(await a().children(r3.id)).to.deep.equal([]);
  });

  it('deletes forever: frees quota and releases blobs; a stranger gets 404', async () => {
    const f = await a().upload(alice.rootId, 'big.bin', Buffer.alloc(1000, 7));
    const before = await usedBytes(srv, alice.id);
    await a().delete(`/api/nodes/${f.id}`);
    const bob = await createUser(srv);
    expect((await api(srv.url).as(bob).delete(`/api/trash/${f.id}`)).status).to.equal(404);
    expect((await api(srv.url).as(bob).post(`/api/trash/${f.id}/restore`)).status).to.equal(404);
    const res = await a().delete(`/api/trash/${f.id}`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ files: 1, bytes: 1000 });
    expect(await usedBytes(srv, alice.id)).to.equal(before - 1000);
    expect((await blobRows(srv)).find((b) => b.size === 1000)!.ref_count).to.equal(0);
    await srv.app.collectGarbage(0);
    expect((await blobRows(srv)).some((b) => b.size === 1000)).to.equal(false);
    expect((await a().delete(`/api/trash/${f.id}`)).status).to.equal(404);
  });

  it('purges a folder that holds an item trashed earlier without losing that item', async () => {
    const outer = await a().mkdir(alice.rootId, 'Outer');
    const early = await a().upload(outer.id, 'early.txt', 'e');
    await a().upload(outer.id, 'late.txt', 'l');
    await a().delete(`/api/nodes/${early.id}`);
    await a().delete(`/api/nodes/${outer.id}`);
    expect((await a().delete(`/api/trash/${outer.id}`)).status).to.equal(200);
    const items = await bin();
    expect(items.some((i) => i.id === early.id)).to.equal(true);
    const restored = (await a().json(a().post(`/api/trash/${early.id}/restore`))) as NodeJson;
    expect(restored.parentId).to.equal(alice.rootId);
  });

  it('purges a folder that holds a folder trashed earlier, which comes back whole', async () => {
    const outer = await a().mkdir(alice.rootId, 'Outer2');
    const early = await a().mkdir(outer.id, 'EarlyDir');
    const deep = await a().mkdir(early.id, 'Deep');
    const inner = await a().upload(deep.id, 'inner.txt', 'i');
    await a().upload(outer.id, 'late.txt', 'l');
    await a().delete(`/api/nodes/${early.id}`);
    await a().delete(`/api/nodes/${outer.id}`);
    expect((await a().delete(`/api/trash/${outer.id}`)).status).to.equal(200);
    const restored = (await a().json(a().post(`/api/trash/${early.id}/restore`))) as NodeJson;
    expect(restored.parentId).to.equal(alice.rootId);
    // Only the trashed folder moved to the root: what it held is still inside it.
    const kids = async (id: string) =>
      ((await a().json(a().get(`/api/nodes/${id}/children`))).items as NodeJson[]).map((n) => n.name);
    expect(await kids(early.id)).to.deep.equal(['Deep']);
    expect(await kids(deep.id)).to.deep.equal(['inner.txt']);
    expect((await a().json(a().get(`/api/nodes/${inner.id}`))).parentId).to.equal(deep.id);
  });
  it('empties the bin', async () => {
    const f = await a().upload(alice.rootId, 'x.txt', 'x');
    await a().delete(`/api/nodes/${f.id}`);
    const res = await a().delete('/api/trash');
    expect(res.status).to.equal(200);
    expect((await res.json()).items).to.be.greaterThan(0);
    expect(await bin()).to.deep.equal([]);
    expect((await a().json(a().get('/api/auth/me'))).user.trashBytes).to.equal(0);
  });

  it('purges items older than the retention period (daily job, injected clock) and logs it as system', async () => {
    const old = await a().upload(alice.rootId, 'old.txt', 'old!');
    await a().delete(`/api/nodes/${old.id}`);
    clock.advance(10 * DAY);
    alice.token = (await login(srv.url, alice.username, alice.password)).token; // sessions last a day
    const recent = await a().upload(alice.rootId, 'recent.txt', 'new');
    await a().delete(`/api/nodes/${recent.id}`);
    clock.advance(20 * DAY + 1000); // old: 30 days + 1 s; recent: 20 days
    alice.token = (await login(srv.url, alice.username, alice.password)).token;
    const before = await usedBytes(srv, alice.id);
    const result = await srv.app.bin.purgeExpired();
    expect(result).to.deep.equal({ items: 1, files: 1, bytes: 4 });
    expect((await bin()).map((i) => i.id)).to.deep.equal([recent.id]);
    expect(await usedBytes(srv, alice.id)).to.equal(before - 4);
    const log = await a().json(a().get('/api/activity?action=node.purged'));
    const row = log.items.find((r: { nodeId: string }) => r.nodeId === old.id);
    expect(row).to.include({ via: 'system', path: '/old.txt' });
    expect(row.actor.id).to.equal(null);
  });

  it('restore obeys a WebDAV lock on the folder it goes back into (423 locked; the API holds no tokens)', async () => {
    const docs = await a().mkdir(alice.rootId, 'Locked docs');
    const f = await a().upload(docs.id, 'report.txt', 'r');
    expect((await a().delete(`/api/nodes/${f.id}`)).status).to.equal(204);
    const dav = Dav.for(srv, alice);
    const lock = await dav.request('LOCK', '/dav/Locked%20docs/', {
      headers: { 'content-type': 'text/xml', depth: '0' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(lock.status).to.equal(200);
    const token = (lock.headers.get('lock-token') ?? '').replace(/^<|>$/g, '');
    const res = await a().post(`/api/trash/${f.id}/restore`);
    expect(res.status).to.equal(423);
    expect((await res.json()).error.code).to.equal('locked');
    expect((await bin()).map((i) => i.id)).to.include(f.id); // still in the bin, nothing half-done
    expect(
      (await dav.request('UNLOCK', '/dav/Locked%20docs/', { headers: { 'lock-token': `<${token}>` } })).status,
    ).to.equal(204);
    expect((await a().post(`/api/trash/${f.id}/restore`)).status).to.equal(200);
    expect((await a().children(docs.id)).map((n) => n.name)).to.deep.equal(['report.txt']);
  });

  it('restore treats "Shared with me" as taken at the top of the drive', async () => {
    const deep = await a().mkdir(alice.rootId, 'Deep place');
    const item = await a().mkdir(deep.id, 'Shared with me'); // allowed below the top
    await a().upload(item.id, 'inside.txt', 'i');
    expect((await a().delete(`/api/nodes/${item.id}`)).status).to.equal(204);
    expect((await a().delete(`/api/nodes/${deep.id}`)).status).to.equal(204); // its folder is gone: it goes back to the root
    const restored = (await a().json(a().post(`/api/trash/${item.id}/restore`))) as NodeJson;
    expect(restored).to.include({ name: 'Shared with me (restored)', parentId: alice.rootId });
    const res = await Dav.for(srv, alice).request('PROPFIND', '/dav/', { headers: { depth: '1' } });
    const listed = hrefs(await res.text());
    expect(listed.filter((h) => h === '/dav/Shared%20with%20me/')).to.have.length(1);
    expect(listed).to.include('/dav/Shared%20with%20me%20%28restored%29/');
    expect(
      (await Dav.for(srv, alice).request('GET', '/dav/Shared%20with%20me%20%28restored%29/inside.txt')).status,
    ).to.equal(200);
  });
});
