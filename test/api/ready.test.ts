/**
 * GET /api/ready: 200 only while every dependency answers — the database (a real query), its schema
 * against this build's migrations, the blob store's directories — and 503 naming what is wrong, in
 * words that leak no path or driver message. /api/health stays 200 throughout (liveness).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';

interface ReadyBody {
  status: string;
  error?: { code: string; message: string };
  checks: { name: string; ok: boolean; problem?: string; ms: number }[];
}

async function ready(
  srv: TestServer,
): Promise<{ status: number; body: ReadyBody; text: string; cache: string | null }> {
  const res = await fetch(`${srv.url}/api/ready`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as ReadyBody, text, cache: res.headers.get('cache-control') };
}
const check = (b: ReadyBody, name: string) => b.checks.find((c) => c.name === name)!;

describe('readiness (/api/ready)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('answers 200 without credentials when the database, the schema and the blob store are fine', async () => {
    const r = await ready(srv);
    expect(r.status).to.equal(200);
    expect(r.cache).to.equal('no-store');
    expect(r.body.status).to.equal('ready');
    expect(r.body.checks.map((c) => [c.name, c.ok])).to.deep.equal([
      ['database', true],
      ['schema', true],
      ['blobStore', true],
    ]);
  });

  it('answers 503 while the blob store is gone (a lost mount), without naming its path, and 200 once it is back', async () => {
    // On the local disk its folder goes away; on S3 its bucket (s3rver's folder for it: HeadBucket answers 404).
    const blobs = srv.s3 ? path.join(srv.s3.server.dir, srv.s3.bucket) : path.join(srv.dataDir, 'blobs');
    fs.renameSync(blobs, `${blobs}.away`);
    try {
      const r = await ready(srv);
      expect(r.status).to.equal(503);
      expect(r.body.status).to.equal('not_ready');
      expect(r.body.error?.code).to.equal('not_ready');
      expect(check(r.body, 'blobStore')).to.include({
        ok: false,
        problem: 'the blob store cannot be read and written',
      });
      expect(check(r.body, 'database').ok).to.equal(true);
      expect(r.text).to.not.contain(srv.dataDir);
      expect((await fetch(`${srv.url}/api/health`)).status).to.equal(200);
    } finally {
      fs.renameSync(`${blobs}.away`, blobs);
    }
    expect((await ready(srv)).status).to.equal(200);
  });

  it('answers 503 when a newer build has migrated the database (a rolling upgrade half done)', async () => {
    await srv.app.db.run("INSERT INTO schema_migrations (name, applied_at) VALUES ('999-from-a-newer-build', 0)");
    try {
      const r = await ready(srv);
      expect(r.status).to.equal(503);
      expect(check(r.body, 'schema').ok).to.equal(false);
      expect(check(r.body, 'schema').problem).to.contain('999-from-a-newer-build').and.contain('upgrade this instance');
      expect(r.body.error?.message).to.equal(check(r.body, 'schema').problem);
    } finally {
      await srv.app.db.run("DELETE FROM schema_migrations WHERE name = '999-from-a-newer-build'");
    }
    expect((await ready(srv)).status).to.equal(200);
  });

  it('answers 503 when the database cannot be queried, and does not check the schema then', async () => {
    const own = await startTestServer();
    try {
      await own.app.db.close();
      const r = await ready(own);
      expect(r.status).to.equal(503);
      expect(check(r.body, 'database')).to.include({ ok: false, problem: 'the database cannot be queried' });
      expect(check(r.body, 'schema')).to.include({ ok: false, problem: 'not checked: the database cannot be queried' });
      expect(check(r.body, 'blobStore').ok).to.equal(true);
    } finally {
      await own.close().catch(() => {});
    }
  });
});
