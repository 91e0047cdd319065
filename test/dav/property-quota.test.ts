/**
 * WebDAV dead properties are stored data: they count toward the owner's quota (in /api/auth/me
 * and the RFC 4331 quota-used-bytes), one resource's properties are capped
 * (DAV_MAX_PROPERTY_BYTES), a PROPPATCH that cannot be recorded fails as a whole with 507 for its
 * properties (RFC 4918 §9.2), COPY charges the copy, and purging frees them.
 */
import { expect } from 'chai';
import { runMigrations } from '../../server/db/migrate.js';
import { migrationRules } from '../../server/domain/migration-rules.js';
import { api } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy, usedBytes } from '../support/store.js';
import { Dav, davUser, type DavUser } from './support.js';

const NS = 'urn:example:props';
const CAP = 4096;

const setProps = (props: Record<string, string>) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${NS}"><D:set><D:prop>` +
  Object.entries(props)
    .map(([k, v]) => `<Z:${k}>${v}</Z:${k}>`)
    .join('') +
  '</D:prop></D:set></D:propertyupdate>';
const removeProps = (...names: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${NS}"><D:remove><D:prop>` +
  names.map((n) => `<Z:${n}/>`).join('') +
  '</D:prop></D:remove></D:propertyupdate>';
/** What a property row stores: namespace, name and value (here plain ASCII text). */
const bytesOf = (name: string, value: string) => NS.length + name.length + value.length;

/** status line → property names in that propstat. */
function propstats(xml: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of xml.matchAll(
    /<D:propstat><D:prop>([\s\S]*?)<\/D:prop><D:status>HTTP\/1\.1 (\d{3})[^<]*<\/D:status><\/D:propstat>/g,
  )) {
    out[m[2]!] = [...m[1]!.matchAll(/<(?:[\w-]+:)?([\w-]+)[\s/>]/g)].map((x) => x[1]!);
  }
  return out;
}

