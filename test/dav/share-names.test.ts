/**
 * Stable names of received shares (issue 9 item 2): a grantee's path in "Shared with me" is fixed
 * when the share is created and changed only by the grantee, so no other user can make it point
 * at her own folder; the 004 migration names existing shares oldest first.
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { rerunMigration } from '../support/migrations.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav, hrefs } from './support.js';

const SW = '/dav/Shared%20with%20me';
const seg = (name: string) =>
  encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

describe('stable names in "Shared with me"', () => {
  let srv: TestServer;
  let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
  let bobPlans: NodeJson, alicePlans: NodeJson;

  before(async () => {
    srv = await startTestServer();
    [alice, bob, carol, dave] = await Promise.all([
      createUser(srv, { prefix: 'alice' }),
      createUser(srv, { prefix: 'bob' }),
      createUser(srv, { prefix: 'carol' }),
      createUser(srv, { prefix: 'dave' }),
    ]);
    // Bob shares "Plans" with Carol first, then Alice shares her own "Plans" with Carol.
    bobPlans = await api(srv.url).as(bob).mkdir(bob.rootId, 'Plans');
    await api(srv.url).as(bob).upload(bobPlans.id, 'owner.txt', 'bob');
    expect(
      (
        await api(srv.url)
          .as(bob)
          .post(`/api/nodes/${bobPlans.id}/shares`, { user: carol.username, permission: 'edit' })
      ).status,
    ).to.equal(201);
    alicePlans = await api(srv.url).as(alice).mkdir(alice.rootId, 'Plans');
    await api(srv.url).as(alice).upload(alicePlans.id, 'owner.txt', 'alice');
    expect(
      (
        await api(srv.url)
          .as(alice)
          .post(`/api/nodes/${alicePlans.id}/shares`, { user: carol.username, permission: 'edit' })
      ).status,
    ).to.equal(201);
  });
  after(() => srv.close());

  const dav = (u: TestUser) => Dav.for(srv, u);
  const roots = async (u: TestUser) => {
    const res = await dav(u).request('PROPFIND', `${SW}/`, { headers: { depth: '1' } });
    expect(res.status).to.equal(207);
    return hrefs(await res.text())
      .slice(1)
      .map((h) => decodeURIComponent(h.slice(SW.length + 1).replace(/\/$/, '')));
  };
  const ownerAt = async (u: TestUser, name: string) => {
    const res = await dav(u).request('GET', `${SW}/${seg(name)}/owner.txt`);
    return res.status === 200 ? res.text() : `status ${res.status}`;
  };
  const incoming = async (u: TestUser) =>
    (await api(srv.url).as(u).json(api(srv.url).as(u).get('/api/shares/incoming'))).items as (NodeJson & {
      shareId: string;
      shareName: string;
    })[];

  it('names a share when it is created: the plain name first, then told apart by the owner', async () => {
    expect((await roots(carol)).sort()).to.deep.equal(['Plans', `Plans (${alice.username})`].sort());
    expect(await ownerAt(carol, 'Plans')).to.equal('bob');
    expect(await ownerAt(carol, `Plans (${alice.username})`)).to.equal('alice');
    const items = await incoming(carol);
    expect(items.find((i) => i.id === bobPlans.id)).to.include({ name: 'Plans', shareName: 'Plans' });
    expect(items.find((i) => i.id === alicePlans.id)).to.include({
      name: 'Plans',
      shareName: `Plans (${alice.username})`,
    });
  });

  it("hijack: whatever Alice renames her folder to, Carol's paths keep pointing at the same owner and her write lands in Bob's folder", async () => {
    const before = new Map<string, string>();
    for (const name of await roots(carol)) before.set(name, await ownerAt(carol, name));
    const bobsName = [...before].find(([, owner]) => owner === 'bob')![0];
    const a = api(srv.url).as(alice);
    for (const name of [bobsName, `Plans (${bob.username})`, `Plans (${alice.username})`, 'Plans (2)', 'Plans']) {
      const res = await a.patch(`/api/nodes/${alicePlans.id}`, { name });
      await res.body?.cancel();
      for (const [path, owner] of before)
        expect(await ownerAt(carol, path), `after Alice renamed hers to "${name}", "${path}"`).to.equal(owner);
    }
    const put = await dav(carol).put(`${SW}/${seg(bobsName)}/from%20carol.txt`, 'for bob');
    expect(put.status).to.equal(201);
    expect((await api(srv.url).as(bob).children(bobPlans.id)).map((n) => n.name)).to.include('from carol.txt');
    expect((await a.children(alicePlans.id)).map((n) => n.name)).to.not.include('from carol.txt');
  });

  it('keeps the name when the owner renames the folder or shares it again with another permission', async () => {
    const b = api(srv.url).as(bob);
    expect((await b.patch(`/api/nodes/${bobPlans.id}`, { name: 'Roadmap' })).status).to.equal(200);
    expect(await ownerAt(carol, 'Plans')).to.equal('bob');
    expect(await ownerAt(carol, 'Roadmap')).to.equal('status 404');
    expect(
      (await b.post(`/api/nodes/${bobPlans.id}/shares`, { user: carol.username, permission: 'view' })).status,
    ).to.equal(201);
    expect((await incoming(carol)).find((i) => i.id === bobPlans.id)).to.include({
      name: 'Roadmap',
      shareName: 'Plans',
      permission: 'view',
    });
    await b.post(`/api/nodes/${bobPlans.id}/shares`, { user: carol.username, permission: 'edit' });
  });

  it('lets the grantee rename it through the API: only the grantee, only the name, unique among their shares', async () => {
    const share = (await incoming(carol)).find((i) => i.id === alicePlans.id)!;
    const c = api(srv.url).as(carol);
    const res = await c.patch(`/api/shares/${share.shareId}`, { name: 'From Alice' });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.include({ shareName: 'From Alice', permission: 'edit' });
    expect(await ownerAt(carol, 'From Alice')).to.equal('alice');
    expect(await ownerAt(carol, `Plans (${alice.username})`)).to.equal('status 404');
    expect((await incoming(carol)).find((i) => i.id === alicePlans.id)!.shareName).to.equal('From Alice');

    const clash = await c.patch(`/api/shares/${share.shareId}`, { name: 'PLANS' }); // Bob's, case-insensitively
    expect(clash.status).to.equal(409);
    expect((await clash.json()).error.code).to.equal('already_exists');
    const bad = await c.patch(`/api/shares/${share.shareId}`, { name: 'a/b' });
    expect(bad.status).to.equal(400);
    expect((await bad.json()).error.code).to.equal('invalid_name');
    expect((await c.patch(`/api/shares/${share.shareId}`, { permission: 'view' })).status).to.equal(403); // the owner's field
    expect((await api(srv.url).as(alice).patch(`/api/shares/${share.shareId}`, { name: 'Mine' })).status).to.equal(403); // the grantee's field
    expect((await api(srv.url).as(dave).patch(`/api/shares/${share.shareId}`, { name: 'Mine' })).status).to.equal(404);
    expect(
      (await api(srv.url).as(alice).patch(`/api/shares/${share.shareId}`, { permission: 'edit' })).status,
    ).to.equal(200);
    // Case-only renames of one's own share are fine; Alice's folder never changed.
    expect((await c.patch(`/api/shares/${share.shareId}`, { name: 'from alice' })).status).to.equal(200);
    expect(
      (
        await api(srv.url)
          .as(alice)
          .json(api(srv.url).as(alice).get(`/api/nodes/${alicePlans.id}`))
      ).name,
    ).to.equal('Plans');
  });

  it('lets the grantee rename it with a WebDAV MOVE inside "Shared with me"; nothing of the owner\'s changes', async () => {
    const move = await dav(carol).request('MOVE', `${SW}/from%20alice/`, {
      headers: { destination: `${srv.url}${SW}/Alice%27s%20plans/` },
    });
    expect(move.status).to.equal(201);
    expect(await roots(carol))
      .to.include("Alice's plans")
      .and.not.include('from alice');
    expect(await ownerAt(carol, "Alice's plans")).to.equal('alice');
    expect(
      (
        await api(srv.url)
          .as(alice)
          .json(api(srv.url).as(alice).get(`/api/nodes/${alicePlans.id}`))
      ).name,
    ).to.equal('Plans');
    // Onto another received share's name: refused, both stay.
    const onto = await dav(carol).request('MOVE', `${SW}/Alice%27s%20plans/`, {
      headers: { destination: `${SW}/Plans/`, overwrite: 'F' },
    });
    expect(onto.status).to.equal(412);
    expect(await ownerAt(carol, 'Plans')).to.equal('bob');
    // Out of the virtual folder, or into it from elsewhere: refused as before.
    expect(
      (await dav(carol).request('MOVE', `${SW}/Alice%27s%20plans/`, { headers: { destination: '/dav/Taken/' } }))
        .status,
    ).to.equal(403);
    const own = await api(srv.url).as(carol).mkdir(carol.rootId, 'Mine');
    expect(
      (await dav(carol).request('MOVE', '/dav/Mine/', { headers: { destination: `${SW}/Mine/` } })).status,
    ).to.equal(403);
    expect((await api(srv.url).as(carol).get(`/api/nodes/${own.id}`)).status).to.equal(200);
  });

  it('names nested shares too (listed only through the outer one), and later shares avoid their names', async () => {
    const a = api(srv.url).as(alice);
    const outer = await a.mkdir(alice.rootId, 'Outer');
    const inner = await a.mkdir(outer.id, 'Inner');
    await a.post(`/api/nodes/${outer.id}/shares`, { user: dave.username, permission: 'view' });
    await a.post(`/api/nodes/${inner.id}/shares`, { user: dave.username, permission: 'edit' });
    const bobInner = await api(srv.url).as(bob).mkdir(bob.rootId, 'inner');
    await api(srv.url).as(bob).post(`/api/nodes/${bobInner.id}/shares`, { user: dave.username, permission: 'view' });
    const names = Object.fromEntries((await incoming(dave)).map((i) => [i.id, i.shareName]));
    expect(names).to.deep.equal({ [outer.id]: 'Outer', [inner.id]: 'Inner', [bobInner.id]: `inner (${bob.username})` });
    expect((await roots(dave)).sort()).to.deep.equal(['Outer', `inner (${bob.username})`].sort());
  });
});

describe('migration 004-share-names: backfill of existing shares', () => {
  it('names every user share oldest first, per grantee, with the same rule as a new share', async () => {
    const srv = await startTestServer();
    try {
      const [alice, bob, carol] = await Promise.all([
        createUser(srv, { prefix: 'alice' }),
        createUser(srv, { prefix: 'bob' }),
        createUser(srv, { prefix: 'carol' }),
      ]);
      const share = async (u: TestUser, name: string, kind: 'folder' | 'file', to: TestUser) => {
        const n =
          kind === 'folder'
            ? await api(srv.url).as(u).mkdir(u.rootId, name)
            : await api(srv.url).as(u).upload(u.rootId, name, 'x');
        const res = await api(srv.url)
          .as(u)
          .post(`/api/nodes/${n.id}/shares`, { user: to.username, permission: 'view' });
        return (await res.json()).id as string;
      };
      const ids = {
        bobPlans: await share(bob, 'Plans', 'folder', carol),
        alicePlans: await share(alice, 'plans', 'folder', carol),
        aliceReport: await share(alice, 'report.pdf', 'file', carol),
        bobReport: await share(bob, 'report.pdf', 'file', carol),
        bobToAlice: await share(bob, 'Plans 2', 'folder', alice),
      };
      // Make Alice's "plans" the oldest share, whatever order they were made in.
      const order = [ids.alicePlans, ids.bobPlans, ids.bobReport, ids.aliceReport, ids.bobToAlice];
      for (const [i, id] of order.entries())
        await srv.app.db.run('UPDATE shares SET created_at = $t WHERE id = $id', { t: 1000 + i, id });
      // The database as it was before 004: no name columns, the migration not applied; then 004 again, with its backfill.
      const db = await rerunMigration(srv, '004-share-names', [
        'DROP INDEX shares_grantee_name',
        'ALTER TABLE shares DROP COLUMN grantee_name_key',
        'ALTER TABLE shares DROP COLUMN grantee_name',
      ]);
      const rows = await db.all<{ id: string; grantee_name: string; grantee_name_key: string }>(
        'SELECT id, grantee_name, grantee_name_key FROM shares',
      );
      await db.close();
      const byId = Object.fromEntries(rows.map((r) => [r.id, r.grantee_name]));
      expect(byId).to.deep.equal({
        [ids.alicePlans]: 'plans',
        [ids.bobPlans]: `Plans (${bob.username})`,
        [ids.bobReport]: 'report.pdf',
        [ids.aliceReport]: `report (${alice.username}).pdf`,
        [ids.bobToAlice]: 'Plans 2',
      });
      expect(rows.every((r) => r.grantee_name_key === r.grantee_name.toLowerCase())).to.equal(true);
    } finally {
      await srv.close();
    }
  });
});
