/**
 * Locks that can be broken (issue 9 item 5), through the door the attacker used: an editor takes a
 * depth-infinity WebDAV lock with Timeout: Infinite on the owner's shared folder. Its timeout is
 * capped for a grantee; the owner and admins break it (WebDAV UNLOCK with the token, or the API);
 * revoking the share or disabling the editor drops it.
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Dav } from './support.js';

const SW = '/dav/Shared%20with%20me';
const LOCKINFO =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner><D:href>mallory</D:href></D:owner></D:lockinfo>';

interface LockJson {
  token: string;
  path: string;
  nodeId: string | null;
  scope: string;
  depth: string;
  expiresAt: string;
  canBreak: boolean;
  holder: { id: string; username: string };
  owner: { id: string; username: string };
}

describe('breaking locks', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let owner: TestUser, editor: TestUser, other: TestUser, admin: TestUser;
  let folder: NodeJson;
  let shareId: string;

  before(async () => {
    srv = await startTestServer();
    [owner, editor, other, admin] = await Promise.all([
      createUser(srv, { prefix: 'owner' }),
      createUser(srv, { prefix: 'editor' }),
      createUser(srv, { prefix: 'other' }),
      createUser(srv, { prefix: 'admin', role: 'admin' }),
    ]);
    const o = api(srv.url).as(owner);
    folder = await o.mkdir(owner.rootId, 'Shared');
    await o.upload(folder.id, 'doc.txt', 'v1');
    shareId = (
      await (await o.post(`/api/nodes/${folder.id}/shares`, { user: editor.username, permission: 'edit' })).json()
    ).id;
    await o.post(`/api/nodes/${folder.id}/shares`, { user: other.username, permission: 'edit' });
    await o.post(`/api/nodes/${folder.id}/shares`, { user: admin.username, permission: 'view' });
  });
  after(() => srv.close());

  const dav = (u: TestUser) => Dav.for(srv, u);
  /** The editor's attack: depth infinity, Timeout: Infinite, on the owner's folder through "Shared with me". */
  async function editorLocks(): Promise<{ token: string; body: string }> {
    const res = await dav(editor).request('LOCK', `${SW}/Shared/`, {
      headers: { 'content-type': 'text/xml', timeout: 'Infinite', depth: 'infinity' },
      body: LOCKINFO,
    });
    const body = await res.text();
    expect(res.status, body).to.equal(200);
    return { token: (res.headers.get('lock-token') ?? '').replace(/^<|>$/g, ''), body };
  }
  const ownerPut = async (name: string) => (await dav(owner).put(`/dav/Shared/${name}`, 'by owner')).status;
  const unlock = async (u: TestUser, path: string, token: string) => {
    const res = await dav(u).request('UNLOCK', path, { headers: { 'lock-token': `<${token}>` } });
    await res.arrayBuffer();
    return res.status;
  };
  const lockList = async (u: TestUser, qs = '') => {
    const res = await api(srv.url).as(u).get(`/api/locks${qs}`);
    expect(res.status).to.equal(200);
    return (await res.json()).items as LockJson[];
  };
  const brokenRows = async () =>
    (await api(srv.url).as(owner).json(api(srv.url).as(owner).get('/api/activity?action=lock.broken'))).items as {
      actor: { username: string };
      path: string;
      details: { holder: string; reason: string };
    }[];

  it("caps a grantee's lock at DAV_GRANTEE_LOCK_MAX_TIMEOUT (1 h), on LOCK, on refresh and in lockdiscovery; the owner's is not", async () => {
    const l = await editorLocks();
    expect(l.body).to.include('<D:timeout>Second-3600</D:timeout>');
    const refresh = await dav(editor).request('LOCK', `${SW}/Shared/`, {
      headers: { If: `(<${l.token}>)`, timeout: 'Infinite' },
    });
    expect(await refresh.text()).to.include('<D:timeout>Second-3600</D:timeout>');
    const disc = await dav(owner).propfind(
      '/dav/Shared/',
      '0',
      '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
    );
    const xml = await disc.text();
    expect(xml).to.include(l.token);
    const seconds = Number(/<D:timeout>Second-(\d+)<\/D:timeout>/.exec(xml)![1]);
    expect(seconds).to.be.within(3590, 3600);
    expect(await unlock(editor, `${SW}/Shared/`, l.token)).to.equal(204);

    await dav(owner).put('/dav/mine.txt', 'm');
    const own = await dav(owner).request('LOCK', '/dav/mine.txt', {
      headers: { 'content-type': 'text/xml', timeout: 'Infinite' },
      body: LOCKINFO,
    });
    expect(await own.text()).to.include('<D:timeout>Second-86400</D:timeout>');
    expect(await unlock(owner, '/dav/mine.txt', (own.headers.get('lock-token') ?? '').replace(/^<|>$/g, ''))).to.equal(
      204,
    );
  });

  it("the owner breaks an editor's lock with WebDAV UNLOCK and the token (204); the break is in the owner's log", async () => {
    const l = await editorLocks();
    expect(await ownerPut('a.txt')).to.equal(423);
    expect(await unlock(other, `${SW}/Shared/`, l.token)).to.equal(403); // another editor, even with the token
    expect(await unlock(owner, '/dav/Shared/', l.token)).to.equal(204);
    expect(await ownerPut('a.txt')).to.equal(201);
    const row = (await brokenRows())[0]!;
    expect(row).to.deep.include({ path: '/Shared' });
    expect(row.actor.username).to.equal(owner.username);
    expect(row.details).to.include({ holder: editor.username, reason: 'broken' });
  });

  it('an admin breaks it too: WebDAV UNLOCK through their own view of the folder, and the API', async () => {
    const l = await editorLocks();
    expect(await unlock(admin, `${SW}/Shared/`, l.token)).to.equal(204);
    expect(await ownerPut('b.txt')).to.equal(201);
    const l2 = await editorLocks();
    const all = await lockList(admin, '?owner=all');
    expect(all.map((x) => x.token)).to.include(l2.token);
    expect(
      (
        await api(srv.url)
          .as(admin)
          .delete(`/api/locks/${encodeURIComponent(l2.token)}`)
      ).status,
    ).to.equal(204);
    expect(await ownerPut('c.txt')).to.equal(201);
  });

  it("the API lists locks on one's files and on a node, and breaks them for the holder, the owner and admins only", async () => {
    const l = await editorLocks();
    const mine = await lockList(owner);
    expect(mine).to.have.length(1);
    expect(mine[0]).to.deep.include({
      token: l.token,
      path: '/Shared',
      nodeId: folder.id,
      scope: 'exclusive',
      depth: 'infinity',
      canBreak: true,
    });
    expect(mine[0]!.holder.username).to.equal(editor.username);
    expect(Date.parse(mine[0]!.expiresAt) - Date.now()).to.be.within(3_500_000, 3_600_000);
    const doc = (await api(srv.url).as(owner).children(folder.id)).find((n) => n.name === 'doc.txt')!;
    const onDoc = (
      await api(srv.url)
        .as(editor)
        .json(api(srv.url).as(editor).get(`/api/nodes/${doc.id}/locks`))
    ).items as LockJson[];
    expect(onDoc.map((x) => x.token)).to.deep.equal([l.token]); // covered by the folder's depth-infinity lock
    expect(await lockList(editor)).to.deep.equal([]); // locks on the editor's own files: none
    expect((await api(srv.url).as(editor).get(`/api/locks?owner=${owner.id}`)).status).to.equal(403);
    expect((await api(srv.url).as(other).get('/api/locks?owner=all')).status).to.equal(403);

    const del = (u: TestUser, token: string) =>
      api(srv.url)
        .as(u)
        .delete(`/api/locks/${encodeURIComponent(token)}`);
    expect((await del(other, l.token)).status).to.equal(404); // an editor who is not the holder
    expect((await del(owner, 'urn:uuid:00000000-0000-0000-0000-000000000000')).status).to.equal(404);
    expect((await del(owner, l.token)).status).to.equal(204);
    expect(await lockList(owner)).to.deep.equal([]);
    const l2 = await editorLocks();
    expect((await del(editor, l2.token)).status).to.equal(204); // the holder may release it too
    expect((await brokenRows()).slice(0, 2).map((r) => r.details.reason)).to.deep.equal(['released', 'broken']);
  });

  it("revoking the share drops the grantee's locks in it", async () => {
    await editorLocks();
    expect(await ownerPut('d.txt')).to.equal(423);
    expect((await api(srv.url).as(owner).delete(`/api/shares/${shareId}`)).status).to.equal(204);
    expect(await lockList(owner)).to.deep.equal([]);
    expect(await ownerPut('d.txt')).to.equal(201);
    expect((await brokenRows())[0]!.details).to.include({ holder: editor.username, reason: 'share_revoked' });
    expect((await dav(owner).request('PROPFIND', '/dav/Shared/', { headers: { depth: '0' } })).status).to.equal(207);
  });

  it('disabling the holder drops every lock they hold', async () => {
    shareId = (
      await (
        await api(srv.url)
          .as(owner)
          .post(`/api/nodes/${folder.id}/shares`, { user: editor.username, permission: 'edit' })
      ).json()
    ).id;
    await dav(editor).put('/dav/own.txt', 'x');
    const own = await dav(editor).request('LOCK', '/dav/own.txt', {
      headers: { 'content-type': 'text/xml' },
      body: LOCKINFO,
    });
    expect(own.status).to.equal(200);
    await editorLocks();
    expect(await ownerPut('e.txt')).to.equal(423);
    const res = await api(srv.url).as(admin).patch(`/api/admin/users/${editor.id}`, { disabled: true });
    expect(res.status).to.equal(200);
    expect(await lockList(admin, '?owner=all')).to.deep.equal([]);
    expect(await ownerPut('e.txt')).to.equal(201);
    expect((await brokenRows())[0]!.details).to.include({ holder: editor.username, reason: 'user_disabled' });
  });
});
