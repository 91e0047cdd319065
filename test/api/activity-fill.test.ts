/**
 * A client that creates an empty file and then writes its content (davfs2, macOS Finder, Windows
 * Explorer do) made one upload: the log shows one "Uploaded" row with the final size, and the empty
 * content is kept as no version. Another actor, another door or a later write is a "Replaced".
 */
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { basic, Dav, davUser, type DavUser } from '../dav/support.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('activity: a create-then-fill pair is one upload', () => {
  const clock = new ManualClock();
  let srv: TestServer;
  let u: DavUser;
  before(async () => {
    srv = await startTestServer({ clock });
    u = await davUser(srv);
  });
  after(() => srv.close());

  const logOf = async (name: string) => {
    const a = api(srv.url).as(u);
    const items = (await a.json(a.get('/api/activity?limit=100'))).items as {
      action: string;
      path: string;
      details: { size?: number };
    }[];
    return items.filter((r) => r.path === `/${name}`).map((r) => [r.action, r.details?.size]);
  };
  const versionsOf = async (name: string) => {
    const a = api(srv.url).as(u);
    const node = (await a.children(u.rootId)).find((n) => n.name === name)!;
    return (await a.json(a.get(`/api/nodes/${node.id}/versions`))).items as unknown[];
  };

  it('folds the empty create and the content PUT of one WebDAV client into one "Uploaded" row, keeping no empty version', async () => {
    const dav = Dav.for(srv, u);
    expect((await dav.put('/dav/report.txt', '')).status).to.equal(201);
    clock.advance(2_000);
    expect((await dav.put('/dav/report.txt', 'the whole report')).status).to.equal(204);
    expect(await logOf('report.txt')).to.deep.equal([['file.uploaded', 16]]);
    expect(await versionsOf('report.txt')).to.deep.equal([]);
  });

  it('keeps a "Replaced" row when the content comes later, from someone else or through another door', async () => {
    const dav = Dav.for(srv, u);
    await dav.put('/dav/late.txt', '');
    clock.advance(120_000);
    await dav.put('/dav/late.txt', 'much later');
    expect(await logOf('late.txt')).to.deep.equal([
      ['file.replaced', 10],
      ['file.uploaded', 0],
    ]);

    await dav.put('/dav/door.txt', '');
    const a = api(srv.url).as(u);
    expect((await a.put(`/api/folders/${u.rootId}/files/door.txt?overwrite=true`, 'via the API')).status).to.equal(200);
    expect((await logOf('door.txt')).map(([action]) => action)).to.deep.equal(['file.replaced', 'file.uploaded']);

    const owner = api(srv.url).as(u);
    const shared = await owner.mkdir(u.rootId, 'Team');
    const other = await davUser(srv);
    await owner.post(`/api/nodes/${shared.id}/shares`, { user: other.username, permission: 'edit' });
    await dav.put('/dav/Team/joint.txt', '');
    const theirs = new Dav(srv.url, basic(other.username, other.password));
    const path = '/dav/Shared%20with%20me/Team/joint.txt';
    expect((await theirs.put(path, 'written by the other')).status).to.equal(204);
    const log = (await owner.json(owner.get('/api/activity?limit=100'))).items as { action: string; path: string }[];
    expect(log.filter((r) => r.path === '/Team/joint.txt').map((r) => r.action)).to.deep.equal([
      'file.replaced',
      'file.uploaded',
    ]);
  });
});
