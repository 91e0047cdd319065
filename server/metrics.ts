/**
 * Prometheus metrics (`GET /metrics`, text format, behind METRICS_TOKEN), with prom-client: requests
 * by door, method and status with a latency histogram, bytes on the wire per door, uploads in flight,
 * active locks, background job runs and failures, the database's statement and commit counts, and
 * the process's own (CPU, memory, event loop lag, GC).
 *
 * What a request costs here is a 'close' listener, one cached label lookup and one histogram
 * observation (~6 µs of a 4 KiB GET's ~88, measured by turning tracking off): its counts are plain
 * numbers, handed to prom-client only when scraped, since prom-client hashes and checks the labels
 * on every inc(), even a bound child's (three of those cost ~3 µs more). The gauges that need a
 * query (locks) also run only when scraped.
 */
import cluster, { type Worker } from 'node:cluster';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type PrometheusContentType,
} from 'prom-client';

export type Door = 'dav' | 'api' | 'console' | 'content';

interface Series {
  labels: { door: Door; method: string; status: string };
  requests: number;
  duration: ReturnType<Histogram<'door' | 'method'>['labels']>;
}

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
  private readonly duration: Histogram<'door' | 'method'>;
  private readonly jobRuns: Counter<'job' | 'outcome'>;
  /** Label sets seen so far (bounded: door × known method × status), with their request counts. */
  private readonly series = new Map<string, Series>();
  /** Bytes on the wire per door, since the process started. */
  private readonly wire = new Map<Door, { read: number; written: number }>();
  /** Per connection: its byte counts when its last request was counted. */
  private readonly marks = new WeakMap<object, { read: number; written: number }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    if (cluster.isWorker) {
      // A worker answers the primary's requests for its figures (prom-client's cluster protocol).
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([processRegistry(), this.registry]);
    }
    const series = this.series;
    const wire = this.wire;
    new Counter({
      name: 'coffer_http_requests_total',
      help: 'HTTP requests answered, by door, method and status ("aborted": the connection closed first)',
      labelNames: ['door', 'method', 'status'],
      registers,
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(s.labels, s.requests);
      },
    });
    this.duration = new Histogram({
      name: 'coffer_http_request_duration_seconds',
      help: 'Time from a request to the end of its response, by door and method',
      labelNames: ['door', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
    new Counter({
      name: 'coffer_http_received_bytes_total',
      help: 'Bytes received on the wire (headers and bodies), by door',
      labelNames: ['door'],
      registers,
      collect() {
        this.reset();
        for (const [door, w] of wire) this.inc({ door }, w.read);
      },
    });
    new Counter({
      name: 'coffer_http_sent_bytes_total',
      help: 'Bytes sent on the wire (headers and bodies), by door',
      labelNames: ['door'],
      registers,
      collect() {
        this.reset();
        for (const [door, w] of wire) this.inc({ door }, w.written);
      },
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
      aggregator: 'first', // read from the database: the same figure in every worker, not one each
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
    // 'close' comes once per response (also after 'finish'): no once() wrapper needed.
    res.on('close', () => {
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      const s = this.seriesOf(door, method, status);
      s.requests++;
      s.duration.observe((performance.now() - started) / 1000);
      let mark = this.marks.get(socket);
      if (!mark) this.marks.set(socket, (mark = { read: 0, written: 0 }));
      let w = this.wire.get(door);
      if (!w) this.wire.set(door, (w = { read: 0, written: 0 }));
      w.read += Math.max(0, socket.bytesRead - mark.read);
      w.written += Math.max(0, socket.bytesWritten - mark.written);
      mark.read = socket.bytesRead;
      mark.written = socket.bytesWritten;
    });
  }

  /** The series a request counts on, looked up once per label set. */
  private seriesOf(door: Door, method: string, status: string): Series {
    const key = `${door} ${method} ${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { door, method, status }, requests: 0, duration: this.duration.labels({ door, method }) };
      this.series.set(key, s);
    }
    return s;
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
      // Under WORKERS > 1 a scrape reaches one worker: it answers with the figures of all of them.
      text = cluster.isWorker
        ? await fromPrimary()
        : await Registry.merge([processRegistry(), this.registry]).metrics();
    } catch {
      return json(503, 'unavailable', 'The metrics could not be read now'); // a gauge's query failed
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', this.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}

interface ScrapeRequest {
  kind: 'coffer:metrics';
  id: number;
}
interface ScrapeAnswer {
  kind: 'coffer:metrics-text';
  id: number;
  text?: string;
  error?: string;
}
const SCRAPE_TIMEOUT_MS = 5000;
const scrapes = new Map<number, (a: ScrapeAnswer) => void>();
let nextScrape = 0;

/** In a worker: every worker's figures, summed by the primary (below). */
function fromPrimary(): Promise<string> {
  if (nextScrape === 0)
    process.on('message', (m: ScrapeAnswer) => {
      if (m?.kind === 'coffer:metrics-text') scrapes.get(m.id)?.(m);
    });
  const id = ++nextScrape;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle({ kind: 'coffer:metrics-text', id, error: 'timed out' }), SCRAPE_TIMEOUT_MS);
    const settle = (a: ScrapeAnswer) => {
      clearTimeout(timer);
      scrapes.delete(id);
      if (a.text !== undefined) resolve(a.text);
      else reject(new Error(a.error));
    };
    scrapes.set(id, settle);
    process.send!({ kind: 'coffer:metrics', id } satisfies ScrapeRequest);
  });
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;
/** In the primary: answers a worker's scrape with the figures of all workers (counters and histograms summed). */
export function answerScrapes(worker: Worker): void {
  aggregator ??= new AggregatorRegistry<PrometheusContentType>();
  const all = aggregator;
  worker.on('message', (m: ScrapeRequest) => {
    if (m?.kind !== 'coffer:metrics') return;
    const reply = (a: Omit<ScrapeAnswer, 'kind' | 'id'>) => {
      if (worker.isConnected()) worker.send({ kind: 'coffer:metrics-text', id: m.id, ...a } satisfies ScrapeAnswer);
    };
    all.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: String(err) }),
    );
  });
}
