/** File versions: no overwrite destroys data, through any door; retention, coalescing, quota, fsck. */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { basic, Dav } from '../dav/support.js';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  hideStoredBlob,
  storedBlobs,
  expectFsckClean,
  expectHealthy,
  MiB,
  patternChunk,
  sha256,
  usedBytes,
} from '../support/store.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

interface VersionJson {
  id: string;
  size: number;
  etag: string;
  modifiedAt: string;
  createdAt: string;
  author: { id: string | null; username: string | null } | null;
  via: string | null;
}

async function versionsOf(a: Api, id: string): Promise<VersionJson[]> {
  const res = await a.get(`/api/nodes/${id}/versions`);
  expect(res.status, await res.clone().text()).to.equal(200);
  return ((await res.json()) as { items: VersionJson[] }).items;
}

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe('file versions', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.UTC(2026, 10, 2, 9, 0, 0));
  let srv: TestServer;
  let u: TestUser;
  let a: Api;

  before(async () => {
    srv = await startTestServer({ clock });
    u = await createUser(srv);
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const overwrite = (parentId: string, name: string, body: string | Buffer) =>
    a.upload(parentId, name, body, '?overwrite=true');

  it('keeps the old content of an API overwrite; it downloads byte for byte and restores (the current content becomes a version)', async () => {
    const v1 = patternChunk(1, 300 * 1024);
    const v2 = patternChunk(2, 200 * 1024);
    const file = await a.upload(u.rootId, 'report.bin', v1);
    clock.advance(HOUR);
    const replaced = await overwrite(u.rootId, 'report.bin', v2);
    expect(replaced.id).to.equal(file.id);

    const list = await versionsOf(a, file.id);
    expect(list).to.have.length(1);
    expect(list[0]!.size).to.equal(v1.length);
    expect(list[0]!.etag).to.equal(sha256(v1));
    expect(list[0]!.author).to.deep.equal({ id: u.id, username: u.username });
    expect(list[0]!.via).to.equal('api');
    expect(Date.parse(list[0]!.createdAt)).to.equal(clock.now());

    const dl = await a.get(`/api/nodes/${file.id}/versions/${list[0]!.id}/content`);
    expect(dl.status).to.equal(200);
    expect(dl.headers.get('content-disposition')).to.match(/^attachment/);
    expect(sha256(await bytesOf(dl))).to.equal(sha256(v1));
    const part = await a.get(`/api/nodes/${file.id}/versions/${list[0]!.id}/content`, { range: 'bytes=10-19' });
    expect(part.status).to.equal(206);
    expect((await bytesOf(part)).equals(v1.subarray(10, 20))).to.equal(true);

    clock.advance(HOUR);
    const restored = await a.post(`/api/nodes/${file.id}/versions/${list[0]!.id}/restore`);
    expect(restored.status).to.equal(200);
    const node = (await restored.json()) as NodeJson;
    expect(node.id).to.equal(file.id);
    expect(node.etag).to.equal(sha256(v1));
    expect(sha256(await bytesOf(await a.get(`/api/files/${file.id}/content`)))).to.equal(sha256(v1));
    const after = await versionsOf(a, file.id);
    expect(after.map((v) => v.etag)).to.deep.equal([sha256(v2)]);

    const log = await a.json(a.get('/api/activity?action=version.restored'));
    expect(log.items[0]).to.include({ action: 'version.restored', nodeId: file.id });
    await expectFsckClean(srv);
  });

  it('keeps the old content of a WebDAV PUT; the API restores it and WebDAV serves it again', async () => {
    const dav = new Dav(srv.url, basic(u.username, u.password));
    expect((await dav.put('/dav/notes.txt', 'first draft')).status).to.equal(201);
    clock.advance(HOUR);
    expect((await dav.put('/dav/notes.txt', 'second draft, longer')).status).to.equal(204);
    const file = (await a.children(u.rootId)).find((n) => n.name === 'notes.txt')!;
    const [v] = await versionsOf(a, file.id);
    expect(v).to.include({ size: 'first draft'.length, via: 'dav' });
    await a.post(`/api/nodes/${file.id}/versions/${v!.id}/restore`);
    expect(await (await dav.request('GET', '/dav/notes.txt')).text()).to.equal('first draft');
    expect((await versionsOf(a, file.id)).map((x) => x.via)).to.deep.equal(['dav']);
  });

  it('coalesces rapid saves by the same person through the same door, never across doors or people', async () => {
    const file = await a.upload(u.rootId, 'draft.odt', 'v0');
    clock.advance(HOUR);
    await overwrite(u.rootId, 'draft.odt', 'v1'); // keeps v0 (its first version)
    for (const body of ['v2', 'v3', 'v4']) {
      clock.advance(10_000); // a desktop app saving every 10 s
      await overwrite(u.rootId, 'draft.odt', body);
    }
    // v1–v3 were intermediate saves of one burst: one version (v0) remains.
    expect((await versionsOf(a, file.id)).map((v) => v.size)).to.have.length(1);

    // The same person through another door is never merged: v4 is kept.
    const dav = new Dav(srv.url, basic(u.username, u.password));
    clock.advance(10_000);
    expect((await dav.put('/dav/draft.odt', 'v5')).status).to.equal(204);
    // Another person is never merged either: v5 is kept.
    const editor = await createUser(srv);
    const folder = await a.mkdir(u.rootId, 'team');
    await a.post(`/api/nodes/${folder.id}/shares`, { user: editor.username, permission: 'edit' });
    const shared = await a.upload(folder.id, 'plan.txt', 'by owner');
    clock.advance(10_000);
    await api(srv.url).as(editor).upload(folder.id, 'plan.txt', 'by editor', '?overwrite=true');
    const planVersions = await versionsOf(a, shared.id);
    expect(planVersions.map((v) => v.author?.username)).to.deep.equal([u.username]);
    const draftVersions = await versionsOf(a, file.id);
    expect(draftVersions.map((v) => v.via)).to.deep.equal(['api', 'api']);

    // After the window, the next save by the same person and door makes a version again.
    const sheet = await a.upload(u.rootId, 'sheet.ods', 'x0');
    clock.advance(HOUR);
    await overwrite(u.rootId, 'sheet.ods', 'x1'); // keeps x0
    clock.advance(10_000);
    await overwrite(u.rootId, 'sheet.ods', 'x2'); // x1 was an intermediate save
    clock.advance(6 * 60_000);
    await overwrite(u.rootId, 'sheet.ods', 'x3'); // the window (5 min) has passed: x2 is kept
    expect((await versionsOf(a, sheet.id)).map((v) => v.size)).to.have.length(2);
    const kept = await Promise.all(
      (await versionsOf(a, sheet.id)).map(async (v) =>
        (await a.get(`/api/nodes/${sheet.id}/versions/${v.id}/content`)).text(),
      ),
    );
    expect(kept).to.deep.equal(['x2', 'x0']);
    await expectFsckClean(srv);
  });

  it('lets viewers list and download, editors restore, only the owner delete; strangers get 404', async () => {
    const viewer = await createUser(srv);
    const editor = await createUser(srv);
    const stranger = await createUser(srv);
    const folder = await a.mkdir(u.rootId, 'perm');
    await a.post(`/api/nodes/${folder.id}/shares`, { user: viewer.username, permission: 'view' });
    await a.post(`/api/nodes/${folder.id}/shares`, { user: editor.username, permission: 'edit' });
    const file = await a.upload(folder.id, 'f.txt', 'one');
    clock.advance(HOUR);
    await overwrite(folder.id, 'f.txt', 'two');
    const [v] = await versionsOf(a, file.id);
    const as = (who: TestUser) => api(srv.url).as(who);
    const base = `/api/nodes/${file.id}/versions`;

    expect((await versionsOf(as(viewer), file.id)).length).to.equal(1);
    expect(await (await as(viewer).get(`${base}/${v!.id}/content`)).text()).to.equal('one');
    expect((await as(viewer).post(`${base}/${v!.id}/restore`)).status).to.equal(403);
    expect((await as(viewer).delete(`${base}/${v!.id}`)).status).to.equal(403);
    expect((await as(editor).delete(`${base}/${v!.id}`)).status).to.equal(403);
    for (const path of [base, `${base}/${v!.id}/content`]) expect((await as(stranger).get(path)).status).to.equal(404);
    expect((await as(stranger).post(`${base}/${v!.id}/restore`)).status).to.equal(404);
    expect((await as(editor).post(`${base}/${v!.id}/restore`)).status).to.equal(200);
    expect(await (await a.get(`/api/files/${file.id}/content`)).text()).to.equal('one');
    // The editor's restore shows in the owner's log, with the editor as the actor.
    const log = await a.json(a.get(`/api/activity?action=version.restored`));
    expect(log.items[0].actor.username).to.equal(editor.username);

    // Bad ids: a version of another file, an unknown version, a folder, a malformed id.
    const other = await a.upload(u.rootId, 'other.txt', 'x');
    const [w] = await versionsOf(a, file.id);
    expect((await a.get(`/api/nodes/${other.id}/versions/${w!.id}/content`)).status).to.equal(404);
    expect((await a.post(`${base}/00000000-0000-4000-8000-000000000000/restore`)).status).to.equal(404);
    expect((await a.get(`/api/nodes/${folder.id}/versions`)).status).to.equal(400);
    const bad = await a.get(`${base}/not-an-id/content`);
    expect(bad.status).to.equal(400);
    expect((await bad.json()).error.code).to.equal('invalid_input');
  });

  it('deleting a version frees its bytes and is logged; the bin keeps versions and a purge removes them', async () => {
    const file = await a.upload(u.rootId, 'big.bin', patternChunk(3, MiB));
    clock.advance(HOUR);
    await overwrite(u.rootId, 'big.bin', patternChunk(4, MiB));
    clock.advance(HOUR);
    await overwrite(u.rootId, 'big.bin', patternChunk(5, MiB));
    const before = await usedBytes(srv, u.id);
    const [newest] = await versionsOf(a, file.id);
    expect((await a.delete(`/api/nodes/${file.id}/versions/${newest!.id}`)).status).to.equal(204);
    expect(await usedBytes(srv, u.id)).to.equal(before - MiB);
    expect((await a.json(a.get('/api/activity?action=version.deleted'))).items).to.have.length(1);

    expect((await a.delete(`/api/nodes/${file.id}`)).status).to.equal(204);
    expect((await a.post(`/api/trash/${file.id}/restore`)).status).to.equal(200);
    expect(await versionsOf(a, file.id)).to.have.length(1);
    expect((await a.delete(`/api/nodes/${file.id}`)).status).to.equal(204);
    expect((await a.delete(`/api/trash/${file.id}`)).status).to.equal(200);
    expect(await usedBytes(srv, u.id)).to.equal(before - 3 * MiB);
    expect(await storedBlobs(srv)).to.include(sha256(patternChunk(3, MiB)));
    await srv.app.collectGarbage(0);
    const onDisk = await storedBlobs(srv);
    for (const seed of [3, 4, 5]) expect(onDisk).to.not.include(sha256(patternChunk(seed, MiB)));
    await expectFsckClean(srv);
  });

  it('an overwrite that cannot fit beside the version it makes is refused with 507, and nothing changes', async () => {
    const small = await createUser(srv, { quotaBytes: 3 * MiB });
    const s = api(srv.url).as(small);
    const file = await s.upload(small.rootId, 'a.bin', patternChunk(6, 2 * MiB));
    clock.advance(HOUR);
    const res = await s.put(`/api/folders/${small.rootId}/files/a.bin?overwrite=true`, patternChunk(7, 2 * MiB));
    expect(res.status).to.equal(507);
    expect(sha256(await bytesOf(await s.get(`/api/files/${file.id}/content`)))).to.equal(
      sha256(patternChunk(6, 2 * MiB)),
    );
    expect(await versionsOf(s, file.id)).to.have.length(0);
    expect(await usedBytes(srv, small.id)).to.equal(2 * MiB);
    await expectFsckClean(srv);
  });

  it('fsck counts the blobs and bytes that versions hold, and reports a missing version blob', async () => {
    const versioned = patternChunk(31, 100 * 1024); // above the inline limit: a blob file
    const file = await a.upload(u.rootId, 'checked.txt', versioned);
    clock.advance(HOUR);
    await overwrite(u.rootId, 'checked.txt', 'current');
    await srv.app.collectGarbage(0);
    await expectFsckClean(srv);
    const hash = sha256(versioned);
    expect(await storedBlobs(srv), 'the version keeps its blob through GC').to.include(hash);
    const putBack = await hideStoredBlob(srv, hash);
    const { fsck } = await import('../../server/domain/maintenance.js');
    const report = await fsck(srv.app.db, srv.app.blobs);
    expect(report.problems).to.deep.equal([`blob ${hash}: file missing`]);
    await putBack();
    await a.delete(`/api/nodes/${file.id}/versions/${(await versionsOf(a, file.id))[0]!.id}`);
  });
});

