import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy } from '../support/store.js';

interface Row {
  id: number;
  ownerId: string;
  actor: { id: string | null; username: string | null };
  action: string;
  nodeId: string | null;
  path: string | null;
  details: Record<string, unknown> | null;
  via: string;
  createdAt: string;
}

describe('every mutation writes one activity row (owner, actor, action, path)', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  let start: number;
  const ids: Record<string, string> = {};

  const log = async (qs = ''): Promise<Row[]> => {
    const res = await a.get(`/api/activity?limit=1000${qs}`);
    expect(res.status).to.equal(200);
    return ((await res.json()) as { items: Row[] }).items;
  };
  const mine = (rows: Row[]) => rows.filter((r) => r.action !== 'auth.login' && r.action !== 'user.created');

  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
    start = Date.now();
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  it('records creating, uploading, replacing, renaming, moving, copying and trashing, in order, with paths', async () => {
    const before = (await log()).length;
    const docs = await a.mkdir(u.rootId, 'Docs');
    const deep = await a.mkdir(docs.id, 'Deep');
    const f = await a.upload(docs.id, 'a.txt', 'one');
    await a.upload(docs.id, 'a.txt', 'two', '?overwrite=true');
    await a.patch(`/api/nodes/${f.id}`, { name: 'b.txt' });
    await a.patch(`/api/nodes/${f.id}`, { parentId: deep.id });
    await a.patch(`/api/nodes/${f.id}`, { parentId: docs.id, name: 'c.txt' });
    const copy = await a.json(a.post(`/api/nodes/${f.id}/copy`, { parentId: u.rootId }));
    await a.post(`/api/nodes/${deep.id}/copy`, { parentId: u.rootId, name: 'Deep copy' });
    await a.delete(`/api/nodes/${copy.id}`);
    Object.assign(ids, { docs: docs.id, deep: deep.id, f: f.id, copy: copy.id });

    const rows = (await log()).slice(0, (await log()).length - before).reverse(); // oldest first
    const expected: [string, string, string][] = [
      ['folder.created', '/Docs', docs.id],
      ['folder.created', '/Docs/Deep', deep.id],
      ['file.uploaded', '/Docs/a.txt', f.id],
      ['file.replaced', '/Docs/a.txt', f.id],
      ['node.renamed', '/Docs/b.txt', f.id],
      ['node.moved', '/Docs/Deep/b.txt', f.id],
      ['node.moved', '/Docs/c.txt', f.id],
      ['node.copied', '/c.txt', copy.id],
      ['node.copied', '/Deep copy', ''],
      ['node.trashed', '/c.txt', copy.id],
    ];
    expect(rows.map((r) => [r.action, r.path])).to.deep.equal(expected.map(([action, path]) => [action, path]));
    for (const [i, r] of rows.entries()) {
      expect(r.ownerId, r.action).to.equal(u.id);
      expect(r.actor, r.action).to.deep.equal({ id: u.id, username: u.username, displayName: null });
      expect(r.via).to.equal('api');
      if (expected[i]![2]) expect(r.nodeId, `${r.action} node`).to.equal(expected[i]![2]);
      expect(Date.parse(r.createdAt)).to.be.within(start - 1000, Date.now() + 1000);
    }
    // Where it came from, for moves, renames and copies.
    const moved = rows.filter((r) => r.action === 'node.moved');
    expect(moved[0]!.details).to.include({ from: '/Docs/b.txt' });
    expect(rows.find((r) => r.action === 'node.renamed')!.details).to.include({
      from: '/Docs/a.txt',
      oldName: 'a.txt',
    });
    expect(rows.find((r) => r.path === '/c.txt' && r.action === 'node.copied')!.details).to.include({
      from: '/Docs/c.txt',
    });
    expect(rows.find((r) => r.action === 'file.replaced')!.details).to.include({ size: 3 });
  });

  it('writes one row per item for bulk operations and multipart uploads', async () => {
    const before = (await log()).length;
    const dir = await a.mkdir(u.rootId, 'Bulk');
    const x = await a.upload(dir.id, 'x', '1');
    const y = await a.upload(dir.id, 'y', '2');
    const form = new FormData();
    form.append('f', new Blob(['m1']), 'm1.txt');
    form.append('f', new Blob(['m2']), 'm2.txt');
    expect(
      (
        await fetch(`${srv.url}/api/folders/${dir.id}/upload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${u.token}` },
          body: form,
        })
      ).status,
    ).to.equal(201);
    await a.post('/api/nodes/bulk', { action: 'copy', ids: [x.id, y.id], parentId: ids.docs });
    await a.post('/api/nodes/bulk', { action: 'move', ids: [x.id, y.id], parentId: ids.deep });
    await a.post('/api/nodes/bulk', { action: 'trash', ids: [x.id, y.id] });
    const rows = (await log()).slice(0, (await log()).length - before).reverse();
    expect(rows.map((r) => `${r.action} ${r.path}`)).to.deep.equal([
      'folder.created /Bulk',
      'file.uploaded /Bulk/x',
      'file.uploaded /Bulk/y',
      'file.uploaded /Bulk/m1.txt',
      'file.uploaded /Bulk/m2.txt',
      'node.copied /Docs/x',
      'node.copied /Docs/y',
      'node.moved /Docs/Deep/x',
      'node.moved /Docs/Deep/y',
      'node.trashed /Docs/Deep/x',
      'node.trashed /Docs/Deep/y',
    ]);
  });

  it('writes nothing for a refused mutation', async () => {
    const before = (await log()).length;
    expect((await a.post('/api/folders', { parentId: u.rootId, name: 'Docs' })).status).to.equal(409);
    expect((await a.put(`/api/folders/${ids.docs}/files/c.txt`, 'clash')).status).to.equal(409);
    expect((await a.patch(`/api/nodes/${ids.docs}`, { parentId: ids.deep })).status).to.equal(409);
    expect(
      (await a.post('/api/nodes/bulk', { action: 'move', ids: [ids.f, ids.deep], parentId: ids.deep })).status,
    ).to.equal(409);
    expect((await a.post('/api/folders', { parentId: u.rootId, name: '..' })).status).to.equal(400);
    expect((await log()).length).to.equal(before);
  });

  it('filters by action and path prefix, by time, pages with a cursor and exports CSV', async () => {
    const moves = await log('&action=node.moved');
    expect(moves.length).to.equal(4);
    expect(moves.every((r) => r.action === 'node.moved')).to.equal(true);
    const underDocs = await log(`&path=${encodeURIComponent('/Docs/')}`);
    expect(underDocs.length).to.be.greaterThan(5);
    expect(underDocs.every((r) => r.path!.startsWith('/Docs/'))).to.equal(true);
    // A path prefix is literal: "%" and "_" are not wildcards.
    expect(await log(`&path=${encodeURIComponent('/D_cs')}`)).to.deep.equal([]);
    expect(await log(`&path=${encodeURIComponent('%')}`)).to.deep.equal([]);
    const all = mine(await log());
    expect(mine(await log(`&from=${encodeURIComponent(new Date(start - 1000).toISOString())}`)).length).to.equal(
      all.length,
    );
    expect(await log(`&to=${encodeURIComponent(new Date(start - 60_000).toISOString())}`)).to.deep.equal([]);

    const pages: Row[] = [];
    let cursor: number | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const res = await a.get(`/api/activity?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as { items: Row[]; nextCursor: number | null };
      expect(page.items.length).to.be.at.most(3);
      pages.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(pages.map((r) => r.id)).to.deep.equal((await log()).map((r) => r.id));

    const csv = await a.get('/api/activity?format=csv&action=node.trashed');
    expect(csv.status).to.equal(200);
    expect(csv.headers.get('content-type')).to.match(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).to.equal('time,owner,actor,action,path,via,ip,details');
    expect(lines.slice(1).map((l) => l.split(',')[4])).to.have.members([
      '"/c.txt"',
      '"/Docs/Deep/x"',
      '"/Docs/Deep/y"',
    ]);
    expect(lines.slice(1).every((l) => l.includes(`"${u.username}"`) && l.includes('"node.trashed"'))).to.equal(true);
  });

  it("logs admin actions on a user's account in that user's log", async () => {
    const admin = api(srv.url).as(await srv.adminToken());
    expect((await admin.patch(`/api/admin/users/${u.id}`, { quotaBytes: 123456789 })).status).to.equal(200);
    const row = (await log('&action=user.updated'))[0]!;
    expect(row.ownerId).to.equal(u.id);
    expect(row.actor.username).to.equal('admin');
    expect(row.details).to.include({ quotaBytes: 123456789 });
  });
});
