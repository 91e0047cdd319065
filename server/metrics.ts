/**
 * Prometheus metrics (`GET /metrics`, text format, behind METRICS_TOKEN), with prom-client: requests
 * by door, method and status with a latency histogram, bytes on the wire per door, uploads in flight,
 * active locks, background job runs and failures, the database's statement and commit counts, and
 * the process's own (CPU, memory, event loop lag, GC).
 *
 * What a request costs here is a listener and two label lookups (~2 µs against ~250 µs for the
 * smallest request); the gauges that need a query (locks) run only when scraped.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Door = 'dav' | 'api' | 'console' | 'content';

/** What the gauges read when scraped. */
export interface MetricSources {
  uploadsInFlight(): number;
  activeLocks(): Promise<number>;
  db(): {
    statements: number;
    commits: number;
    transactions: number;
    pool?: { total: number; idle: number; waiting: number };
  };
}

// Methods outside this list count as "other": a client cannot grow the label set.
const METHODS = new Set([
  'GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'MKCOL',
  'COPY', 'MOVE', 'LOCK', 'UNLOCK',
]); // prettier-ignore

let processMetrics: Registry | undefined;
/** The process's own metrics (CPU, memory, event loop lag, GC): collected once per process, not per app. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'coffer_' });
  }
  return processMetrics;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'door' | 'method' | 'status'>;
  private readonly duration: Histogram<'door' | 'method'>;
  private readonly bytesIn: Counter<'door'>;
  private readonly bytesOut: Counter<'door'>;
  private readonly jobRuns: Counter<'job' | 'outcome'>;
  /** Per connection: its byte counts when its last request was counted. */
  private readonly marks = new WeakMap<object, { read: number; written: number }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'coffer_http_requests_total',
      help: 'HTTP requests answered, by door, method and status ("aborted": the connection closed first)',
      labelNames: ['door', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'coffer_http_request_duration_seconds',
      help: 'Time from a request to the end of its response, by door and method',
      labelNames: ['door', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'coffer_http_received_bytes_total',
      help: 'Bytes received on the wire (headers and bodies), by door',
      labelNames: ['door'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'coffer_http_sent_bytes_total',
      help: 'Bytes sent on the wire (headers and bodies), by door',
      labelNames: ['door'],
      registers,
    });
    this.jobRuns = new Counter({
      name: 'coffer_job_runs_total',
      help: 'Background job runs, by job and outcome (ok, failed)',
      labelNames: ['job', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'coffer_uploads_in_flight',
      help: 'Uploads this process is receiving now',
      registers,
      collect() {
        this.set(sources.uploadsInFlight());
      },
    });
    new Gauge({
      name: 'coffer_locks_active',
      help: 'Unexpired WebDAV locks',
      registers,
      async collect() {
        this.set(await sources.activeLocks());
      },
    });
    // Running totals kept by the executor: reported as counters, set to the executor's value when scraped.
    const fromDb = (name: string, help: string, read: (s: ReturnType<MetricSources['db']>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(sources.db()));
        },
      });
    fromDb('coffer_db_statements_total', 'SQL statements run', (s) => s.statements);
    fromDb('coffer_db_commits_total', 'Database commits (a group commit is one)', (s) => s.commits);
    fromDb(
      'coffer_db_transactions_total',
      'Transactions committed (several may share a commit)',
      (s) => s.transactions,
    );
    // Only a pooled engine (PostgreSQL) has these; on SQLite the gauge has no samples.
    new Gauge({
      name: 'coffer_db_pool_connections',
      help: 'Database pool connections, by state (busy, idle, waiting: requests queued for one)',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sources.db().pool;
        if (!pool) return;
        this.set({ state: 'busy' }, pool.total - pool.idle);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  /**
   * Counts the request once its response has ended or its connection has closed. Bytes are the
   * socket's since the previous request on it ended: a body read ahead of the handler still counts
   * (to one request or the next on a kept-alive connection: the totals per door stay exact).
   */
  track(door: Door, req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const socket = req.socket;
    const method = METHODS.has(req.method ?? '') ? req.method! : 'other';
    res.once('close', () => {
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      this.requests.inc({ door, method, status });
      this.duration.observe({ door, method }, (performance.now() - started) / 1000);
      const mark = this.marks.get(socket) ?? { read: 0, written: 0 };
      this.bytesIn.inc({ door }, Math.max(0, socket.bytesRead - mark.read));
      this.bytesOut.inc({ door }, Math.max(0, socket.bytesWritten - mark.written));
      this.marks.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    });
  }

  jobFinished(job: string, ok: boolean): void {
    this.jobRuns.inc({ job, outcome: ok ? 'ok' : 'failed' });
  }

  /**
   * Answers GET /metrics: 404 when no METRICS_TOKEN is configured (off), 401 without the right
   * bearer token (compared in constant time), 503 when a figure cannot be read, else the text format.
   */
  async serve(token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, code: string, message: string) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-store');
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="coffer-metrics"');
      res.end(JSON.stringify({ error: { code, message } }));
    };
    if (!token) return json(404, 'not_found', 'Metrics are off: set METRICS_TOKEN to turn them on');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, 'invalid_input', 'Use GET');
    const given = Buffer.from(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '');
    const want = Buffer.from(token);
    if (given.length !== want.length || !timingSafeEqual(given, want))
      return json(401, 'unauthenticated', 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>');
    let text: string;
    try {
      text = await Registry.merge([processRegistry(), this.registry]).metrics();
    } catch {
      return json(503, 'unavailable', 'The metrics could not be read now'); // a gauge's query failed
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', this.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}