describe('version retention (daily job, injected clock)', function () {
  this.timeout(60_000);
  const t0 = Date.UTC(2026, 0, 10, 12, 0, 0);
  const clock = new ManualClock(t0);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;

  before(async () => {
    // No coalescing: every save here makes a version, so the test controls exactly which exist.
    srv = await startTestServer({ clock, env: { VERSIONS_COALESCE: '0', JWT_TTL: '400d' } });
    u = await createUser(srv, { quotaBytes: 100 * MiB });
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  it('keeps every version for a day, one per day for 30 days, one per week after, and logs the prune as system', async () => {
    const file = await a.upload(u.rootId, 'kept.txt', 'base');
    // Versions made at t0+1h, +2h, +3h (same day), then at +2d and +2d+1h.
    const at = [HOUR, 2 * HOUR, 3 * HOUR, 2 * DAY, 2 * DAY + HOUR];
    for (const [i, t] of at.entries()) {
      clock.set(t0 + t);
      await a.upload(u.rootId, 'kept.txt', `content ${i + 1}`, '?overwrite=true');
    }
    expect(await versionsOf(a, file.id)).to.have.length(5);
    const created = async () => (await versionsOf(a, file.id)).map((v) => Date.parse(v.createdAt) - t0);

    // An hour after the last one. Ages: 1 h and 2 h (under a day: kept), 1d23h (day 1: kept), 2d and
    // 2d1h (both day 2: the newer is kept).
    clock.set(t0 + 2 * DAY + 2 * HOUR);
    expect((await srv.app.versions.prune()).versions).to.equal(1);
    expect(await created()).to.deep.equal([2 * DAY + HOUR, 2 * DAY, 3 * HOUR, 2 * HOUR]);

    // 60 days later every remaining version is in one week-bucket: only the newest stays.
    clock.set(t0 + 60 * DAY);
    const result = await srv.app.versions.prune();
    expect(result.versions).to.equal(3);
    expect(await created()).to.deep.equal([2 * DAY + HOUR]);
    const log = await a.json(a.get('/api/activity?action=version.pruned'));
    expect(log.items[0].actor.username).to.equal('system');
    expect(log.items[0].details).to.include({ reason: 'retention', versions: 3 });
    await expectFsckClean(srv);
  });

  it('never lets versions take more than half of the space not used by live files', async () => {
    const tight = await createUser(srv, { quotaBytes: 10 * MiB });
    const t = api(srv.url).as(tight);
    const file = await t.upload(tight.rootId, 'video.bin', patternChunk(20, 2 * MiB));
    for (let i = 0; i < 3; i++) {
      clock.advance(HOUR);
      await t.upload(tight.rootId, 'video.bin', patternChunk(21 + i, 2 * MiB), '?overwrite=true');
    }
    // 2 MiB live + 6 MiB of versions; the space not used by live files is 8 MiB, half of it is 4 MiB: the oldest version goes.
    expect(await usedBytes(srv, tight.id)).to.equal(8 * MiB);
    await srv.app.versions.prune();
    const left = await versionsOf(t, file.id);
    expect(left.map((v) => v.etag)).to.deep.equal([
      sha256(patternChunk(22, 2 * MiB)),
      sha256(patternChunk(21, 2 * MiB)),
    ]);
    expect(await usedBytes(srv, tight.id)).to.equal(6 * MiB);
    await expectFsckClean(srv);
  });
});