describe('WebDAV dead properties count toward the quota', function () {
  this.timeout(60_000);
  let srv: TestServer;
  let u: DavUser;
  let dav: Dav;
  before(async () => {
    srv = await startTestServer({ env: { DAV_MAX_PROPERTY_BYTES: String(CAP) } });
    u = await davUser(srv, { quotaBytes: 64 * 1024 });
    dav = Dav.for(srv, u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const me = async () =>
    (await api(srv.url).as(u).json(api(srv.url).as(u).get('/api/auth/me'))).user as { usedBytes: number };
  const quotaUsed = async () => {
    const xml = await (
      await dav.propfind('/dav/', '0', '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>')
    ).text();
    return Number(/<D:quota-used-bytes>(\d+)</.exec(xml)?.[1]);
  };
  const stored = async (path: string, name: string, client = dav) =>
    await (
      await client.propfind(
        path,
        '0',
        `<D:propfind xmlns:D="DAV:" xmlns:Z="${NS}"><D:prop><Z:${name}/></D:prop></D:propfind>`,
      )
    ).text();

  it('charges a property to usedBytes and quota-used-bytes, and gives it back when removed', async () => {
    expect((await dav.put('/dav/a.txt', 'hello')).status).to.equal(201);
    const before = await usedBytes(srv, u.id);
    const value = 'x'.repeat(1000);
    const res = await dav.request('PROPPATCH', '/dav/a.txt', { body: setProps({ note: value }) });
    expect(res.status).to.equal(207);
    expect(propstats(await res.text())['200']).to.deep.equal(['note']);
    const charged = before + bytesOf('note', value);
    expect(await usedBytes(srv, u.id)).to.equal(charged);
    expect((await me()).usedBytes).to.equal(charged);
    expect(await quotaUsed()).to.equal(charged);
    // Replacing the value charges only the difference.
    await (await dav.request('PROPPATCH', '/dav/a.txt', { body: setProps({ note: 'short' }) })).text();
    expect(await usedBytes(srv, u.id)).to.equal(before + bytesOf('note', 'short'));
    await (await dav.request('PROPPATCH', '/dav/a.txt', { body: removeProps('note') })).text();
    expect(await usedBytes(srv, u.id)).to.equal(before);
  });

  it('refuses properties over the per-resource cap with 507 in the multistatus, storing none of them', async () => {
    expect((await dav.put('/dav/capped.txt', 'c')).status).to.equal(201);
    const before = await usedBytes(srv, u.id);
    const res = await dav.request('PROPPATCH', '/dav/capped.txt', {
      body: setProps({ small: 'ok', big: 'y'.repeat(CAP) }),
    });
    expect(res.status).to.equal(207);
    const stats = propstats(await res.text());
    expect(stats['507']?.sort()).to.deep.equal(['big', 'small']);
    expect(stats['200']).to.equal(undefined);
    expect(await stored('/dav/capped.txt', 'small')).to.match(/404 Not Found/);
    expect(await usedBytes(srv, u.id)).to.equal(before);
    // Several PROPPATCHes cannot add up past the cap either; a set and a remove in one request fail together.
    await (await dav.request('PROPPATCH', '/dav/capped.txt', { body: setProps({ one: 'z'.repeat(CAP / 2) }) })).text();
    const second = await dav.request('PROPPATCH', '/dav/capped.txt', {
      body:
        `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${NS}"><D:remove><D:prop><Z:one/></D:prop></D:remove>` +
        `<D:set><D:prop><Z:two>${'z'.repeat(CAP / 2)}</Z:two><Z:three>${'z'.repeat(CAP / 2)}</Z:three></D:prop></D:set></D:propertyupdate>`,
    });
    const s2 = propstats(await second.text());
    expect(s2['507']?.sort()).to.deep.equal(['three', 'two']);
    expect(s2['424']).to.deep.equal(['one']);
    expect(await stored('/dav/capped.txt', 'one')).to.include('HTTP/1.1 200 OK');
  });

  it('refuses a property the quota cannot hold with 507 (and nothing stored)', async () => {
    const small = await davUser(srv, { quotaBytes: 3000 });
    const d = Dav.for(srv, small);
    expect((await d.put('/dav/f.bin', 'q'.repeat(2500))).status).to.equal(201);
    const res = await d.request('PROPPATCH', '/dav/f.bin', { body: setProps({ note: 'n'.repeat(1000) }) });
    expect(propstats(await res.text())['507']).to.deep.equal(['note']);
    expect(await usedBytes(srv, small.id)).to.equal(2500);
  });

  it('charges a COPY for the properties it copies, and a purge frees them', async () => {
    const v = await davUser(srv, { quotaBytes: 64 * 1024 });
    const d = Dav.for(srv, v);
    expect((await d.put('/dav/src.txt', '12345')).status).to.equal(201);
    const value = 'p'.repeat(2000);
    await (await d.request('PROPPATCH', '/dav/src.txt', { body: setProps({ note: value }) })).text();
    const one = 5 + bytesOf('note', value);
    expect(await usedBytes(srv, v.id)).to.equal(one);
    const copy = await d.request('COPY', '/dav/src.txt', { headers: { destination: `${srv.url}/dav/copy.txt` } });
    expect(copy.status).to.equal(201);
    expect(await stored('/dav/copy.txt', 'note', d)).to.include(value);
    expect(await usedBytes(srv, v.id)).to.equal(2 * one);
    // To the bin: still counted; purged: freed.
    const a = api(srv.url).as(v);
    const node = (await a.children(v.rootId)).find((n) => n.name === 'copy.txt')!;
    expect((await d.request('DELETE', '/dav/copy.txt')).status).to.equal(204);
    expect(await usedBytes(srv, v.id)).to.equal(2 * one);
    expect((await a.delete(`/api/trash/${node.id}`)).status).to.be.oneOf([200, 204]);
    expect(await usedBytes(srv, v.id)).to.equal(one);
    expect((await a.json(a.get('/api/auth/me'))).user.usedBytes).to.equal(one);
  });

  it("migration 006 records the bytes of properties stored before it and adds them to their owners' usage", async () => {
    const w = await davUser(srv, { quotaBytes: 64 * 1024 });
    const d = Dav.for(srv, w);
    expect((await d.put('/dav/old.txt', 'old')).status).to.equal(201);
    const value = 'm'.repeat(300);
    await (await d.request('PROPPATCH', '/dav/old.txt', { body: setProps({ legacy: value }) })).text();
    const db = srv.app.db;
    const charged = await usedBytes(srv, w.id);
    expect(charged).to.equal(3 + bytesOf('legacy', value));
    // Back to the schema before 006: no bytes column, and everyone's usage without properties.
    await db.tx(async (tx) => {
      await tx.run(`UPDATE users SET used_bytes = used_bytes -
        (SELECT COALESCE(SUM(p.bytes), 0) FROM properties p JOIN nodes n ON n.id = p.node_id WHERE n.owner_id = users.id)`);
      await tx.run('ALTER TABLE properties DROP COLUMN bytes');
      await tx.run(`DELETE FROM schema_migrations WHERE name = '006-property-bytes'`);
    });
    expect(await usedBytes(srv, w.id)).to.equal(3);
    await runMigrations(db, migrationRules);
    const row = await db.get<{ bytes: unknown }>(`SELECT bytes FROM properties WHERE name = 'legacy'`);
    expect(Number(row?.bytes)).to.equal(bytesOf('legacy', value));
    expect(await usedBytes(srv, w.id)).to.equal(charged);
  });
});
