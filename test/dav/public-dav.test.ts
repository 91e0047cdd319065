/**
 * Public links over WebDAV (/public-dav/<token>/): litmus basic and copymove against an edit link,
 * a read-only view link, expiry, the link password as the Basic password (throttled), a subtree
 * nothing can leave, LOCK/UNLOCK, activity via link, and rclone against a link.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ManualClock } from '../../server/domain/clock.js';
import { api, createUser, type NodeJson, type TestUser } from '../support/http.js';
import { expectLitmusPasses } from '../support/litmus.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { raw } from './raw-request.js';
import { basic, Dav } from './support.js';
import { skipWithout } from '../support/programs.js';

const LOCK_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype></D:lockinfo>';

describe('public links over WebDAV (/public-dav/<token>/)', function () {
  this.timeout(180_000);
  let srv: TestServer;
  const clock = new ManualClock();
  let alice: TestUser;
  let shared: NodeJson, sibling: NodeJson, lone: NodeJson;

  before(async () => {
    srv = await startTestServer({ clock, env: { LOGIN_MAX_FAILURES: '3' } });
    alice = await createUser(srv, { prefix: 'alice' });
    const a = api(srv.url).as(alice);
    shared = await a.mkdir(alice.rootId, 'Shared');
    const inner = await a.mkdir(shared.id, 'Inner');
    await a.upload(inner.id, 'note.txt', 'inside');
    sibling = await a.mkdir(alice.rootId, 'Private');
    await a.upload(sibling.id, 'secret.txt', 'keep out');
    lone = await a.upload(alice.rootId, 'lone.txt', 'just me');
  });
  after(() => srv.close());

  async function link(body: Record<string, unknown>, nodeId = shared.id) {
    const res = await api(srv.url).as(alice).post(`/api/nodes/${nodeId}/links`, body);
    expect(res.status, await res.clone().text()).to.equal(201);
    return (await res.json()) as { id: string; token: string; davUrl: string };
  }
  const visitor = (password?: string) => new Dav(srv.url, basic('anyone', password ?? ''));

  it('gives each link its WebDAV URL, and OPTIONS answers as /dav/ does, without credentials', async () => {
    const l = await link({ permission: 'view', password: 'open sesame' });
    expect(l.davUrl).to.equal(`${srv.url}/public-dav/${l.token}/`);
    const res = await fetch(`${srv.url}/public-dav/${l.token}/`, { method: 'OPTIONS' });
    expect(res.status).to.equal(200);
    expect(res.headers.get('dav')).to.equal('1, 2');
    expect(res.headers.get('allow')).to.include('PROPFIND');
  });

  it('passes litmus basic and copymove against an edit link with a password (any username)', async function () {
    skipWithout(this, 'litmus', '--version');
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Litmus');
    const l = await link({ permission: 'edit', password: 'litmus:pässword' }, folder.id);
    const { suites } = await expectLitmusPasses(l.davUrl, 'whoever', 'litmus:pässword', ['basic', 'copymove']);
    console.log(`      litmus: basic ${suites.get('basic')!.passed}, copymove ${suites.get('copymove')!.passed}`);
  });

  it('serves a view link read-only: listings and downloads under its own hrefs, 403 on every write (LOCK too)', async () => {
    const l = await link({ permission: 'view' });
    const dav = visitor();
    const list = await dav.propfind(`/public-dav/${l.token}/`, '1');
    expect(list.status).to.equal(207);
    const xml = await list.text();
    expect(xml).to.include(`<D:href>/public-dav/${l.token}/</D:href>`);
    expect(xml).to.include(`<D:href>/public-dav/${l.token}/Inner/</D:href>`);
    expect(xml).to.not.include('quota-used-bytes'); // the owner's usage is not the visitor's business
    const get = await dav.request('GET', `/public-dav/${l.token}/Inner/note.txt`);
    expect(get.status).to.equal(200);
    expect(await get.text()).to.equal('inside');
    // Without any Authorization header at all, too.
    expect((await fetch(`${srv.url}/public-dav/${l.token}/Inner/note.txt`)).status).to.equal(200);

    const p = `/public-dav/${l.token}/Inner/note.txt`;
    const dest = { destination: `${srv.url}/public-dav/${l.token}/copy.txt` };
    const proppatch =
      '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>';
    const attempts: [string, string, { headers?: Record<string, string>; body?: string }][] = [
      ['PUT', `/public-dav/${l.token}/new.txt`, { body: 'nope' }],
      ['PUT', p, { body: 'nope' }],
      ['DELETE', p, {}],
      ['MKCOL', `/public-dav/${l.token}/Made`, {}],
      ['MOVE', p, { headers: dest }],
      ['COPY', p, { headers: dest }],
      ['PROPPATCH', p, { body: proppatch }],
      ['LOCK', p, { body: LOCK_BODY }],
      ['LOCK', `/public-dav/${l.token}/unmapped.txt`, { body: LOCK_BODY }],
    ];
    for (const [method, at, opts] of attempts) {
      const res = await dav.request(method, at, opts);
      expect(res.status, `${method} ${at}`).to.equal(403);
      await res.arrayBuffer();
    }
    const after = await api(srv.url).as(alice).children(shared.id);
    expect(after.map((n) => n.name)).to.deep.equal(['Inner']);
  });

  it('lets an edit link change its subtree, logged in the owner’s activity via link', async () => {
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Team');
    const l = await link({ permission: 'edit' }, folder.id);
    const dav = visitor('ignored: this link has no password');
    const base = `/public-dav/${l.token}`;
    expect(await dav.mkcol(`${base}/Docs`)).to.equal(201);
    expect((await dav.put(`${base}/Docs/a.txt`, 'alpha')).status).to.equal(201);
    expect((await dav.put(`${base}/Docs/a.txt`, 'alpha 2')).status).to.equal(204);
    const mv = await dav.request('MOVE', `${base}/Docs/a.txt`, { headers: { destination: `${base}/b.txt` } });
    expect(mv.status).to.equal(201);
    const cp = await dav.request('COPY', `${base}/b.txt`, { headers: { destination: `${srv.url}${base}/Docs/c.txt` } });
    expect(cp.status).to.equal(201);
    expect((await dav.request('DELETE', `${base}/Docs/c.txt`)).status).to.equal(204);
    // The link's own folder stays: it is the root of what the visitor sees.
    expect((await dav.request('DELETE', `${base}/`)).status).to.equal(403);
    expect((await dav.request('MOVE', `${base}/`, { headers: { destination: `${base}/x/` } })).status).to.equal(403);

    const names = (await api(srv.url).as(alice).children(folder.id)).map((n) => n.name);
    expect(names).to.have.members(['b.txt', 'Docs']);
    const rows = (await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/activity?limit=50'))).items as {
      action: string;
      path: string;
      via: string;
      actor: { username: string | null } | null;
    }[];
    const byLink = rows.filter((r) => r.path?.startsWith('/Team/'));
    expect(byLink.map((r) => r.action)).to.include.members(['folder.created', 'file.uploaded', 'file.replaced']);
    for (const r of byLink) expect(r.via, r.action).to.equal('link');
  });

  it('takes LOCK and UNLOCK on an edit link: a locked file refuses a write without the token (423)', async () => {
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Locking');
    const l = await link({ permission: 'edit' }, folder.id);
    const dav = visitor();
    const p = `/public-dav/${l.token}/doc.txt`;
    expect((await dav.put(p, 'v1')).status).to.equal(201);
    const lock = await dav.request('LOCK', p, { body: LOCK_BODY, headers: { timeout: 'Second-600' } });
    expect(lock.status).to.equal(200);
    const token = lock.headers.get('lock-token')!;
    expect(await lock.text()).to.include(`<D:lockroot><D:href>/public-dav/${l.token}/doc.txt</D:href>`);
    expect((await dav.put(p, 'v2')).status).to.equal(423);
    // The owner cannot write over it through the API either (the lock guards every door).
    const res = await api(srv.url).as(alice).put(`/api/folders/${folder.id}/files/doc.txt?overwrite=true`, 'owner');
    expect(res.status).to.equal(423);
    expect((await dav.put(p, 'v2', { if: `(${token})` })).status).to.equal(204);
    expect((await dav.request('UNLOCK', p, { headers: { 'lock-token': token } })).status).to.equal(204);
    expect((await dav.put(p, 'v3')).status).to.equal(204);
    // The owner sees a visitor's lock as the link's, and revoking the link ends it.
    await dav.request('LOCK', p, { body: LOCK_BODY });
    const locks = (await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/locks'))).items as {
      holder: { username: string };
    }[];
    expect(locks.map((l) => l.holder.username)).to.deep.equal(['link visitor']);
    expect((await api(srv.url).as(alice).delete(`/api/links/${l.id}`)).status).to.equal(204);
    expect((await api(srv.url).as(alice).json(api(srv.url).as(alice).get('/api/locks'))).items).to.deep.equal([]);
    expect((await dav.put(p, 'gone')).status).to.equal(404);
  });

  it('works under BASE_PATH: hrefs, the link’s WebDAV URL and Destinations carry the prefix', async () => {
    const own = await startTestServer({ env: { BASE_PATH: '/coffer' } });
    try {
      const site = new URL(own.url).origin; // own.url ends with the base path
      const bob = await createUser(own, { prefix: 'bob' });
      const b = api(own.url).as(bob);
      const folder = await b.mkdir(bob.rootId, 'Base');
      const res = await b.post(`/api/nodes/${folder.id}/links`, { permission: 'edit' });
      const l = (await res.json()) as { token: string; davUrl: string };
      expect(l.davUrl).to.equal(`${site}/coffer/public-dav/${l.token}/`);
      const dav = new Dav(site);
      expect((await dav.put(`/coffer/public-dav/${l.token}/a.txt`, 'a')).status).to.equal(201);
      const list = await dav.propfind(`/coffer/public-dav/${l.token}/`, '1');
      expect(await list.text()).to.include(`<D:href>/coffer/public-dav/${l.token}/a.txt</D:href>`);
      const cp = await dav.request('COPY', `/coffer/public-dav/${l.token}/a.txt`, {
        headers: { destination: `${site}/coffer/public-dav/${l.token}/b.txt` },
      });
      expect(cp.status).to.equal(201);
      expect((await fetch(`${site}/public-dav/${l.token}/a.txt`)).status).to.equal(404); // outside the base
    } finally {
      await own.close();
    }
  });

  it('answers 404 once the link has expired (injected clock)', async () => {
    const l = await link({ permission: 'view', expiresAt: new Date(clock.now() + 3600_000).toISOString() });
    expect((await visitor().propfind(`/public-dav/${l.token}/`, '0')).status).to.equal(207);
    clock.advance(3600_001);
    expect((await visitor().propfind(`/public-dav/${l.token}/`, '0')).status).to.equal(404);
    expect((await fetch(`${srv.url}/public-dav/${l.token}/Inner/note.txt`)).status).to.equal(404);
  });

  it('takes the link password as the Basic password: none or a wrong one 401, throttled (429) after the limit', async () => {
    const l = await link({ permission: 'view', password: 'right password' });
    const p = `/public-dav/${l.token}/`;
    const none = await fetch(srv.url + p, { method: 'PROPFIND', headers: { depth: '0' } });
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Basic /);
    expect((await visitor('right password').propfind(p, '0')).status).to.equal(207);
    expect((await visitor('right password').propfind(p, '0')).status).to.equal(207); // a cached check
    for (let i = 0; i < 3; i++) expect((await visitor(`wrong ${i}`).propfind(p, '0')).status).to.equal(401);
    const limited = await visitor('wrong again').propfind(p, '0');
    expect(limited.status).to.equal(429);
    expect(Number(limited.headers.get('retry-after'))).to.be.above(0);
    // Counted before the check: even the right password waits now.
    expect((await visitor('right password 2').propfind(p, '0')).status).to.equal(429);
    clock.advance(16 * 60_000);
    expect((await visitor('right password').propfind(p, '0')).status).to.equal(207);
  });

  it('keeps everything above the link out of reach: "..", encoded slashes, other links, /dav/', async () => {
    const l = await link({ permission: 'edit' });
    const other = await link({ permission: 'edit' }, sibling.id);
    const base = `/public-dav/${l.token}`;
    const auth = { authorization: basic('anyone', 'x') };
    for (const p of [
      `${base}/../Private/secret.txt`,
      `${base}/Inner/../../Private/secret.txt`,
      `${base}/..%2FPrivate%2Fsecret.txt`,
      `${base}/%2E%2E/Private/secret.txt`,
      `${base}/Inner/..%5C..%5CPrivate%5Csecret.txt`,
      `/public-dav/${l.token}%2F..%2F${other.token}/secret.txt`,
    ]) {
      const res = await raw(srv, { method: 'GET', path: p, headers: auth });
      expect(res !== 'aborted' && res.status, p).to.equal(404);
    }
    // A Destination elsewhere is not on this share (RFC 4918 §9.8.4, §9.9.4: 502), and changes nothing.
    const dav = visitor();
    const destinations: [string, number][] = [
      [`${srv.url}/public-dav/${other.token}/stolen.txt`, 502],
      [`/public-dav/${other.token}/stolen.txt`, 502],
      [`${srv.url}/dav/stolen.txt`, 502],
      [`http://elsewhere.example${base}/stolen.txt`, 502],
      // An absolute URI is resolved first (to the other link: 502); in a path ".." is only a name, of no folder.
      [`${srv.url}${base}/../${other.token}/stolen.txt`, 502],
      [`${base}/../${other.token}/stolen.txt`, 409],
    ];
    for (const [destination, status] of destinations) {
      for (const method of ['COPY', 'MOVE']) {
        const res = await dav.request(method, `${base}/Inner/note.txt`, { headers: { destination } });
        expect(res.status, `${method} → ${destination}`).to.equal(status);
        await res.arrayBuffer();
      }
    }
    const privateNames = (await api(srv.url).as(alice).children(sibling.id)).map((n) => n.name);
    expect(privateNames).to.deep.equal(['secret.txt']);
    expect((await api(srv.url).as(alice).children(shared.id)).map((n) => n.name)).to.include('Inner');
    // A link to one file serves that file and nothing beside it.
    const one = await link({ permission: 'view' }, lone.id);
    const file = await fetch(`${srv.url}/public-dav/${one.token}`);
    expect(await file.text()).to.equal('just me');
    const prop = await visitor().propfind(`/public-dav/${one.token}/`, '1');
    expect(prop.status).to.equal(207);
    expect(await prop.text()).to.include(`<D:href>/public-dav/${one.token}</D:href>`);
    expect((await fetch(`${srv.url}/public-dav/${one.token}/Shared`)).status).to.equal(404);
    // Tokens that are not links.
    expect((await fetch(`${srv.url}/public-dav/${'A'.repeat(24)}/`)).status).to.equal(404);
    expect((await fetch(`${srv.url}/public-dav/`)).status).to.equal(404);
  });

  it('works with rclone (copy up, list, copy down byte-identical) against a password link', async function () {
    skipWithout(this, 'rclone', 'version');
    const folder = await api(srv.url).as(alice).mkdir(alice.rootId, 'Rclone');
    const l = await link({ permission: 'edit', password: 'rclone secret' }, folder.id);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-publicdav-'));
    try {
      const src = path.join(tmp, 'up');
      fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
      const files: Record<string, Buffer> = {
        'a.bin': randomBytes(70_000),
        'sub/b ü #.txt': Buffer.from('hello from rclone'),
      };
      for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(src, name), bytes);
      const env = {
        ...process.env,
        RCLONE_CONFIG: path.join(tmp, 'none.conf'),
        RCLONE_CONFIG_LINK_TYPE: 'webdav',
        RCLONE_CONFIG_LINK_URL: l.davUrl,
        RCLONE_CONFIG_LINK_VENDOR: 'other',
        RCLONE_CONFIG_LINK_USER: 'visitor',
        RCLONE_CONFIG_LINK_PASS: spawnSync('rclone', ['obscure', 'rclone secret']).stdout.toString().trim(),
      };
      const rclone = (...args: string[]) => promisify(execFile)('rclone', args, { env, timeout: 120_000 });
      await rclone('copy', src, 'link:');
      const listed = JSON.parse((await rclone('lsjson', '-R', '--files-only', 'link:')).stdout) as { Path: string }[];
      expect(listed.map((e) => e.Path).sort()).to.deep.equal(Object.keys(files).sort());
      const down = path.join(tmp, 'down');
      await rclone('copy', 'link:', down);
      for (const [name, bytes] of Object.entries(files))
        expect(fs.readFileSync(path.join(down, name))).to.deep.equal(bytes);
      const owned = (await api(srv.url).as(alice).children(folder.id)).map((n) => n.name);
      expect(owned).to.have.members(['a.bin', 'sub']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
