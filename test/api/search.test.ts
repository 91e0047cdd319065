import { expect } from 'chai';
import { indexWholeBacklog } from '../../server/db/search-backlog.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Hit {
  id: string;
  name: string;
  kind: string;
  folderPath: string;
  ownerName: string;
  permission: string;
  size: number;
}

describe('GET /api/search', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser, carol: TestUser;

  before(async () => {
    srv = await startTestServer();
    [alice, bob, carol] = [
      await createUser(srv, { prefix: 'alice' }),
      await createUser(srv, { prefix: 'bob' }),
      await createUser(srv, { prefix: 'carol' }),
    ];
    const a = api(srv.url).as(alice);
    const reports = await a.mkdir(alice.rootId, 'Reports');
    await a.upload(reports.id, 'Quarterly-Budget_2026.xlsx', 'x'.repeat(2000));
    await a.upload(reports.id, 'budget.txt', 'b');
    await a.upload(alice.rootId, 'budgeting notes.md', 'n'.repeat(10));
    await a.mkdir(alice.rootId, 'Budget');
    await a.upload(alice.rootId, '100%_done.txt', 'p');
    await a.upload(alice.rootId, '100 percent.txt', 'p');
    await a.upload(alice.rootId, `it's "quoted".txt`, 'q');
    const gone = await a.upload(alice.rootId, 'budget-old.txt', 'old');
    await a.delete(`/api/nodes/${gone.id}`);
    const b = api(srv.url).as(bob);
    const shared = await b.mkdir(bob.rootId, 'Team');
    await b.upload(shared.id, 'team budget.pdf', 'pdf');
    await b.upload(bob.rootId, 'bob private budget.txt', 'secret');
    await b.post(`/api/nodes/${shared.id}/shares`, { user: alice.username, permission: 'view' });
  });
  after(() => srv.close());

  const search = async (user: TestUser, qs: string): Promise<Hit[]> => {
    const res = await api(srv.url).as(user).get(`/api/search?${qs}`);
    expect(res.status, qs).to.equal(200);
    return (await res.json()).items;
  };

  it('finds substrings case-insensitively in own and shared files, ranked exact, then prefix, then the rest', async () => {
    const hits = await search(alice, 'q=budget');
    const names = hits.map((h) => h.name);
    expect(names[0]).to.equal('Budget'); // exact (folder)
    expect(names.slice(1, 3).sort()).to.deep.equal(['budget.txt', 'budgeting notes.md']);
    expect(names).to.include.members(['Quarterly-Budget_2026.xlsx', 'team budget.pdf']);
    expect(names).to.not.include('budget-old.txt'); // in the bin
    expect(names).to.not.include('bob private budget.txt'); // not shared
    const team = hits.find((h) => h.name === 'team budget.pdf')!;
    expect(team).to.include({ ownerName: bob.username, permission: 'view', folderPath: '/Shared with me/Team' });
    expect(hits.find((h) => h.name === 'budget.txt')!.folderPath).to.equal('/Reports');
  });

  it('finds a name after each change: added, renamed twice, binned and purged; the index stays whole', async () => {
    const a = api(srv.url).as(alice);
    const found = async (q: string) => (await search(alice, `q=${q}`)).map((h) => h.name);
    const file = await a.upload(alice.rootId, 'zebra-stripes.txt', 'z');
    expect(await found('stripes')).to.deep.equal(['zebra-stripes.txt']);
    expect((await a.patch(`/api/nodes/${file.id}`, { name: 'zebra-spots.txt' })).status).to.equal(200);
    expect(await found('stripes')).to.deep.equal([]);
    expect(await found('spots')).to.deep.equal(['zebra-spots.txt']);
    expect(await found('spots')).to.deep.equal(['zebra-spots.txt']);
    expect((await a.patch(`/api/nodes/${file.id}`, { name: 'zebra-dots.txt' })).status).to.equal(200);
    expect(await found('spots')).to.deep.equal([]);
    expect(await found('dots')).to.deep.equal(['zebra-dots.txt']);
    expect(await found('dots')).to.deep.equal(['zebra-dots.txt']);
    const fresh = await a.upload(alice.rootId, 'zebra-fresh.txt', 'f');
    for (const id of [file.id, fresh.id]) {
      expect((await a.delete(`/api/nodes/${id}`)).status).to.equal(204);
      expect((await a.delete(`/api/trash/${id}`)).status).to.equal(200);
    }
    expect(await found('zebra')).to.deep.equal([]);
    expect(await found('zebra')).to.deep.equal([]);
    if (srv.app.db.dialect === 'sqlite') {
      // An external-content FTS5 index checked against its table: every live row indexed with its name,
      // nothing else (the names not yet indexed are indexed first: 021-search-backlog.ts).
      await indexWholeBacklog(srv.app.db);
      await srv.app.db.run("INSERT INTO nodes_fts (nodes_fts, rank) VALUES ('integrity-check', 1)");
    }
  });

  it('applies kind, size and date filters', async () => {
    expect((await search(alice, 'q=budget&kind=folder')).map((h) => h.name)).to.deep.equal(['Budget']);
    expect((await search(alice, 'q=budget&kind=file&minSize=1000')).map((h) => h.name)).to.deep.equal([
      'Quarterly-Budget_2026.xlsx',
    ]);
    expect((await search(alice, 'q=budget&kind=file&maxSize=3')).map((h) => h.name).sort()).to.deep.equal([
      'budget.txt',
      'team budget.pdf',
    ]);
    expect(await search(alice, 'q=budget&modifiedAfter=2999-01-01')).to.deep.equal([]);
  });

  it('handles short queries and LIKE wildcards literally', async () => {
    expect((await search(alice, `q=${encodeURIComponent('%_')}`)).map((h) => h.name)).to.deep.equal(['100%_done.txt']);
    expect((await search(alice, `q=${encodeURIComponent('0%')}`)).map((h) => h.name)).to.deep.equal(['100%_done.txt']);
    expect((await search(alice, 'q=md')).map((h) => h.name)).to.deep.equal(['budgeting notes.md']);
    expect((await search(alice, `q=${encodeURIComponent('"quoted"')}`)).map((h) => h.name)).to.deep.equal([
      `it's "quoted".txt`,
    ]);
    expect((await search(alice, `q=${encodeURIComponent("it's")}`)).map((h) => h.name)).to.deep.equal([
      `it's "quoted".txt`,
    ]);
    expect(await search(alice, `q=${encodeURIComponent('"')}`)).to.have.length(1);
  });

  it('shows nothing of other users to a stranger and validates input', async () => {
    expect(await search(carol, 'q=budget')).to.deep.equal([]);
    const res = await api(srv.url).as(alice).get('/api/search?q=');
    expect(res.status).to.equal(400);
    expect((await api(srv.url).get('/api/search?q=budget')).status).to.equal(401);
  });

  it('follows renames and stays in step with the index', async () => {
    const a = api(srv.url).as(alice);
    const f = await a.upload(alice.rootId, 'zebra-stripes.txt', 'z');
    expect((await search(alice, 'q=stripes')).map((h) => h.id)).to.deep.equal([f.id]);
    await a.patch(`/api/nodes/${f.id}`, { name: 'horse.txt' });
    expect(await search(alice, 'q=stripes')).to.deep.equal([]);
    expect((await search(alice, 'q=horse')).map((h) => h.id)).to.deep.equal([f.id]);
  });

  it("starts a grantee's paths at the share (under its stable name), never showing the folders above it; the owner's stay whole", async () => {
    const b = api(srv.url).as(bob);
    const merger = await b.mkdir(bob.rootId, 'Secret-Merger');
    const layoffs = await b.mkdir(merger.id, 'Layoffs 2027');
    const shared = await b.mkdir(layoffs.id, 'Shared');
    const sub = await b.mkdir(shared.id, 'sub');
    await b.upload(shared.id, 'handover-plan.txt', 'p');
    await b.upload(sub.id, 'handover-deep.txt', 'd');
    await b.post(`/api/nodes/${shared.id}/shares`, { user: carol.username, permission: 'view' });
    const paths = async (u: TestUser) =>
      Object.fromEntries((await search(u, 'q=handover')).map((h) => [h.name, h.folderPath]));
    expect(await paths(carol)).to.deep.equal({
      'handover-plan.txt': '/Shared with me/Shared',
      'handover-deep.txt': '/Shared with me/Shared/sub',
    });
    expect(await paths(bob)).to.deep.equal({
      'handover-plan.txt': '/Secret-Merger/Layoffs 2027/Shared',
      'handover-deep.txt': '/Secret-Merger/Layoffs 2027/Shared/sub',
    });
    // The share root itself sits in "Shared with me"; a grantee's rename shows in the paths.
    expect((await search(carol, 'q=Shared')).find((h) => h.id === shared.id)!.folderPath).to.equal('/Shared with me');
    const c = api(srv.url).as(carol);
    const share = (await c.json(c.get('/api/shares/incoming'))).items.find((i: { id: string }) => i.id === shared.id);
    expect((await c.patch(`/api/shares/${share.shareId}`, { name: 'Handover' })).status).to.equal(200);
    expect((await paths(carol))['handover-deep.txt']).to.equal('/Shared with me/Handover/sub');
  });
});
