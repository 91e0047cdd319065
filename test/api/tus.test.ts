/** Resumable uploads over tus 1.0: the protocol, the rules, the reserved room and expiry. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, expectHealthy, MiB, sha256 } from '../support/store.js';
import { sha256Header, Tus, TUS } from '../support/tus.js';

const KiB = 1024;

describe('resumable uploads (tus)', () => {
  let srv: TestServer;
  const clock = new ManualClock();
  let alice: TestUser;
  let tus: Tus;

  before(async () => {
    srv = await startTestServer({ clock, env: { JWT_TTL: '30d' } }); // sessions outlive the expiry test's days
    alice = await createUser(srv, { prefix: 'alice', quotaBytes: 1024 * KiB });
    tus = new Tus(api(srv.url).as(alice));
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const partials = () => fs.readdirSync(path.join(srv.dataDir, 'uploads'));
  const reserved = async (userId: string) =>
    Number(
      (await srv.app.db.get<{ r: unknown }>('SELECT reserved_bytes AS r FROM users WHERE id = $id', { id: userId }))?.r,
    );

  it('answers OPTIONS with the version, the extensions and the checksum algorithms', async () => {
    const res = await api(srv.url).request('OPTIONS', '/api/uploads');
    expect(res.status).to.equal(204);
    expect(res.headers.get('tus-version')).to.equal('1.0.0');
    expect(res.headers.get('tus-extension')!.split(',')).to.include.members([
      'creation',
      'termination',
      'expiration',
      'checksum',
    ]);
    expect(res.headers.get('tus-checksum-algorithm')).to.include('sha256');
  });

  it('creates an upload, reports its offset, takes chunks and commits the file with the last byte', async () => {
    const body = Buffer.from('hello, resumable world');
    const res = await tus.create(body.length, {
      parentId: alice.rootId,
      name: 'hello.txt',
      modifiedAt: '1700000000000',
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get('tus-resumable')).to.equal('1.0.0');
    expect(Date.parse(res.headers.get('upload-expires')!)).to.equal(
      Math.floor((clock.now() + 24 * 3600_000) / 1000) * 1000,
    );
    const where = new URL(res.headers.get('location')!, srv.url).pathname;
    expect(where).to.match(/^\/api\/uploads\/[A-Za-z0-9_-]+$/);
    expect(await reserved(alice.id)).to.equal(body.length);

    const head = await tus.head(where);
    expect(head.status).to.equal(200);
    expect(head.headers.get('upload-offset')).to.equal('0');
    expect(head.headers.get('upload-length')).to.equal(String(body.length));
    expect(head.headers.get('cache-control')).to.equal('no-store');

    const first = await tus.patch(where, 0, body.subarray(0, 5), {
      'upload-checksum': sha256Header(body.subarray(0, 5)),
    });
    expect(first.status).to.equal(204);
    expect(first.headers.get('upload-offset')).to.equal('5');
    expect(await tus.offset(where)).to.equal(5);
    // Partial bytes are never a file.
    expect((await tus.api.children(alice.rootId)).map((n) => n.name)).to.not.include('hello.txt');

    const last = await tus.patch(where, 5, body.subarray(5));
    expect(last.status).to.equal(204);
    expect(last.headers.get('upload-offset')).to.equal(String(body.length));
    const id = last.headers.get('coffer-file-id')!;
    const file = await tus.api.json<NodeJson>(tus.api.get(`/api/nodes/${id}`));
    expect(file).to.include({ name: 'hello.txt', size: body.length });
    expect(Date.parse(file.modifiedAt)).to.equal(1700000000000);
    expect(await (await tus.api.get(`/api/files/${id}/content`)).text()).to.equal(body.toString());
    expect(await reserved(alice.id)).to.equal(0);
    expect((await tus.head(where)).status).to.equal(404);
    expect(partials()).to.deep.equal([]);
    const activity = await tus.api.json(tus.api.get('/api/activity'));
    expect(JSON.stringify(activity)).to.include('hello.txt');
  });

  it('refuses a wrong offset (409), a wrong content type (415) and a missing Tus-Resumable (412)', async () => {
    const where = await tus.start(10, { parentId: alice.rootId, name: 'strict.bin' });
    expect((await tus.patch(where, 3, Buffer.alloc(4))).status).to.equal(409);
    const wrongType = await tus.patch(where, 0, Buffer.alloc(4), { 'content-type': 'application/octet-stream' });
    expect(wrongType.status).to.equal(415);
    expect((await wrongType.json()).error.code).to.equal('unsupported_media_type');
    const noVersion = await tus.api.request('HEAD', where);
    expect(noVersion.status).to.equal(412);
    expect(noVersion.headers.get('tus-version')).to.equal('1.0.0');
    expect(await tus.offset(where)).to.equal(0);
    expect((await tus.patch(where, 0, Buffer.alloc(11))).status).to.equal(400); // past the length
    expect(await tus.offset(where)).to.equal(0);
    expect((await tus.terminate(where)).status).to.equal(204);
  });

  it('discards a chunk whose checksum does not match (460) and keeps the offset', async () => {
    const where = await tus.start(8, { parentId: alice.rootId, name: 'checked.bin' });
    expect((await tus.patch(where, 0, 'abcd', { 'upload-checksum': sha256Header('abcd') })).status).to.equal(204);
    const bad = await tus.patch(where, 4, 'efgh', { 'upload-checksum': sha256Header('EFGH') });
    expect(bad.status).to.equal(460);
    expect((await bad.json()).error.code).to.equal('checksum_mismatch');
    expect(await tus.offset(where)).to.equal(4);
    expect(fs.statSync(path.join(srv.dataDir, 'uploads', where.split('/').pop()!)).size).to.equal(4);
    expect((await tus.patch(where, 4, 'efgh', { 'upload-checksum': 'md5 AAAA' })).status).to.equal(400);
    const done = await tus.patch(where, 4, 'efgh', { 'upload-checksum': sha256Header('efgh') });
    expect(done.status).to.equal(204);
    const file = await tus.api.json<NodeJson>(tus.api.get(`/api/nodes/${done.headers.get('coffer-file-id')}`));
    expect(file.etag).to.equal(sha256('abcdefgh'));
  });

  it('terminates an upload: gone, its bytes removed and its room given back', async () => {
    const where = await tus.start(100, { parentId: alice.rootId, name: 'dropped.bin' });
    await tus.patch(where, 0, Buffer.alloc(40));
    expect(await reserved(alice.id)).to.equal(100);
    expect((await tus.terminate(where)).status).to.equal(204);
    expect((await tus.head(where)).status).to.equal(404);
    expect(await reserved(alice.id)).to.equal(0);
    expect(partials()).to.deep.equal([]);
  });

  it("keeps users apart: another user's upload is 404 for every method", async () => {
    const where = await tus.start(10, { parentId: alice.rootId, name: 'mine.bin' });
    const bob = new Tus(api(srv.url).as(await createUser(srv, { prefix: 'bob' })));
    expect((await bob.head(where)).status).to.equal(404);
    expect((await bob.patch(where, 0, Buffer.alloc(10))).status).to.equal(404);
    expect((await bob.terminate(where)).status).to.equal(404);
    expect((await bob.create(10, { parentId: alice.rootId, name: 'intrude.bin' })).status).to.equal(404);
    expect((await api(srv.url).request('HEAD', where, undefined, TUS)).status).to.equal(401);
    expect(await tus.offset(where)).to.equal(0);
    await tus.terminate(where);
  });

  it('checks the target at creation: name clash (409 unless overwrite), bad name (400), missing metadata (400)', async () => {
    await tus.api.upload(alice.rootId, 'taken.txt', 'old');
    expect((await tus.create(3, { parentId: alice.rootId, name: 'taken.txt' })).status).to.equal(409);
    expect((await tus.create(3, { parentId: alice.rootId, name: 'a/b' })).status).to.equal(400);
    expect((await tus.create(3, { name: 'x.txt' })).status).to.equal(400);
    expect((await tus.create(3, { parentId: alice.rootId })).status).to.equal(400);
    expect((await tus.api.post('/api/uploads', undefined, { ...TUS })).status).to.equal(400);
  });

  it('replaces a file with overwrite, keeping the old content as a version', async () => {
    const old = await tus.api.upload(alice.rootId, 'report.txt', 'first draft');
    const where = await tus.start(11, { parentId: alice.rootId, name: 'report.txt', overwrite: 'true' });
    const done = await tus.patch(where, 0, 'final draft');
    expect(done.headers.get('coffer-file-id')).to.equal(old.id);
    const versions = await tus.api.json<{ items: { size: number }[] }>(tus.api.get(`/api/nodes/${old.id}/versions`));
    expect(versions.items.map((v) => v.size)).to.deep.equal(['first draft'.length]);
  });

  it('saves a long chunk as it goes, and a newer request takes over a chunk whose connection went quiet', async () => {
    const dave = await createUser(srv, { prefix: 'dave', quotaBytes: 200 * MiB });
    const d = new Tus(api(srv.url).as(dave));
    const where = await d.start(100 * MiB, { parentId: dave.rootId, name: 'long.bin' });
    const id = where.split('/').pop()!;
    // 70 MiB, then the client stalls with the connection open (as one whose network dropped silently).
    let sent = 0;
    const stalled = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 70 * MiB) return new Promise<void>(() => {});
        controller.enqueue(new Uint8Array(MiB));
        sent += MiB;
      },
    });
    const patch = d.patch(where, 0, stalled).catch((err: Error) => err);
    const received = async () =>
      Number(
        (await srv.app.db.get<{ r: unknown }>('SELECT received AS r FROM resumable_uploads WHERE id = $id', { id }))?.r,
      );
    await eventually(async () => (await received()) >= 64 * MiB, 20_000, 'a checkpoint');
    expect(await received()).to.be.below(70 * MiB + 1);
    // HEAD does not wait for the stalled chunk to time out: it ends it, keeping every byte that arrived.
    await eventually(() => sent >= 70 * MiB, 20_000, 'the client to stall');
    await eventually(
      async () => fs.statSync(path.join(srv.dataDir, 'uploads', id)).size === 70 * MiB,
      20_000,
      'all 70 MiB on disk',
    );
    expect(await d.offset(where)).to.equal(70 * MiB);
    expect(await patch).to.not.be.an.instanceOf(Response); // the stalled request was cut
    expect((await d.terminate(where)).status).to.equal(204);
  });

  it('discards an upload whose target cannot take it any more (the name taken meanwhile), giving the room back', async () => {
    const where = await tus.start(4, { parentId: alice.rootId, name: 'raced.txt' });
    await tus.api.upload(alice.rootId, 'raced.txt', 'first');
    const last = await tus.patch(where, 0, 'late');
    expect(last.status).to.equal(409);
    expect((await last.json()).error.code).to.equal('already_exists');
    expect((await tus.head(where)).status).to.equal(404);
    expect(await reserved(alice.id)).to.equal(0);
    expect(partials()).to.deep.equal([]);
  });

  it('reserves the length against the room: 507 when it cannot fit, and concurrent creations cannot overbook', async () => {
    const carol = await createUser(srv, { prefix: 'carol', quotaBytes: 100 * KiB });
    const c = new Tus(api(srv.url).as(carol));
    const tooBig = await c.create(101 * KiB, { parentId: carol.rootId, name: 'big.bin' });
    expect(tooBig.status).to.equal(507);
    expect((await tooBig.json()).error.code).to.equal('quota_exceeded');
    const both = await Promise.all([
      c.create(60 * KiB, { parentId: carol.rootId, name: 'one.bin' }),
      c.create(60 * KiB, { parentId: carol.rootId, name: 'two.bin' }),
    ]);
    expect(both.map((r) => r.status).sort()).to.deep.equal([201, 507]);
    // Any other upload meets the room the reservation took.
    expect((await c.api.put(`/api/folders/${carol.rootId}/files/other.bin`, Buffer.alloc(50 * KiB))).status).to.equal(
      507,
    );
    const where = new URL(both.find((r) => r.status === 201)!.headers.get('location')!, srv.url).pathname;
    await c.terminate(where);
    expect((await c.api.put(`/api/folders/${carol.rootId}/files/other.bin`, Buffer.alloc(50 * KiB))).status).to.equal(
      201,
    );
  });

  it('lets an edit link visitor upload with tus into the link folder, never overwriting; a view link cannot', async () => {
    const folder = await tus.api.mkdir(alice.rootId, 'Inbox');
    await tus.api.upload(folder.id, 'exists.txt', 'x');
    const mk = async (permission: string) =>
      (await tus.api.json(tus.api.post(`/api/nodes/${folder.id}/links`, { permission }))) as { token: string };
    const edit = await mk('edit');
    const view = await mk('view');
    const visitor = new Tus(api(srv.url), `/api/public/${edit.token}/uploads`);
    const where = await visitor.start(6, { name: 'from-visitor.txt' });
    expect(where).to.match(new RegExp(`^/api/public/${edit.token}/uploads/`));
    expect(await reserved(alice.id)).to.equal(6);
    const done = await visitor.patch(where, 0, 'hi bob');
    expect(done.status).to.equal(204);
    expect((await tus.api.children(folder.id)).map((n) => n.name)).to.include('from-visitor.txt');
    expect((await visitor.create(1, { name: 'exists.txt', overwrite: 'true' })).status).to.equal(409);
    const viewer = new Tus(api(srv.url), `/api/public/${view.token}/uploads`);
    expect((await viewer.create(1, { name: 'no.txt' })).status).to.equal(403);
    // A signed-in user's upload id is not the link's.
    const mine = await tus.start(5, { parentId: folder.id, name: 'mine.txt' });
    expect((await visitor.head(mine.replace('/api/uploads', `/api/public/${edit.token}/uploads`))).status).to.equal(
      404,
    );
    await tus.terminate(mine);
  });

  it('asks a password link for its password, and a cookie session for the CSRF header', async () => {
    const folder = await tus.api.mkdir(alice.rootId, 'Locked drop');
    const link = await tus.api.json<{ token: string }>(
      tus.api.post(`/api/nodes/${folder.id}/links`, { permission: 'edit', password: 'open sesame' }),
    );
    const endpoint = `/api/public/${link.token}/uploads`;
    expect((await new Tus(api(srv.url), endpoint).create(2, { name: 'a.txt' })).status).to.equal(401);
    const withPassword = new Tus(api(srv.url), endpoint, { 'x-link-password': 'open sesame' });
    const where = await withPassword.start(2, { name: 'a.txt' });
    expect((await withPassword.patch(where, 0, 'ok')).status).to.equal(204);

    const signIn = await fetch(`${srv.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: alice.username, password: alice.password }),
    });
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const viaCookie = (csrf: Record<string, string>) =>
      new Tus(api(srv.url), '/api/uploads', { cookie, ...csrf }).create(1, { parentId: alice.rootId, name: 'c.txt' });
    expect((await viaCookie({})).status).to.equal(403);
    const created = await viaCookie({ 'x-requested-with': 'coffer' });
    expect(created.status).to.equal(201);
    await tus.terminate(new URL(created.headers.get('location')!, srv.url).pathname);
  });

  it('expires an upload left alone: 410 until the job removes it, then 404, bytes gone and room released', async () => {
    const where = await tus.start(50, { parentId: alice.rootId, name: 'forgotten.bin' });
    await tus.patch(where, 0, Buffer.alloc(20));
    clock.advance(23 * 3600_000);
    expect((await tus.patch(where, 20, Buffer.alloc(10))).status).to.equal(204); // a chunk extends the expiry
    clock.advance(23 * 3600_000);
    expect(await tus.offset(where)).to.equal(30);
    clock.advance(3600_000 + 1);
    expect((await tus.head(where)).status).to.equal(410);
    expect((await tus.patch(where, 30, Buffer.alloc(20))).status).to.equal(410);
    expect(await reserved(alice.id)).to.equal(50);
    expect(await srv.app.jobs.fire('upload-expiry', new Date(clock.now()))).to.equal(true);
    expect((await tus.head(where)).status).to.equal(404);
    expect(await reserved(alice.id)).to.equal(0);
    expect(partials()).to.deep.equal([]);
    expect((await tus.api.children(alice.rootId)).map((n) => n.name)).to.not.include('forgotten.bin');
  });
});

describe('resumable uploads under BASE_PATH', () => {
  let srv: TestServer;
  before(async () => (srv = await startTestServer({ env: { BASE_PATH: '/coffer' } })));
  after(() => srv.close());

  it('answers with a Location under the base path, which takes the chunks', async () => {
    const user = await createUser(srv);
    const tus = new Tus(api(srv.url).as(user));
    const res = await tus.create(3, { parentId: user.rootId, name: 'based.txt' });
    expect(res.status).to.equal(201);
    const location = res.headers.get('location')!;
    expect(location).to.match(/^\/coffer\/api\/uploads\/[A-Za-z0-9_-]+$/);
    const where = location.slice('/coffer'.length); // the test client's URL already ends with the base
    expect((await tus.patch(where, 0, 'abc')).status).to.equal(204);
    expect((await tus.api.children(user.rootId)).map((n) => n.name)).to.include('based.txt');
  });
});
