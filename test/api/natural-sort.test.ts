/**
 * Listings sort names as people read them (f2 before f10), through every path that names a node —
 * upload, new folder, WebDAV, rename, copy, restore — and for rows written before the sort key
 * existed (the 017 migration's backfill).
 */
import { expect } from 'chai';
import { sortKey } from '../../server/domain/names.js';
import { Dav } from '../dav/support.js';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { rerunMigration } from '../support/migrations.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy } from '../support/store.js';

describe('natural sort by name', () => {
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const listed = async (folderId: string, order = 'asc') =>
    (await a.children(folderId, `?sort=name&order=${order}`)).map((n) => n.name);

  it('compares runs of digits by value, case-insensitively', () => {
    const names = ['f10', 'F2', 'f1', 'f02', 'f', 'f1a', 'IMG_0099.jpg', 'img_100.jpg', 'a 9 b', 'a 10 b', '007', '7'];
    expect([...names].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0))).to.deep.equal([
      '007',
      '7',
      'a 9 b',
      'a 10 b',
      'f',
      'f1',
      'f1a',
      'F2',
      'f02',
      'f10',
      'IMG_0099.jpg',
      'img_100.jpg',
    ]);
  });

  it('lists uploads, folders and WebDAV files in natural order, both ways', async () => {
    const folder = await a.mkdir(u.rootId, 'scans');
    for (const n of ['page10.png', 'page9.png', 'Page1.png']) await a.upload(folder.id, n, n);
    await a.mkdir(folder.id, 'part 10');
    await a.mkdir(folder.id, 'part 2');
    const dav = Dav.for(srv, u);
    expect((await dav.put('/dav/scans/page100.png', 'x')).status).to.equal(201);
    expect(await listed(folder.id)).to.deep.equal([
      'part 2',
      'part 10',
      'Page1.png',
      'page9.png',
      'page10.png',
      'page100.png',
    ]);
    expect(await listed(folder.id, 'desc')).to.deep.equal([
      'part 10',
      'part 2',
      'page100.png',
      'page10.png',
      'page9.png',
      'Page1.png',
    ]);
  });

  it('keeps the order after a rename, a copy and a restore from the bin', async () => {
    const folder = await a.mkdir(u.rootId, 'moves');
    const f3 = await a.upload(folder.id, 'x3', 'x');
    await a.upload(folder.id, 'x20', 'x');
    expect((await a.patch(`/api/nodes/${f3.id}`, { name: 'x30' })).status).to.equal(200);
    expect(await listed(folder.id)).to.deep.equal(['x20', 'x30']);
    const copy = await a.post(`/api/nodes/${folder.id}/copy`, { parentId: u.rootId, name: 'moves 2' });
    expect(copy.status).to.equal(201);
    expect(await listed((await copy.json()).id)).to.deep.equal(['x20', 'x30']);
    const x4 = await a.upload(folder.id, 'x4', 'x');
    expect((await a.delete(`/api/nodes/${x4.id}`)).status).to.equal(204);
    expect((await a.post(`/api/trash/${x4.id}/restore`)).status).to.equal(200);
    expect(await listed(folder.id)).to.deep.equal(['x4', 'x20', 'x30']);
  });

  it('keys rows written before the sort key existed (the 017 backfill)', async () => {
    const own = await startTestServer();
    try {
      const v = await createUser(own);
      const b = api(own.url).as(v);
      for (const n of ['v10', 'v9', 'v1']) await b.upload(v.rootId, n, n);
      const db = await rerunMigration(own, '017-natural-sort', [
        'DROP INDEX nodes_parent_sort',
        'ALTER TABLE nodes DROP COLUMN sort_key',
      ]);
      const rows = await db.all<{ name: string; sort_key: string | null }>(
        'SELECT name, sort_key FROM nodes WHERE parent_id IS NOT NULL',
      );
      await db.close();
      expect(rows.length).to.equal(3);
      for (const r of rows) expect(r.sort_key, r.name).to.equal(sortKey(r.name));
    } finally {
      await own.close();
    }
  });
});
