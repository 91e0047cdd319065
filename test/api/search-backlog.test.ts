/**
 * SQLite's search backlog (021-search-backlog.ts): names reach the FTS5 index in batches, and until
 * then a search reads them from the backlog. Whatever happens to a name before or after it is
 * indexed — renamed, binned, purged, its rowid reused — the search answers as if every name were
 * indexed at once, and the index checked against the table (FTS5 'integrity-check') stays whole.
 */
import { expect } from 'chai';
import { indexWholeBacklog } from '../../server/db/search-backlog.js';
import { skipOnPostgres } from '../support/database.js';
import { api, createUser, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('search backlog (SQLite)', function () {
  let srv: TestServer;
  let alice: TestUser;

  before(async function () {
    skipOnPostgres(this, 'the backlog is how the SQLite FTS5 index is kept; PostgreSQL has pg_trgm');
    srv = await startTestServer();
    alice = await createUser(srv, { prefix: 'alice' });
  });
  after(() => srv?.close());

  const found = async (q: string): Promise<string[]> => {
    const res = await api(srv.url)
      .as(alice)
      .get(`/api/search?q=${encodeURIComponent(q)}`);
    expect(res.status).to.equal(200);
    return ((await res.json()).items as { name: string }[]).map((h) => h.name).sort();
  };
  const mark = async () => Number((await srv.app.db.get<{ m: unknown }>('SELECT indexed_to AS m FROM search_mark'))!.m);
  const maxRowid = async () => Number((await srv.app.db.get<{ m: unknown }>('SELECT MAX(rowid) AS m FROM nodes'))!.m);
  /** Rows the FTS5 index itself holds for a trigram query (not the backlog). */
  const indexed = async (q: string) =>
    (await srv.app.db.all<{ rowid: number }>('SELECT rowid FROM nodes_fts WHERE nodes_fts MATCH $q', { q })).length;
  const flush = () => indexWholeBacklog(srv.app.db);
  const integrityCheck = () => srv.app.db.run("INSERT INTO nodes_fts (nodes_fts, rank) VALUES ('integrity-check', 1)");

  it('finds a new name at once from the backlog, and from the index once it is indexed', async () => {
    const a = api(srv.url).as(alice);
    await flush();
    await a.upload(alice.rootId, 'okapi-notes.txt', 'o');
    expect(await maxRowid()).to.be.above(await mark());
    expect(await indexed('okapi')).to.equal(0);
    expect(await found('okapi')).to.deep.equal(['okapi-notes.txt']);
    await flush();
    expect(await mark()).to.equal(await maxRowid());
    expect(await indexed('okapi')).to.equal(1);
    expect(await found('okapi')).to.deep.equal(['okapi-notes.txt']);
    await integrityCheck();
  });

  it('renames, bins and purges names in the backlog and in the index alike', async () => {
    const a = api(srv.url).as(alice);
    const old = await a.upload(alice.rootId, 'walrus-old.txt', 'w');
    const gone = await a.upload(alice.rootId, 'walrus-gone.txt', 'g');
    await flush();
    const fresh = await a.upload(alice.rootId, 'walrus-fresh.txt', 'f');
    const brief = await a.upload(alice.rootId, 'walrus-brief.txt', 'b');
    // One renamed on each side of the mark, one purged on each side.
    expect((await a.patch(`/api/nodes/${old.id}`, { name: 'walrus-renamed.txt' })).status).to.equal(200);
    expect((await a.patch(`/api/nodes/${fresh.id}`, { name: 'walrus-new.txt' })).status).to.equal(200);
    for (const id of [gone.id, brief.id]) {
      expect((await a.delete(`/api/nodes/${id}`)).status).to.equal(204);
      expect((await a.delete(`/api/trash/${id}`)).status).to.equal(200);
    }
    expect(await found('walrus')).to.deep.equal(['walrus-new.txt', 'walrus-renamed.txt']);
    await flush();
    expect(await found('walrus')).to.deep.equal(['walrus-new.txt', 'walrus-renamed.txt']);
    await integrityCheck();
  });

  it('indexes at once a row inserted at or below the mark (SQLite reuses the largest rowid once its row is gone)', async () => {
    const a = api(srv.url).as(alice);
    const last = await a.upload(alice.rootId, 'narwhal-last.txt', 'l');
    await flush();
    const rowid = await maxRowid();
    expect((await a.delete(`/api/nodes/${last.id}`)).status).to.equal(204);
    expect((await a.delete(`/api/trash/${last.id}`)).status).to.equal(200);
    await a.upload(alice.rootId, 'narwhal-reused.txt', 'r');
    expect(await maxRowid()).to.equal(rowid);
    expect(await mark()).to.equal(rowid);
    expect(await indexed('narwhal')).to.equal(1);
    expect(await found('narwhal')).to.deep.equal(['narwhal-reused.txt']);
    await flush();
    await integrityCheck();
  });

  it('is indexed by the server itself within a few seconds', async () => {
    await api(srv.url).as(alice).upload(alice.rootId, 'quokka.txt', 'q');
    const target = await maxRowid();
    const deadline = Date.now() + 10_000;
    while ((await mark()) < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await mark()).to.be.at.least(target);
    expect(await indexed('quokka')).to.equal(1);
    await integrityCheck();
  });
});
