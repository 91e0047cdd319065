/**
 * File-drop links (permission `upload`) and link limits: visitors add files through the public API
 * and /public-dav/ PUT, see and read nothing, never replace (a taken name is numbered), within
 * maxUploadBytes and the owner's quota, logged via link; maxDownloads ends a view link atomically.
 */
import { expect } from 'chai';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { rerunMigration } from '../support/migrations.js';
import { Tus } from '../support/tus.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, Dav } from '../dav/support.js';

interface LinkJson {
  id: string;
  token: string;
  url: string;
  davUrl: string;
  permission: string;
  maxUploadBytes: number | null;
  maxDownloads: number | null;
  downloadCount: number;
}

/** A body fetch sends chunked, with no Content-Length. */
function chunked(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
      c.close();
    },
  });
}

describe('file-drop links and link limits', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let alice: TestUser;
  let inbox: NodeJson, kept: NodeJson;

  before(async () => {
    srv = await startTestServer();
    alice = await createUser(srv, { prefix: 'alice', quotaBytes: 200_000 });
    const a = api(srv.url).as(alice);
    inbox = await a.mkdir(alice.rootId, 'Inbox');
    kept = await a.upload(inbox.id, 'report.pdf', 'the original report');
  });
  after(() => srv.close());

  async function link(body: Record<string, unknown>, nodeId = inbox.id): Promise<LinkJson> {
    const res = await api(srv.url).as(alice).post(`/api/nodes/${nodeId}/links`, body);
    expect(res.status, await res.clone().text()).to.equal(201);
    return (await res.json()) as LinkJson;
  }
  const visitor = () => api(srv.url);
  const names = async () => (await api(srv.url).as(alice).children(inbox.id)).map((n) => n.name).sort();
  const contentOf = async (name: string) => {
    const node = (await api(srv.url).as(alice).children(inbox.id)).find((n) => n.name === name)!;
    return (await api(srv.url).as(alice).get(`/api/files/${node.id}/content`)).text();
  };

  it('creates upload links on folders only, with the limits that fit each kind of link', async () => {
    const l = await link({ permission: 'upload', maxUploadBytes: 1000 });
    expect(l).to.include({ permission: 'upload', maxUploadBytes: 1000, maxDownloads: null });
    expect(l.davUrl).to.equal(`${srv.url}/public-dav/${l.token}/`);
    const bad = async (body: Record<string, unknown>, nodeId = inbox.id) => {
      const res = await api(srv.url).as(alice).post(`/api/nodes/${nodeId}/links`, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect((await res.json()).error.code).to.equal('invalid_input');
    };
    await bad({ permission: 'upload' }, kept.id);
    await bad({ permission: 'upload', maxDownloads: 3 });
    await bad({ permission: 'view', maxUploadBytes: 10 });
    await bad({ permission: 'view', maxDownloads: 0 });
    await bad({ permission: 'upload', maxUploadBytes: -1 });
  });

  it('lets visitors upload through the page’s API: a taken name is numbered, never replaced', async () => {
    const l = await link({ permission: 'upload' });
    const info = await visitor().json(visitor().get(`/api/public/${l.token}`));
    expect(info.link).to.include({ permission: 'upload' });
    expect(info.node).to.equal(null);
    expect(info.name).to.equal('Inbox');
    const first = await visitor().put(`/api/public/${l.token}/files/report.pdf`, 'a visitor’s report');
    expect(first.status).to.equal(201);
    expect(await first.json()).to.deep.equal({ name: 'report (1).pdf', size: Buffer.byteLength('a visitor’s report') });
    const second = await visitor().put(`/api/public/${l.token}/files/report.pdf`, 'another one');
    expect((await second.json()).name).to.equal('report (2).pdf');
    const fresh = await visitor().put(`/api/public/${l.token}/files/${encodeURIComponent('notes ü.txt')}`, 'n');
    expect((await fresh.json()).name).to.equal('notes ü.txt');
    expect(await names()).to.include.members(['report.pdf', 'report (1).pdf', 'report (2).pdf', 'notes ü.txt']);
    expect(await contentOf('report.pdf')).to.equal('the original report');
    expect(await contentOf('report (1).pdf')).to.equal('a visitor’s report');
  });

  it('takes resumable (tus) uploads the same way: renamed on a clash, within the size cap, and nothing to read back', async () => {
    const l = await link({ permission: 'upload', maxUploadBytes: 1000 });
    const tus = new Tus(visitor(), `/api/public/${l.token}/uploads`);
    expect((await tus.create(5000, { name: 'big.bin' })).status).to.equal(413);
    const path = await tus.start(11, { name: 'report.pdf' });
    expect(path).to.match(new RegExp(`^/api/public/${l.token}/uploads/`));
    const done = await tus.patch(path, 0, 'via tus, 11'.slice(0, 11));
    expect(done.status).to.equal(204);
    const stored = (await names()).filter((n) => /^report \(\d+\)\.pdf$/.test(n));
    expect(await contentOf(stored.at(-1)!)).to.equal('via tus, 11'.slice(0, 11));
    expect(await contentOf('report.pdf')).to.equal('the original report');
  });

  it('takes /public-dav/ PUT the same way: 201, the stored name in Location', async () => {
    const l = await link({ permission: 'upload', password: 'drop it here' });
    const dav = new Dav(srv.url, basic('anyone', 'drop it here'));
    const put = await dav.put(`/public-dav/${l.token}/report.pdf`, 'over WebDAV');
    expect(put.status).to.equal(201);
    expect(put.headers.get('location')).to.match(new RegExp(`^/public-dav/${l.token}/report%20%28\\d%29\\.pdf$`));
    const stored = decodeURIComponent(put.headers.get('location')!.split('/').pop()!);
    expect(await contentOf(stored)).to.equal('over WebDAV');
    const plain = await dav.put(`/public-dav/${l.token}/dav-only.txt`, 'x');
    expect(plain.status).to.equal(201);
    expect(plain.headers.get('location')).to.equal(`/public-dav/${l.token}/dav-only.txt`);
    // The password is still needed.
    expect((await new Dav(srv.url).put(`/public-dav/${l.token}/no.txt`, 'x')).status).to.equal(401);
    expect(await contentOf('report.pdf')).to.equal('the original report');
  });

  it('shows visitors nothing: no listing, no download, no change (403/404), through the API and WebDAV', async () => {
    const l = await link({ permission: 'upload' });
    const t = l.token;
    for (const p of [
      `/api/public/${t}/children`,
      `/api/public/${t}/path`,
      `/api/public/${t}/content?id=${kept.id}`,
      `/api/public/${t}/zip`,
    ]) {
      const res = await visitor().get(p);
      expect(res.status, p).to.be.oneOf([403, 404]);
    }
    const info = await visitor().json(visitor().get(`/api/public/${t}?id=${kept.id}`));
    expect(info.node).to.equal(null);
    // Not into a folder inside it either.
    const sub = await api(srv.url).as(alice).mkdir(inbox.id, 'Sub');
    expect((await visitor().put(`/api/public/${t}/files/x.txt?id=${sub.id}`, 'x')).status).to.equal(201);
    expect(await api(srv.url).as(alice).children(sub.id)).to.deep.equal([]);

    const dav = new Dav(srv.url);
    const root = await dav.propfind(`/public-dav/${t}/`, '0');
    expect(root.status).to.equal(207);
    const xml = await root.text();
    expect(xml).to.include('<D:collection/>');
    expect(xml).to.not.include('report');
    const status = async (method: string, p: string, headers: Record<string, string> = {}) => {
      const res = await dav.request(method, `/public-dav/${t}${p}`, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await status('PROPFIND', '/', { depth: '1' })).to.equal(403);
    expect(await status('PROPFIND', '/report.pdf', { depth: '0' })).to.equal(404);
    expect(await status('GET', '/')).to.equal(403);
    expect(await status('GET', '/report.pdf')).to.equal(404);
    expect(await status('DELETE', '/report.pdf')).to.equal(403);
    expect(await status('MKCOL', '/New')).to.equal(403);
    expect(await status('MOVE', '/report.pdf', { destination: `/public-dav/${t}/r.pdf` })).to.equal(403);
    expect(await status('LOCK', '/report.pdf')).to.equal(403);
    expect((await dav.put(`/public-dav/${t}/Sub/x.txt`, 'x')).status).to.equal(403);
    expect(await contentOf('report.pdf')).to.equal('the original report');
  });

  it('refuses a file over maxUploadBytes with 413: by its Content-Length up front, or while it streams', async () => {
    const l = await link({ permission: 'upload', maxUploadBytes: 5000 });
    const before = await names();
    const big = Buffer.alloc(6000, 7);
    const api413 = await visitor().put(`/api/public/${l.token}/files/big.bin`, big);
    expect(api413.status).to.equal(413);
    expect((await api413.json()).error.code).to.equal('payload_too_large');
    const streamed = await visitor().put(`/api/public/${l.token}/files/big.bin`, chunked(big));
    expect(streamed.status).to.equal(413);
    const dav = new Dav(srv.url);
    expect((await dav.put(`/public-dav/${l.token}/big.bin`, big)).status).to.equal(413);
    const davStreamed = await dav.request('PUT', `/public-dav/${l.token}/big.bin`, { body: chunked(big) });
    expect(davStreamed.status).to.equal(413);
    expect(await names()).to.deep.equal(before);
    const fits = await visitor().put(`/api/public/${l.token}/files/fits.bin`, chunked(Buffer.alloc(5000, 1)));
    expect(fits.status).to.equal(201);
  });

  it('charges uploads to the owner’s quota (507 when full) and logs them in the owner’s activity via link', async () => {
    const l = await link({ permission: 'upload' });
    const full = await visitor().put(`/api/public/${l.token}/files/huge.bin`, Buffer.alloc(300_000, 1));
    expect(full.status).to.equal(507);
    const dav = new Dav(srv.url);
    expect((await dav.put(`/public-dav/${l.token}/huge.bin`, Buffer.alloc(300_000, 1))).status).to.equal(507);
    const me = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/auth/me'));
    expect(await visitor().put(`/api/public/${l.token}/files/counted.bin`, Buffer.alloc(1000, 2))).to.have.property(
      'status',
      201,
    );
    const after = await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/auth/me'));
    expect(after.user.usedBytes - me.user.usedBytes).to.equal(1000);
    const rows = (await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/activity?action=file.uploaded')))
      .items as { path: string; via: string; actor: unknown }[];
    const row = rows.find((r) => r.path === '/Inbox/counted.bin')!;
    expect(row).to.include({ via: 'link' });
    expect(rows.find((r) => r.path === '/Inbox/dav-only.txt')).to.include({ via: 'link' });
  });

  it('ends a view link after maxDownloads downloads, counted atomically (API and WebDAV), 404 after', async () => {
    const a = api(srv.url).as(alice);
    const folder = await a.mkdir(alice.rootId, 'Limited');
    const file = await a.upload(folder.id, 'song.txt', 'la la la');
    const l = await link({ permission: 'view', maxDownloads: 3 }, folder.id);
    // Listings, HEAD and later ranges are not downloads.
    expect((await visitor().get(`/api/public/${l.token}/children`)).status).to.equal(200);
    expect((await visitor().request('HEAD', `/api/public/${l.token}/content?id=${file.id}`)).status).to.equal(200);
    const later = await visitor().get(`/api/public/${l.token}/content?id=${file.id}`, { range: 'bytes=3-' });
    expect(later.status).to.equal(206);
    await later.arrayBuffer();
    const one = await visitor().get(`/api/public/${l.token}/content?id=${file.id}`);
    expect(await one.text()).to.equal('la la la');
    const listed = await a.json(a.get(`/api/nodes/${folder.id}/links`));
    expect(listed.items[0]).to.include({ maxDownloads: 3, downloadCount: 1 });
    // Two more at once, racing a third: exactly the remaining two are served.
    const race = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const res =
          i === 0
            ? await fetch(`${srv.url}/public-dav/${l.token}/song.txt`)
            : await visitor().get(`/api/public/${l.token}/content?id=${file.id}`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(race.filter((s) => s === 200)).to.have.length(2);
    expect(race.filter((s) => s === 404)).to.have.length(1);
    for (const p of [`/api/public/${l.token}`, `/api/public/${l.token}/children`, `/api/public/${l.token}/zip`]) {
      const res = await visitor().get(p);
      expect(res.status, p).to.equal(404);
      expect((await res.json()).error.message).to.match(/all its downloads/);
    }
    expect((await fetch(`${srv.url}/public-dav/${l.token}/song.txt`)).status).to.equal(404);
  });
});

describe('migration 020 (link limits)', function () {
  this.timeout(60_000);
  it('keeps the links and shares of an older install, and then takes upload links', async () => {
    const srv = await startTestServer();
    try {
      const [owner, friend] = [await createUser(srv), await createUser(srv)];
      const a = api(srv.url).as(owner);
      const folder = await a.mkdir(owner.rootId, 'Old');
      expect(
        (await a.post(`/api/nodes/${folder.id}/links`, { permission: 'view', password: 'pw-123' })).status,
      ).to.equal(201);
      expect(
        (await a.post(`/api/nodes/${folder.id}/shares`, { user: friend.username, permission: 'edit' })).status,
      ).to.equal(201);
      const postgres = srv.databaseEnv.DATABASE_URL !== undefined;
      const cols =
        'id, node_id, kind, grantee_id, permission, token, password_hash, expires_at, created_by, created_at, grantee_name, grantee_name_key';
      // The schema before 020: no limit columns, and only view or edit.
      const undo = postgres
        ? [
            'ALTER TABLE shares DROP COLUMN max_upload_bytes',
            'ALTER TABLE shares DROP COLUMN max_downloads',
            'ALTER TABLE shares DROP COLUMN download_count',
            'ALTER TABLE shares DROP CONSTRAINT shares_permission_check',
            "ALTER TABLE shares ADD CONSTRAINT shares_permission_check CHECK (permission IN ('view','edit'))",
          ]
        : [
            `CREATE TABLE shares_old AS SELECT ${cols} FROM shares`,
            'DROP TABLE shares',
            'ALTER TABLE shares_old RENAME TO shares',
          ];
      const db = await rerunMigration(srv, '020-link-limits', undo);
      const rows = await db.all<{
        kind: string;
        permission: string;
        password_hash: string | null;
        download_count: unknown;
      }>('SELECT kind, permission, password_hash, download_count FROM shares ORDER BY kind');
      // A user share can never be `upload` (the new CHECK).
      const refused = await db
        .run(
          `INSERT INTO shares (id, node_id, kind, grantee_id, permission, created_by, created_at)
           VALUES ('x', $node, 'user', $friend, 'upload', $owner, 0)`,
          { node: folder.id, friend: friend.id, owner: owner.id },
        )
        .then(
          () => false,
          () => true,
        );
      expect(refused).to.equal(true);
      await db.close();
      expect(rows.map((r) => `${r.kind}:${r.permission}:${Number(r.download_count)}`)).to.deep.equal([
        'link:view:0',
        'user:edit:0',
      ]);
      expect(rows[0]!.password_hash).to.be.a('string');
    } finally {
      await srv.close();
    }
  });
});
