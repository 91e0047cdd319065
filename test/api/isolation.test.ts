import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { usedBytes, expectHealthy } from '../support/store.js';

/** Status and JSON body: what a client can tell apart. */
async function answer(res: Response): Promise<{ status: number; body: unknown }> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

describe("isolation: another user's node ids", function () {
  this.timeout(30_000);
  let srv: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let b: Api;
  let folder: NodeJson;
  let sub: NodeJson;
  let file: NodeJson;
  let bobFolder: NodeJson;
  let bobFile: NodeJson;
  let snapshot: string;

  const tree = async () => {
    const a = api(srv.url).as(alice);
    const walk = async (id: string, prefix: string): Promise<string[]> => {
      const out: string[] = [];
      for (const n of await a.children(id)) {
        out.push(`${prefix}/${n.name} ${n.kind} ${n.size} ${n.etag}`);
        if (n.kind === 'folder') out.push(...(await walk(n.id, `${prefix}/${n.name}`)));
      }
      return out;
    };
    return JSON.stringify([await walk(alice.rootId, ''), await usedBytes(srv, alice.id)]);
  };

  before(async () => {
    srv = await startTestServer();
    alice = await createUser(srv, { prefix: 'alice' });
    bob = await createUser(srv, { prefix: 'bob' });
    const a = api(srv.url).as(alice);
    folder = await a.mkdir(alice.rootId, 'private');
    sub = await a.mkdir(folder.id, 'sub');
    file = await a.upload(folder.id, 'secret.txt', 'top secret');
    b = api(srv.url).as(bob);
    bobFolder = await b.mkdir(bob.rootId, 'mine');
    bobFile = await b.upload(bob.rootId, 'mine.txt', 'bob');
    snapshot = await tree();
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  /** Each request, built for an id; run with Alice's id and with a random uuid, the answers must match and be 404. */
  const requests: [string, (id: string) => Promise<Response>][] = [
    ['GET node', (id) => b.get(`/api/nodes/${id}`)],
    ['GET children', (id) => b.get(`/api/nodes/${id}/children`)],
    ['GET path', (id) => b.get(`/api/nodes/${id}/path`)],
    ['GET content', (id) => b.get(`/api/files/${id}/content`)],
    ['GET content with Range', (id) => b.get(`/api/files/${id}/content`, { range: 'bytes=0-1' })],
    ['HEAD content', (id) => b.request('HEAD', `/api/files/${id}/content`)],
    ['GET zip', (id) => b.get(`/api/nodes/${id}/zip`)],
    ['GET zip selection', (id) => b.get(`/api/zip?ids=${id}`)],
    ['GET zip selection mixed with own', (id) => b.get(`/api/zip?ids=${bobFile.id},${id}`)],
    ['PATCH rename', (id) => b.patch(`/api/nodes/${id}`, { name: 'stolen' })],
    ['PATCH move into own folder', (id) => b.patch(`/api/nodes/${id}`, { parentId: bobFolder.id })],
    ['PATCH move own node into it', (id) => b.patch(`/api/nodes/${bobFile.id}`, { parentId: id })],
    ['copy it into own folder', (id) => b.post(`/api/nodes/${id}/copy`, { parentId: bobFolder.id })],
    ['copy own node into it', (id) => b.post(`/api/nodes/${bobFile.id}/copy`, { parentId: id })],
    ['DELETE', (id) => b.delete(`/api/nodes/${id}`)],
    ['bulk move it', (id) => b.post('/api/nodes/bulk', { action: 'move', ids: [id], parentId: bobFolder.id })],
    ['bulk move own into it', (id) => b.post('/api/nodes/bulk', { action: 'move', ids: [bobFile.id], parentId: id })],
    ['bulk copy it', (id) => b.post('/api/nodes/bulk', { action: 'copy', ids: [id], parentId: bobFolder.id })],
    ['bulk copy own into it', (id) => b.post('/api/nodes/bulk', { action: 'copy', ids: [bobFile.id], parentId: id })],
    ['bulk trash', (id) => b.post('/api/nodes/bulk', { action: 'trash', ids: [id] })],
    ['bulk trash mixed with own', (id) => b.post('/api/nodes/bulk', { action: 'trash', ids: [bobFile.id, id] })],
    ['PUT upload into it', (id) => b.put(`/api/folders/${id}/files/planted.txt`, 'planted')],
    ['PUT overwrite into it', (id) => b.put(`/api/folders/${id}/files/secret.txt?overwrite=true`, 'planted')],
    [
      'multipart upload into it',
      (id) => {
        const form = new FormData();
        form.append('f', new Blob(['planted']), 'planted.txt');
        return fetch(`${srv.url}/api/folders/${id}/upload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bob.token}` },
          body: form,
        });
      },
    ],
    ['POST folder with it as parent', (id) => b.post('/api/folders', { parentId: id, name: 'planted' })],
    ['GET shares', (id) => b.get(`/api/nodes/${id}/shares`)],
    ['POST share', (id) => b.post(`/api/nodes/${id}/shares`, { user: bob.username, permission: 'edit' })],
    ['GET links', (id) => b.get(`/api/nodes/${id}/links`)],
    ['POST link', (id) => b.post(`/api/nodes/${id}/links`, { permission: 'view' })],
  ];

  for (const [what, send] of requests) {
    it(`${what}: 404, the same answer as for a random id`, async () => {
      for (const target of [() => folder, () => sub, () => file]) {
        const theirs = await answer(await send(target().id));
        const random = await answer(await send(randomUUID()));
        expect(theirs.status, `${what} on ${target().name}: ${JSON.stringify(theirs.body)}`).to.equal(404);
        expect(theirs, `${what} on ${target().name}`).to.deep.equal(random);
        if (what !== 'HEAD content')
          expect((theirs.body as { error: { code: string } }).error.code).to.equal('not_found');
      }
    });
  }

  it("left Alice's tree, content and usage untouched, and Bob's own items where they were", async () => {
    expect(await tree()).to.equal(snapshot);
    expect(await (await api(srv.url).as(alice).get(`/api/files/${file.id}/content`)).text()).to.equal('top secret');
    expect((await b.children(bob.rootId)).map((n) => n.name)).to.deep.equal(['mine', 'mine.txt']);
    expect(await b.children(bobFolder.id)).to.deep.equal([]);
    expect((await b.json(b.get('/api/trash'))).items).to.deep.equal([]);
  });

  it("does not list Alice's trash or activity to Bob", async () => {
    const a = api(srv.url).as(alice);
    const gone = await a.upload(alice.rootId, 'gone.txt', 'x');
    await a.delete(`/api/nodes/${gone.id}`);
    expect((await b.json(b.get('/api/trash'))).items).to.deep.equal([]);
    const bobLog = (await b.json(b.get('/api/activity?limit=1000'))).items as {
      ownerId: string;
      path: string | null;
    }[];
    expect(bobLog.every((r) => r.ownerId === bob.id)).to.equal(true);
    expect(bobLog.some((r) => r.path?.includes('secret'))).to.equal(false);
  });
});
