import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { usedBytes } from '../support/store.js';

describe('user shares', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  let project: NodeJson, sub: NodeJson, doc: NodeJson;

  before(async () => {
    srv = await startTestServer();
    [alice, bob, carol] = [
      await createUser(srv, { prefix: 'alice' }),
      await createUser(srv, { prefix: 'bob' }),
      await createUser(srv, { prefix: 'carol' }),
    ];
    const a = api(srv.url).as(alice);
    project = await a.mkdir(alice.rootId, 'Project');
    sub = await a.mkdir(project.id, 'Deep');
    doc = await a.upload(sub.id, 'plan.txt', 'the plan');
  });
  after(() => srv.close());

  it('grants view on a folder and everything below it; the grantee sees it in incoming', async () => {
    const a = api(srv.url).as(alice);
    const res = await a.post(`/api/nodes/${project.id}/shares`, { user: bob.username, permission: 'view' });
    expect(res.status).to.equal(201);
    const share = await res.json();
    expect(share).to.deep.include({ permission: 'view', nodeId: project.id });
    expect(share.grantee.username).to.equal(bob.username);

    const b = api(srv.url).as(bob);
    const incoming = await b.json(b.get('/api/shares/incoming'));
    expect(incoming.items.map((i: NodeJson) => i.id)).to.deep.equal([project.id]);
    expect(incoming.items[0].sharedBy.username).to.equal(alice.username);
    expect((await b.get(`/api/nodes/${doc.id}`)).status).to.equal(200);
    expect((await b.json(b.get(`/api/nodes/${doc.id}`))).permission).to.equal('view');
    const content = await b.get(`/api/files/${doc.id}/content`);
    expect(await content.text()).to.equal('the plan');
    // Breadcrumbs stop at the share's root: nothing above it leaks.
    const crumbs = await b.json(b.get(`/api/nodes/${doc.id}/path`));
    expect(crumbs.items.map((n: NodeJson) => n.name)).to.deep.equal(['Project', 'Deep', 'plan.txt']);
    // A stranger still gets 404.
    expect((await api(srv.url).as(carol).get(`/api/nodes/${doc.id}`)).status).to.equal(404);
  });

  it('never lets a viewer change anything (403), and the strongest share wins', async () => {
    const b = api(srv.url).as(bob);
    expect((await b.put(`/api/folders/${sub.id}/files/new.txt`, 'x')).status).to.equal(403);
    expect((await b.patch(`/api/nodes/${doc.id}`, { name: 'renamed.txt' })).status).to.equal(403);
    expect((await b.delete(`/api/nodes/${doc.id}`)).status).to.equal(403);
    expect((await b.post('/api/folders', { parentId: sub.id, name: 'x' })).status).to.equal(403);
    // An edit share deeper down beats the view share above.
    const a = api(srv.url).as(alice);
    expect((await a.post(`/api/nodes/${sub.id}/shares`, { user: bob.email, permission: 'edit' })).status).to.equal(201);
    expect((await b.json(b.get(`/api/nodes/${doc.id}`))).permission).to.equal('edit');
    const children = await b.children(project.id);
    expect(children.find((c) => c.id === sub.id)!.permission).to.equal('edit');
  });

  it("charges an editor's upload to the owner and logs it in the owner's activity with the editor as actor", async () => {
    const before = await usedBytes(srv, alice.id);
    const bobBefore = await usedBytes(srv, bob.id);
    const b = api(srv.url).as(bob);
    const up = await b.upload(sub.id, 'from-bob.txt', '12345');
    expect(up.ownerId).to.equal(alice.id);
    expect(await usedBytes(srv, alice.id)).to.equal(before + 5);
    expect(await usedBytes(srv, bob.id)).to.equal(bobBefore);
    const log = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/activity?action=file.uploaded'));
    const row = log.items.find((r: { nodeId: string }) => r.nodeId === up.id);
    expect(row.actor.username).to.equal(bob.username);
    expect(row.path).to.equal('/Project/Deep/from-bob.txt');
    // Bob's own log does not show Alice's resources.
    const bobLog = await b.json(b.get('/api/activity'));
    expect(bobLog.items.some((r: { nodeId: string }) => r.nodeId === up.id)).to.equal(false);
  });

  it("does not let grantees rename or trash the share root, re-share, or move things out of the owner's tree", async () => {
    const b = api(srv.url).as(bob);
    expect((await b.patch(`/api/nodes/${sub.id}`, { name: 'Mine' })).status).to.equal(403);
    expect((await b.delete(`/api/nodes/${sub.id}`)).status).to.equal(403);
    expect((await b.post(`/api/nodes/${doc.id}/shares`, { user: carol.username, permission: 'view' })).status).to.equal(
      403,
    );
    expect((await b.post(`/api/nodes/${doc.id}/links`, { permission: 'view' })).status).to.equal(403);
    expect((await b.patch(`/api/nodes/${doc.id}`, { parentId: bob.rootId })).status).to.equal(409); // invalid_move: ownership follows the tree
    // An editor may rename and trash things inside the share.
    const inner = await b.upload(sub.id, 'scratch.txt', 's');
    expect((await b.patch(`/api/nodes/${inner.id}`, { name: 'scratch2.txt' })).status).to.equal(200);
    expect((await b.delete(`/api/nodes/${inner.id}`)).status).to.equal(204);
    // …and it lands in the owner's bin, with who deleted it.
    const bin = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/trash'));
    const item = bin.items.find((i: { id: string }) => i.id === inner.id);
    expect(item.deletedBy.username).to.equal(bob.username);
    expect(item.originalPath).to.equal('/Project/Deep/scratch2.txt');
  });

  it('lists, changes and revokes shares; revoked access answers 404', async () => {
    const a = api(srv.url).as(alice);
    const list = await a.json(a.get(`/api/nodes/${project.id}/shares`));
    expect(list.items).to.have.length(1);
    const out = await a.json(a.get('/api/shares/outgoing'));
    expect(out.items.map((s: { nodeId: string }) => s.nodeId).sort()).to.deep.equal([project.id, sub.id].sort());
    const shareId = list.items[0].id as string;
    expect((await api(srv.url).as(bob).patch(`/api/shares/${shareId}`, { permission: 'edit' })).status).to.equal(403);
    expect((await api(srv.url).as(carol).patch(`/api/shares/${shareId}`, { permission: 'edit' })).status).to.equal(404);
    const changed = await a.patch(`/api/shares/${shareId}`, { permission: 'edit' });
    expect((await changed.json()).permission).to.equal('edit');
    for (const s of out.items) expect((await a.delete(`/api/shares/${s.id}`)).status).to.equal(204);
    expect((await api(srv.url).as(bob).get(`/api/nodes/${doc.id}`)).status).to.equal(404);
    expect((await api(srv.url).as(bob).json(api(srv.url).as(bob).get('/api/shares/incoming'))).items).to.deep.equal([]);
  });

  it('refuses bad share requests clearly', async () => {
    const a = api(srv.url).as(alice);
    expect(
      (await a.post(`/api/nodes/${project.id}/shares`, { user: 'no-such-user', permission: 'view' })).status,
    ).to.equal(404);
    expect(
      (await a.post(`/api/nodes/${project.id}/shares`, { user: alice.username, permission: 'view' })).status,
    ).to.equal(400);
    expect(
      (await a.post(`/api/nodes/${project.id}/shares`, { user: bob.username, permission: 'admin' })).status,
    ).to.equal(400);
    expect(
      (await a.post(`/api/nodes/${alice.rootId}/shares`, { user: bob.username, permission: 'view' })).status,
    ).to.equal(400);
    expect(
      (
        await a.post(`/api/nodes/${project.id}/shares`, {
          user: bob.username,
          permission: 'view',
          expiresAt: '2001-01-01T00:00:00Z',
        })
      ).status,
    ).to.equal(400);
  });

  it('finds users for the share dialog by prefix, never the caller', async () => {
    const a = api(srv.url).as(alice);
    const found = await a.json(a.get(`/api/users/lookup?q=${encodeURIComponent(bob.username.slice(0, 6))}`));
    expect(found.items.map((u: { username: string }) => u.username)).to.include(bob.username);
    const self = await a.json(a.get(`/api/users/lookup?q=${encodeURIComponent(alice.username)}`));
    expect(self.items).to.deep.equal([]);
  });
});
