import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { storedBlobs, blobRows, expectHealthy, usedBytes } from '../support/store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the file tree through the API', () => {
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

  const names = (items: NodeJson[]) => items.map((n) => n.name);
  const stat = async (id: string) => a.json<NodeJson>(a.get(`/api/nodes/${id}`));
  const text = async (id: string) => (await a.get(`/api/files/${id}/content`)).text();

  it('creates a 3-level tree, lists it and gives breadcrumbs root first', async () => {
    const top = await a.mkdir(u.rootId, 'Projects');
    const mid = await a.mkdir(top.id, 'Coffer');
    const deep = await a.mkdir(mid.id, 'Notes');
    const f = await a.upload(deep.id, 'todo.txt', 'write tests');
    expect(top).to.include({ kind: 'folder', parentId: u.rootId, ownerId: u.id, permission: 'owner' });
    expect(f).to.include({ kind: 'file', size: 11, parentId: deep.id, mime: 'text/plain' });
    expect(names(await a.children(u.rootId))).to.include('Projects');
    expect(names(await a.children(mid.id))).to.deep.equal(['Notes']);
    expect(names(await a.children(deep.id))).to.deep.equal(['todo.txt']);

    const crumbs = await a.json<{ items: NodeJson[] }>(a.get(`/api/nodes/${f.id}/path`));
    expect(crumbs.items.map((n) => n.id)).to.deep.equal([u.rootId, top.id, mid.id, deep.id, f.id]);
    expect(names(crumbs.items).slice(1)).to.deep.equal(['Projects', 'Coffer', 'Notes', 'todo.txt']);
    expect(await text(f.id)).to.equal('write tests');
  });

  it('sorts children by name, size and modification time, both ways, folders first, with offset/limit and total', async () => {
    const dir = await a.mkdir(u.rootId, 'sorting');
    await a.upload(dir.id, 'b.txt', 'bbb'); // 3 bytes, oldest
    await sleep(15);
    await a.upload(dir.id, 'a.txt', 'aaaaaaaaaa'); // 10 bytes
    await sleep(15);
    await a.upload(dir.id, 'C.txt', 'c'); // 1 byte, newest
    await sleep(15);
    await a.mkdir(dir.id, 'zz folder');
    const list = (q: string) => a.children(dir.id, q).then(names);
    expect(await list('')).to.deep.equal(['zz folder', 'a.txt', 'b.txt', 'C.txt']);
    expect(await list('?sort=name&order=desc')).to.deep.equal(['zz folder', 'C.txt', 'b.txt', 'a.txt']);
    expect(await list('?sort=size&order=asc')).to.deep.equal(['zz folder', 'C.txt', 'b.txt', 'a.txt']);
    expect(await list('?sort=size&order=desc')).to.deep.equal(['zz folder', 'a.txt', 'b.txt', 'C.txt']);
    expect(await list('?sort=modified&order=asc')).to.deep.equal(['zz folder', 'b.txt', 'a.txt', 'C.txt']);
    expect(await list('?sort=modified&order=desc')).to.deep.equal(['zz folder', 'C.txt', 'a.txt', 'b.txt']);
    const page = await a.json<{ items: NodeJson[]; total: number }>(
      a.get(`/api/nodes/${dir.id}/children?sort=name&offset=1&limit=2`),
    );
    expect(page.total).to.equal(4);
    expect(names(page.items)).to.deep.equal(['a.txt', 'b.txt']);
    const past = await a.json<{ items: NodeJson[]; total: number }>(a.get(`/api/nodes/${dir.id}/children?offset=10`));
    expect(past).to.deep.equal({ items: [], total: 4 });
    for (const bad of ['?sort=color', '?order=up', '?limit=0', '?offset=-1', '?limit=abc']) {
      const res = await a.get(`/api/nodes/${dir.id}/children${bad}`);
      expect(res.status, bad).to.equal(400);
      expect((await res.json()).error.code).to.equal('invalid_input');
    }
    // Listing a file is not a folder.
    const file = (await a.children(dir.id)).find((n) => n.name === 'a.txt')!;
    expect((await a.get(`/api/nodes/${file.id}/children`)).status).to.equal(409);
  });

  it('renames and moves files and folders; a folder cannot move into its own descendant', async () => {
    const x = await a.mkdir(u.rootId, 'x');
    const xy = await a.mkdir(x.id, 'y');
    const xyz = await a.mkdir(xy.id, 'z');
    const doc = await a.upload(x.id, 'doc.md', '# doc');

    const renamed = await a.json<NodeJson>(a.patch(`/api/nodes/${doc.id}`, { name: 'readme.md' }));
    expect(renamed).to.include({ id: doc.id, name: 'readme.md', parentId: x.id });
    const moved = await a.json<NodeJson>(a.patch(`/api/nodes/${doc.id}`, { parentId: xyz.id }));
    expect(moved).to.include({ id: doc.id, name: 'readme.md', parentId: xyz.id });
    const both = await a.json<NodeJson>(a.patch(`/api/nodes/${doc.id}`, { parentId: xy.id, name: 'README' }));
    expect(both).to.include({ parentId: xy.id, name: 'README' });
    expect(await text(doc.id)).to.equal('# doc');

    for (const target of [xy.id, xyz.id, x.id]) {
      const res = await a.patch(`/api/nodes/${x.id}`, { parentId: target });
      expect(res.status, target).to.equal(409);
      expect((await res.json()).error.code).to.equal('invalid_move');
    }
    const intoSelfCopy = await a.post(`/api/nodes/${x.id}/copy`, { parentId: xyz.id });
    expect(intoSelfCopy.status).to.equal(409);
    expect((await stat(x.id)).parentId).to.equal(u.rootId);

    // Moving onto a taken name is refused; the root cannot be renamed or deleted.
    await a.upload(xy.id, 'other', '1');
    const clash = await a.patch(`/api/nodes/${doc.id}`, { name: 'OTHER' });
    expect(clash.status).to.equal(409);
    expect((await clash.json()).error.code).to.equal('already_exists');
    expect((await a.patch(`/api/nodes/${u.rootId}`, { name: 'home' })).status).to.equal(403);
    expect((await a.delete(`/api/nodes/${u.rootId}`)).status).to.equal(403);
  });

  it('copies a file and a whole folder as metadata only, charging the quota for the copy', async () => {
    const src = await a.mkdir(u.rootId, 'copy-src');
    const inner = await a.mkdir(src.id, 'inner');
    await a.mkdir(inner.id, 'empty');
    const f1 = await a.upload(src.id, 'one.bin', Buffer.alloc(1000, 1));
    await a.upload(inner.id, 'two.bin', Buffer.alloc(2000, 2));
    const dest = await a.mkdir(u.rootId, 'copy-dest');
    const blobsBefore = (await storedBlobs(srv)).length;
    const rowsBefore = (await blobRows(srv)).length;
    const usedBefore = await usedBytes(srv, u.id);

    const fileCopy = await a.post(`/api/nodes/${f1.id}/copy`, { parentId: dest.id });
    expect(fileCopy.status).to.equal(201);
    const fc = (await fileCopy.json()) as NodeJson;
    expect(fc).to.include({ name: 'one.bin', parentId: dest.id, size: 1000 });
    expect(fc.id).to.not.equal(f1.id);
    expect(await usedBytes(srv, u.id)).to.equal(usedBefore + 1000);

    const named = await a.json<NodeJson>(
      a.post(`/api/nodes/${f1.id}/copy`, { parentId: src.id, name: 'one copy.bin' }),
    );
    expect(named.name).to.equal('one copy.bin');
    expect((await a.post(`/api/nodes/${f1.id}/copy`, { parentId: src.id })).status).to.equal(409);

    const folderCopy = await a.json<NodeJson>(a.post(`/api/nodes/${src.id}/copy`, { parentId: dest.id }));
    expect(folderCopy).to.include({ name: 'copy-src', kind: 'folder', parentId: dest.id });
    // 1000 (file copy) + 1000 (named copy) + 1000 + 1000 + 2000 (the folder copy holds one.bin, one copy.bin, two.bin)
    expect(await usedBytes(srv, u.id)).to.equal(usedBefore + 6000);
    const copied = await a.children(folderCopy.id);
    expect(names(copied)).to.deep.equal(['inner', 'one copy.bin', 'one.bin']);
    const copiedInner = copied.find((n) => n.name === 'inner')!;
    expect(names(await a.children(copiedInner.id))).to.deep.equal(['empty', 'two.bin']);
    const two = (await a.children(copiedInner.id)).find((n) => n.name === 'two.bin')!;
    expect(
      Buffer.from(await (await a.get(`/api/files/${two.id}/content`)).arrayBuffer()).equals(Buffer.alloc(2000, 2)),
    ).to.equal(true);

    expect((await storedBlobs(srv)).length, 'no new blob files').to.equal(blobsBefore);
    expect((await blobRows(srv)).length, 'no new blob rows').to.equal(rowsBefore);
  });

  it('deletes to the recycle bin, which lists the item with its original path', async () => {
    const dir = await a.mkdir(u.rootId, 'bin-test');
    const sub = await a.mkdir(dir.id, 'sub');
    const f = await a.upload(sub.id, 'gone.txt', 'bye');
    const used = await usedBytes(srv, u.id);
    expect((await a.delete(`/api/nodes/${f.id}`)).status).to.equal(204);
    expect((await a.get(`/api/nodes/${f.id}`)).status).to.equal(404);
    expect((await a.get(`/api/files/${f.id}/content`)).status).to.equal(404);
    expect(names(await a.children(sub.id))).to.deep.equal([]);
    expect((await a.delete(`/api/nodes/${sub.id}`)).status).to.equal(204);
    expect(names(await a.children(dir.id))).to.deep.equal([]);
    expect(await usedBytes(srv, u.id), 'trash still counts toward quota').to.equal(used);

    const trash = await a.json<{
      items: { id: string; name: string; kind: string; originalPath: string; size: number }[];
    }>(a.get('/api/trash'));
    const byId = new Map(trash.items.map((t) => [t.id, t]));
    expect(byId.get(f.id)).to.include({
      name: 'gone.txt',
      originalPath: '/bin-test/sub/gone.txt',
      kind: 'file',
      size: 3,
    });
    expect(byId.get(sub.id)).to.include({ name: 'sub', originalPath: '/bin-test/sub', kind: 'folder' });
    const me = await a.json(a.get('/api/auth/me'));
    expect(me.user.trashBytes).to.be.at.least(3);
    // A name freed by trashing can be used again.
    expect((await a.upload(dir.id, 'sub', 'now a file')).kind).to.equal('file');
  });

  it('refuses an upload onto a taken name with 409 unless ?overwrite=true, which keeps the id and changes content and ETag', async () => {
    const dir = await a.mkdir(u.rootId, 'replace');
    const first = await a.put(`/api/folders/${dir.id}/files/data.txt`, 'version 1');
    expect(first.status).to.equal(201);
    const v1 = (await first.json()) as NodeJson;
    expect(first.headers.get('etag')).to.equal(`"${v1.etag}"`);
    const taken = await a.put(`/api/folders/${dir.id}/files/DATA.txt`, 'version 2');
    expect(taken.status).to.equal(409);
    expect((await taken.json()).error.code).to.equal('already_exists');
    expect(await text(v1.id)).to.equal('version 1');

    const used = await usedBytes(srv, u.id);
    const replaced = await a.put(`/api/folders/${dir.id}/files/data.txt?overwrite=true`, 'version two!');
    expect(replaced.status).to.equal(200);
    const v2 = (await replaced.json()) as NodeJson;
    expect(v2.id).to.equal(v1.id);
    expect(v2.etag).to.not.equal(v1.etag);
    expect(v2.size).to.equal(12);
    expect(await text(v1.id)).to.equal('version two!');
    // The old content is kept as a version and goes on counting toward the quota.
    expect(await usedBytes(srv, u.id)).to.equal(used + 12);
    const res = await a.get(`/api/files/${v1.id}/content`);
    expect(res.headers.get('etag')).to.equal(`"${v2.etag}"`);
    expect(names(await a.children(dir.id))).to.deep.equal(['data.txt']);
    // A folder is never replaced by a file.
    await a.mkdir(dir.id, 'folder');
    expect((await a.put(`/api/folders/${dir.id}/files/folder?overwrite=true`, 'x')).status).to.equal(409);
  });

  it('bulk-moves all or nothing: one clash in three leaves every item where it was', async () => {
    const from = await a.mkdir(u.rootId, 'bulk-from');
    const to = await a.mkdir(u.rootId, 'bulk-to');
    const i1 = await a.upload(from.id, 'one.txt', '1');
    const i2 = await a.mkdir(from.id, 'two');
    const i3 = await a.upload(from.id, 'three.txt', '3');
    await a.upload(to.id, 'Three.txt', 'already here');

    const res = await a.post('/api/nodes/bulk', { action: 'move', ids: [i1.id, i2.id, i3.id], parentId: to.id });
    expect(res.status).to.equal(409);
    expect((await res.json()).error.code).to.equal('already_exists');
    for (const n of [i1, i2, i3]) expect((await stat(n.id)).parentId, n.name).to.equal(from.id);
    expect(names(await a.children(from.id))).to.deep.equal(['two', 'one.txt', 'three.txt']);
    expect(names(await a.children(to.id))).to.deep.equal(['Three.txt']);

    // Without the clash the same bulk move works.
    const ok = await a.post('/api/nodes/bulk', { action: 'move', ids: [i1.id, i2.id], parentId: to.id });
    expect(ok.status).to.equal(200);
    expect(names((await ok.json()).items)).to.deep.equal(['one.txt', 'two']);
    expect(names(await a.children(to.id))).to.deep.equal(['two', 'one.txt', 'Three.txt']);
  });

  it('nests without limit: a 64-deep chain has full breadcrumbs and cannot be moved into its own bottom', async () => {
    const chain: NodeJson[] = [await a.mkdir(u.rootId, 'deep-0')];
    for (let i = 1; i < 64; i++) chain.push(await a.mkdir(chain[i - 1]!.id, `deep-${i}`));
    const bottom = chain[63]!;
    const leaf = await a.upload(bottom.id, 'leaf.txt', 'at the bottom');
    const crumbs = (await a.json<{ items: NodeJson[] }>(a.get(`/api/nodes/${leaf.id}/path`))).items;
    expect(crumbs.map((n) => n.id)).to.deep.equal([u.rootId, ...chain.map((n) => n.id), leaf.id]);
    const res = await a.patch(`/api/nodes/${chain[0]!.id}`, { parentId: bottom.id });
    expect(res.status).to.equal(409);
    expect((await res.json()).error.code).to.equal('invalid_move');
    // Moving the bottom half up one level works, and breadcrumbs follow.
    expect((await a.patch(`/api/nodes/${chain[32]!.id}`, { parentId: u.rootId })).status).to.equal(200);
    const after = (await a.json<{ items: NodeJson[] }>(a.get(`/api/nodes/${leaf.id}/path`))).items;
    expect(after.length).to.equal(1 + 32 + 1);
    expect(after[1]!.id).to.equal(chain[32]!.id);
  });

  it('refuses a file or a trashed folder as a target folder (409 not_a_folder / 404)', async () => {
    const dir = await a.mkdir(u.rootId, 'targets');
    const file = await a.upload(dir.id, 'plain.txt', 'p');
    const gone = await a.mkdir(dir.id, 'gone');
    await a.delete(`/api/nodes/${gone.id}`);
    const other = await a.upload(u.rootId, 'mover.txt', 'm');
    const attempts = (target: string) => [
      a.put(`/api/folders/${target}/files/x.txt`, 'x'),
      a.post('/api/folders', { parentId: target, name: 'x' }),
      a.patch(`/api/nodes/${other.id}`, { parentId: target }),
      a.post(`/api/nodes/${other.id}/copy`, { parentId: target }),
      a.post('/api/nodes/bulk', { action: 'move', ids: [other.id], parentId: target }),
    ];
    for (const res of await Promise.all(attempts(file.id))) {
      expect(res.status).to.equal(409);
      expect((await res.json()).error.code).to.equal('not_a_folder');
    }
    for (const res of await Promise.all(attempts(gone.id))) {
      expect(res.status).to.equal(404);
      expect((await res.json()).error.code).to.equal('not_found');
    }
    expect((await stat(other.id)).parentId).to.equal(u.rootId);
  });

  it('concurrent creates of one name: exactly one wins, the rest get 409, never a 500', async () => {
    const dir = await a.mkdir(u.rootId, 'race');
    const folders = await Promise.all(
      Array.from({ length: 12 }, (_, i) => a.post('/api/folders', { parentId: dir.id, name: i % 2 ? 'Same' : 'same' })),
    );
    const uploads = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        a.put(`/api/folders/${dir.id}/files/file-${i % 2 ? 'A' : 'a'}.txt`, `body ${i}`),
      ),
    );
    for (const batch of [folders, uploads]) {
      const statuses = batch.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201).length, statuses.join()).to.equal(1);
      expect(
        statuses.filter((s) => s !== 201).every((s) => s === 409),
        statuses.join(),
      ).to.equal(true);
    }
    expect(names(await a.children(dir.id)).map((n) => n.toLowerCase())).to.deep.equal(['same', 'file-a.txt']);
  });

  it('bulk-copies and bulk-trashes', async () => {
    const src = await a.mkdir(u.rootId, 'bulk-src');
    const dst = await a.mkdir(u.rootId, 'bulk-dst');
    const f1 = await a.upload(src.id, 'f1', 'one');
    const f2 = await a.upload(src.id, 'f2', 'two');
    const d = await a.mkdir(src.id, 'd');
    await a.upload(d.id, 'inside', 'in');
    const used = await usedBytes(srv, u.id);

    const copy = await a.post('/api/nodes/bulk', { action: 'copy', ids: [f1.id, f2.id, d.id], parentId: dst.id });
    expect(copy.status).to.equal(201);
    expect(names((await copy.json()).items)).to.deep.equal(['f1', 'f2', 'd']);
    expect(names(await a.children(dst.id))).to.deep.equal(['d', 'f1', 'f2']);
    expect(await usedBytes(srv, u.id)).to.equal(used + 8);
    // Copying again clashes on every name: nothing is copied.
    expect(
      (await a.post('/api/nodes/bulk', { action: 'copy', ids: [f1.id, f2.id], parentId: dst.id })).status,
    ).to.equal(409);
    expect(await usedBytes(srv, u.id)).to.equal(used + 8);

    const trash = await a.post('/api/nodes/bulk', { action: 'trash', ids: [f1.id, f2.id, d.id] });
    expect(trash.status).to.equal(200);
    expect(names(await a.children(src.id))).to.deep.equal([]);
    const bin = await a.json<{ items: { id: string }[] }>(a.get('/api/trash'));
    expect(bin.items.map((t) => t.id)).to.include.members([f1.id, f2.id, d.id]);

    // A folder and something inside it, in either order: both end up in the bin, the child with its folder.
    for (const order of ['folder first', 'child first']) {
      const box = await a.mkdir(src.id, `box ${order}`);
      const inner = await a.upload(box.id, 'inner.txt', 'in');
      const ids = order === 'folder first' ? [box.id, inner.id] : [inner.id, box.id];
      const res = await a.post('/api/nodes/bulk', { action: 'trash', ids });
      expect(res.status, order).to.equal(200);
      expect((await a.get(`/api/nodes/${box.id}`)).status).to.equal(404);
      expect((await a.get(`/api/nodes/${inner.id}`)).status).to.equal(404);
    }
    expect(names(await a.children(src.id))).to.deep.equal([]);

    // A bulk trash naming a node that does not exist trashes nothing.
    const keep = await a.upload(src.id, 'keep', 'k');
    const bad = await a.post('/api/nodes/bulk', {
      action: 'trash',
      ids: [keep.id, '00000000-0000-4000-8000-000000000000'],
    });
    expect(bad.status).to.equal(404);
    expect(names(await a.children(src.id))).to.deep.equal(['keep']);
    expect((await a.post('/api/nodes/bulk', { action: 'move', ids: [keep.id] })).status).to.equal(400);
    expect((await a.post('/api/nodes/bulk', { action: 'trash', ids: [keep.id, keep.id] })).status).to.equal(400);
  });
});
