/**
 * GET /metrics (Prometheus text format): off without METRICS_TOKEN, 401 without the token, and
 * with it the counts of what this server just did — requests by door, method and status, bytes on
 * the wire, uploads in flight, active locks, database statements — and background job outcomes.
 */
import { expect } from 'chai';
import { systemClock } from '../../server/domain/clock.js';
import { JobRuns } from '../../server/domain/job-runs.js';
import { startScheduler } from '../../server/jobs/scheduler.js';
import { createLog } from '../../server/log.js';
import { Metrics } from '../../server/metrics.js';
import { basic, Dav, davUser } from '../dav/support.js';
import { TEST_POSTGRES } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** The value of one sample line (`name{labels} value`), or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics (/metrics)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
  });
  after(() => srv.close());

  const scrape = async (auth = `Bearer ${TOKEN}`) => {
    const res = await fetch(`${srv.url}/metrics`, { headers: { authorization: auth } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  it('asks for the token: 401 without it or with a wrong one (JSON error), never the figures', async () => {
    for (const auth of ['', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, basic('admin', TOKEN)]) {
      const r = await scrape(auth);
      expect(r.status, auth).to.equal(401);
      expect(JSON.parse(r.text).error.code).to.equal('unauthenticated');
      expect(r.text).to.not.contain('coffer_http_requests_total');
    }
  });

  it('counts requests by door, method and status, the bytes they moved, locks and statements', async () => {
    const u = await davUser(srv);
    const dav = Dav.for(srv, u);
    const body = Buffer.alloc(100_000, 7);
    const before = (await scrape()).text;
    const put = sample(before, 'coffer_http_requests_total{door="dav",method="PUT",status="201"}') ?? 0;
    const inDav = sample(before, 'coffer_http_received_bytes_total{door="dav"}') ?? 0;
    const outDav = sample(before, 'coffer_http_sent_bytes_total{door="dav"}') ?? 0;
    const statements = sample(before, 'coffer_db_statements_total')!;
    expect((await dav.request('PUT', '/dav/m.bin', { body })).status).to.equal(201);
    expect((await dav.request('GET', '/dav/m.bin')).status).to.equal(200);
    expect((await dav.request('GET', '/dav/missing.bin')).status).to.equal(404);
    const lock = await dav.request('LOCK', '/dav/m.bin', {
      headers: { 'content-type': 'application/xml', timeout: 'Second-60' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(lock.status).to.equal(200);
    expect((await fetch(`${srv.url}/api/health`)).status).to.equal(200);

    const r = await scrape();
    expect(r.status).to.equal(200);
    expect(r.type).to.match(/^text\/plain; version=0\.0\.4/);
    const t = r.text;
    expect(sample(t, 'coffer_http_requests_total{door="dav",method="PUT",status="201"}')).to.equal(put + 1);
    expect(sample(t, 'coffer_http_requests_total{door="dav",method="GET",status="404"}')).to.be.at.least(1);
    expect(sample(t, 'coffer_http_requests_total{door="api",method="GET",status="200"}')).to.be.at.least(1);
    expect(sample(t, 'coffer_http_request_duration_seconds_count{door="dav",method="PUT"}')).to.be.at.least(1);
    expect(t).to.contain('coffer_http_request_duration_seconds_bucket{le="0.005",door="dav",method="GET"}');
    expect(sample(t, 'coffer_http_received_bytes_total{door="dav"}')! - inDav).to.be.at.least(body.length);
    expect(sample(t, 'coffer_http_sent_bytes_total{door="dav"}')! - outDav).to.be.at.least(body.length);
    expect(sample(t, 'coffer_locks_active')).to.equal(1);
    expect(sample(t, 'coffer_uploads_in_flight')).to.equal(0);
    expect(sample(t, 'coffer_db_statements_total')).to.be.greaterThan(statements);
    // Pool figures exist only on a pooled engine (PostgreSQL), where the requests above opened connections.
    const pool = (state: string) => sample(t, `coffer_db_pool_connections{state="${state}"}`);
    if (TEST_POSTGRES) {
      expect(pool('busy')! + pool('idle')!).to.be.at.least(1);
      expect(pool('waiting')).to.be.a('number');
    } else expect(t).to.not.contain('coffer_db_pool_connections{');
    expect(t).to.contain('coffer_process_cpu_seconds_total').and.contain('coffer_nodejs_eventloop_lag_seconds');
  });

  it('is off (404) without METRICS_TOKEN, and refuses a token shorter than 16 characters at start', async () => {
    const off = await startTestServer();
    try {
      const res = await fetch(`${off.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).to.equal(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).to.contain('METRICS_TOKEN');
    } finally {
      await off.close();
    }
    let err: unknown;
    await startTestServer({ env: { METRICS_TOKEN: 'short' } }).catch((e) => (err = e));
    expect(String(err)).to.contain('METRICS_TOKEN');
  });

  it('counts background job runs by outcome', async () => {
    const metrics = new Metrics({ uploadsInFlight: () => 0, activeLocks: async () => 0, db: () => srv.app.db.stats() });
    const jobs = startScheduler(
      [
        { name: 'works', schedule: '* * * * *', run: async () => ({}) },
        {
          name: 'breaks',
          schedule: '* * * * *',
          run: async () => {
            throw new Error('on purpose');
          },
        },
      ],
      new JobRuns(srv.app.db, systemClock),
      createLog('silent'),
      (job, ok) => metrics.jobFinished(job, ok),
      { schedule: false },
    );
    // As the clock would: each job is due at the same minute (a fresh one: the server's own jobs use others' names).
    const at = new Date(Date.now() + 3_600_000);
    expect(await jobs.fire('works', at)).to.equal(true);
    expect(await jobs.fire('breaks', at)).to.equal(true);
    const t = await metrics.registry.metrics();
    expect(sample(t, 'coffer_job_runs_total{job="works",outcome="ok"}')).to.equal(1);
    expect(sample(t, 'coffer_job_runs_total{job="breaks",outcome="failed"}')).to.equal(1);
    expect(sample(t, 'coffer_job_runs_total{job="breaks",outcome="ok"}')).to.equal(undefined);
  });
});
