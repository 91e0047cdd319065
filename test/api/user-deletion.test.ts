/**
 * Deleting a user (issue 12): with transferTo their files move to "From <username>" in the target's
 * home folder, charged to the target (507 and nothing changes when they do not fit); without it they
 * are deleted for good. Either way shares and links around them end, their sessions and WebDAV access
 * end, the activity log keeps their name, fsck stays clean and both users' used_bytes are exact.
 */
import { expect } from 'chai';
import { systemActor } from '../../server/domain/actor.js';
import { UserDeletion } from '../../server/domain/user-deletion.js';
import { systemClock } from '../../server/domain/clock.js';
import { basic, Dav, davUser, type DavUser } from '../dav/support.js';
import { api, type Api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectFsckClean, expectHealthy, expectNoUnreferencedBlobs, sha256, usedBytes } from '../support/store.js';

const PROPPATCH =
  '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';

interface Holdings {
  alice: DavUser;
  /** Makes this alice's contents her own (no other test's file dedups onto them). */
  text: (what: string) => string;
  docsId: string;
  fileId: string;
  linkToken: string;
  carolFolderId: string;
  /** An app password alice's WebDAV client signed in with (its credential cached). */
  appPassword: string;
}

describe('deleting a user', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let admin: Api;
  before(async () => {
    srv = await startTestServer();
    admin = api(srv.url).as(await srv.adminToken());
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  /** alice: a folder with a file that has a version and a dead property, a file at the top, one in the bin; shares both ways; a link. */
  async function aliceWithEverything(grantee: DavUser, carol: DavUser): Promise<Holdings> {
    const alice = await davUser(srv);
    const text = (what: string) => `${what} of ${alice.username}`;
    const a = api(srv.url).as(alice);
    const docs = await a.mkdir(alice.rootId, 'Docs');
    const file = await a.upload(docs.id, 'plan.txt', text('first plan'));
    await a.upload(docs.id, 'plan.txt', text('the second plan'), '?overwrite=true');
    await a.upload(alice.rootId, 'top.txt', text('at the top'));
    const binned = await a.upload(alice.rootId, 'old.txt', text('thrown away'));
    expect((await a.delete(`/api/nodes/${binned.id}`)).status).to.equal(204);
    const patch = await Dav.for(srv, alice).request('PROPPATCH', '/dav/Docs/plan.txt', {
      headers: { 'content-type': 'application/xml' },
      body: PROPPATCH,
    });
    expect(patch.status).to.equal(207);
    expect(
      (await a.post(`/api/nodes/${docs.id}/shares`, { user: grantee.username, permission: 'view' })).status,
    ).to.equal(201);
    const link = await a.json(a.post(`/api/nodes/${docs.id}/links`, { permission: 'view' }));
    const c = api(srv.url).as(carol);
    const carols = await c.mkdir(carol.rootId, 'For alice');
    expect(
      (await c.post(`/api/nodes/${carols.id}/shares`, { user: alice.username, permission: 'edit' })).status,
    ).to.equal(201);
    const app = await a.json(a.post('/api/auth/app-passwords', { name: 'laptop', scope: 'full' }));
    const viaApp = await new Dav(srv.url, basic(alice.username, app.password)).propfind('/dav/', '0');
    expect(viaApp.status).to.equal(207);
    return {
      alice,
      text,
      docsId: docs.id,
      fileId: file.id,
      linkToken: link.token,
      carolFolderId: carols.id,
      appPassword: app.password,
    };
  }

  async function expectGone(h: Holdings, carol: DavUser) {
    const { alice } = h;
    expect(
      (await api(srv.url).post('/api/auth/login', { username: alice.username, password: alice.password })).status,
    ).to.equal(401);
    expect(
      (await api(srv.url).post('/api/auth/login', { username: alice.email, password: alice.password })).status,
    ).to.equal(401);
    expect((await api(srv.url).as(alice).get('/api/auth/me')).status).to.equal(401);
    const dav = await Dav.for(srv, alice).request('PROPFIND', '/dav/', { headers: { depth: '0' } });
    await dav.arrayBuffer();
    expect(dav.status).to.equal(401);
    // Her app passwords went with the account, the one a client had cached too.
    expect((await new Dav(srv.url, basic(alice.username, h.appPassword)).propfind('/dav/', '0')).status).to.equal(401);
    expect(await srv.app.db.all('SELECT id FROM app_passwords WHERE user_id = $id', { id: alice.id })).to.deep.equal(
      [],
    );
    expect((await api(srv.url).get(`/api/public/${h.linkToken}`)).status).to.equal(404);
    const c = api(srv.url).as(carol);
    expect((await c.json(c.get(`/api/nodes/${h.carolFolderId}/shares`))).items).to.deep.equal([]);
    const users = (await admin.json(admin.get('/api/admin/users'))).items as { id: string }[];
    expect(users.map((u) => u.id)).not.to.include(alice.id);
    expect(await usedBytes(srv, alice.id)).to.equal(0);
    // The log keeps what alice did, under her name.
    const log = (await admin.json(admin.get(`/api/activity?owner=${alice.id}`))).items as any[];
    expect(log.find((e) => e.action === 'file.uploaded')?.actor.username).to.equal(alice.username);
    expect(log.find((e) => e.action === 'user.deleted')?.details).to.include({ username: alice.username });
  }

  it('moves the files into "From <username>" of the target, with versions, charged to the target', async () => {
    const bob = await davUser(srv);
    const carol = await davUser(srv);
    const b = api(srv.url).as(bob);
    await b.mkdir(bob.rootId, 'Mine');
    const h = await aliceWithEverything(bob, carol);
    // A folder of that name is there already: the transfer takes the next free name.
    await b.mkdir(bob.rootId, `From ${h.alice.username}`);
    const before = { alice: await usedBytes(srv, h.alice.id), bob: await usedBytes(srv, bob.id) };
    const binBytes = h.text('thrown away').length;

    const res = await admin.delete(`/api/admin/users/${h.alice.id}?transferTo=${bob.id}`);
    expect(res.status).to.equal(204);

    const top = await b.children(bob.rootId);
    const moved = top.find((n) => n.name === `From ${h.alice.username} (2)`)!;
    expect(moved).to.include({ kind: 'folder', ownerId: bob.id });
    expect((await b.children(moved.id)).map((n) => n.name).sort()).to.deep.equal(['Docs', 'top.txt']);
    const docs = (await b.children(moved.id)).find((n) => n.name === 'Docs')!;
    expect(docs.id).to.equal(h.docsId);
    const content = await b.get(`/api/files/${h.fileId}/content`);
    expect(await content.text()).to.equal(h.text('the second plan'));
    const versions = (await b.json(b.get(`/api/nodes/${h.fileId}/versions`))).items as { size: number }[];
    expect(versions.map((v) => v.size)).to.deep.equal([h.text('first plan').length]);
    expect(await usedBytes(srv, bob.id)).to.equal(before.bob + before.alice - binBytes);
    expect(((await b.json(b.get('/api/shares/incoming'))).items as unknown[]).length).to.equal(0);
    await expectGone(h, carol);
    await expectFsckClean(srv);
  });

  it('refuses with 507 when the files do not fit the target, and changes nothing', async () => {
    const carol = await davUser(srv);
    const small = await davUser(srv, { quotaBytes: 5 });
    const h = await aliceWithEverything(small, carol);
    const used = await usedBytes(srv, h.alice.id);
    const res = await admin.delete(`/api/admin/users/${h.alice.id}?transferTo=${small.id}`);
    expect(res.status).to.equal(507);
    expect((await res.json()).error.code).to.equal('quota_exceeded');
    expect(await usedBytes(srv, h.alice.id)).to.equal(used);
    expect(await usedBytes(srv, small.id)).to.equal(0);
    expect((await api(srv.url).as(h.alice).get('/api/auth/me')).status).to.equal(200);
    expect((await api(srv.url).get(`/api/public/${h.linkToken}`)).status).to.equal(200);
    const a = api(srv.url).as(h.alice);
    expect((await a.json(a.get('/api/trash'))).items).to.have.length(1);
    expect((await a.children(h.alice.rootId)).map((n) => n.name).sort()).to.deep.equal(['Docs', 'top.txt']);
    await expectFsckClean(srv);
  });

  it('without a target deletes the files for good: the bin is skipped and the blobs are freed', async () => {
    const bob = await davUser(srv);
    const carol = await davUser(srv);
    // bob holds the same bytes as one of alice's files: that blob must survive (one reference left).
    const h = await aliceWithEverything(bob, carol);
    await api(srv.url).as(bob).upload(bob.rootId, 'same.txt', h.text('at the top'));
    const bobUsed = await usedBytes(srv, bob.id);
    expect((await admin.delete(`/api/admin/users/${h.alice.id}`)).status).to.equal(204);
    expect(await usedBytes(srv, bob.id)).to.equal(bobUsed);
    const left = await srv.app.db.all('SELECT id FROM nodes WHERE owner_id = $id AND parent_id IS NOT NULL', {
      id: h.alice.id,
    });
    expect(left).to.deep.equal([]);
    await expectNoUnreferencedBlobs(srv);
    for (const gone of ['first plan', 'the second plan', 'thrown away']) {
      const h256 = sha256(h.text(gone));
      expect(await srv.app.db.get('SELECT hash FROM blobs WHERE hash = $h', { h: h256 })).to.equal(undefined);
    }
    expect(
      await srv.app.db.get('SELECT hash FROM blobs WHERE hash = $h', { h: sha256(h.text('at the top')) }),
    ).to.not.equal(undefined);
    expect(await (await api(srv.url).as(bob).get(`/api/nodes/${bob.rootId}/children`)).json()).to.have.nested.property(
      'items[0].name',
      'same.txt',
    );
    await expectGone(h, carol);
    await expectFsckClean(srv);
  });

  it('frees the username: a new account may take it', async () => {
    const alice = await davUser(srv);
    expect((await admin.delete(`/api/admin/users/${alice.id}`)).status).to.equal(204);
    const again = await admin.post('/api/admin/users', {
      username: alice.username,
      email: alice.email,
      password: 'a-new-account',
    });
    expect(again.status).to.equal(201);
    expect((await again.json()).user.id).not.to.equal(alice.id);
  });

  it('refuses to delete oneself, the last administrator, unknown users and targets, and is admin-only', async () => {
    const adminId = (await admin.json(admin.get('/api/auth/me'))).user.id as string;
    const self = await admin.delete(`/api/admin/users/${adminId}`);
    expect(self.status).to.equal(403);
    expect((await self.json()).error.message).to.match(/your own account/);
    const last = await new UserDeletion(srv.app.db, systemClock, srv.app.bin)
      .delete(systemActor, adminId)
      .catch((e: Error) => e);
    expect(last).to.be.instanceOf(Error);
    expect((last as Error).message).to.match(/last administrator/);

    const u = await davUser(srv);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await admin.delete(`/api/admin/users/${unknown}`)).status).to.equal(404);
    expect((await admin.delete(`/api/admin/users/${u.id}?transferTo=${unknown}`)).status).to.equal(404);
    expect((await admin.delete(`/api/admin/users/${u.id}?transferTo=${u.id}`)).status).to.equal(400);
    expect((await admin.delete(`/api/admin/users/${u.id}?transferTo=nope`)).status).to.equal(400);
    const other = await davUser(srv);
    expect((await api(srv.url).as(other).delete(`/api/admin/users/${u.id}`)).status).to.equal(403);
    expect((await admin.delete(`/api/admin/users/${u.id}`)).status).to.equal(204);
    expect((await admin.delete(`/api/admin/users/${u.id}`)).status).to.equal(404);
    expect((await admin.patch(`/api/admin/users/${u.id}`, { disabled: false })).status).to.equal(404);
    expect((await admin.delete(`/api/admin/users/${other.id}?transferTo=${u.id}`)).status).to.equal(404);
  });
});
