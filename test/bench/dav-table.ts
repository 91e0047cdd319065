/**
 * The tables of `npm run bench:dav`, from compare.sh's JSON lines (one per davbench run) and the
 * fsync probe's (one per round):
 *
 *   tsx test/bench/dav-table.ts [--rounds] RUNS.jsonl FSYNC.jsonl
 *
 * 1. Issue 10's table: medians per server, Apache first, then each Coffer column (`coffer`,
 *    `coffer-relaxed`), and a ratio per Coffer column oriented so that ≥ 1.0 means Coffer is at
 *    least as good as Apache; under PUT 4 KiB the c=1 target, 0.9 × the fsync bound; then the
 *    issue's "Done when" checks.
 * 2. With --rounds: each server's figures round by round (the n-th run of a label is round n, as
 *    compare.sh interleaves them) and last round / round 1 per figure: the stability check
 *    ("round 3 within 20% of round 1": a rate may fall at most 20%, a time or size grow at most 20%).
 */
import fs from 'node:fs';
import { median } from './stats.js';

type Run = Record<string, unknown> & { label: string };
interface Metric {
  key: string;
  /** Higher is better (a rate) or lower (a time, CPU, memory). */
  hib: boolean;
  /** Its own name, for the round-by-round table. */
  name: string;
}
const m = (key: string, hib: boolean, name: string): Metric => ({ key, hib, name });

const args = process.argv.slice(2);
const perRound = args.includes('--rounds');
const [runsFile, fsyncFile] = args.filter((a) => !a.startsWith('--'));
if (!runsFile) {
  console.error('usage: tsx test/bench/dav-table.ts [--rounds] RUNS.jsonl [FSYNC.jsonl]');
  process.exit(2);
}
const jsonLines = (file: string | undefined): Record<string, unknown>[] =>
  file && fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
const runs = jsonLines(runsFile) as Run[];
const probes = jsonLines(fsyncFile);
if (!runs.length) {
  console.error(`no benchmark runs in ${runsFile}`);
  process.exit(1);
}
// Server CPU per request during the wrk phases, derived as the shared summarize.mjs does.
for (const r of runs) {
  const secs = Number(r.wrk_secs);
  if (typeof r.cpu_get_wrk_s === 'number' && r.get4k_c8_rps)
    r.cpu_us_per_get = (1e6 * r.cpu_get_wrk_s) / (Number(r.get4k_c8_rps) * secs);
  if (typeof r.cpu_propfind_wrk_s === 'number' && r.propfind_d0_c8_rps)
    r.cpu_us_per_propfind0 = (1e6 * r.cpu_propfind_wrk_s) / (Number(r.propfind_d0_c8_rps) * secs);
}

const labels = [...new Set(runs.map((r) => r.label))];
const REF = 'apache';
const coffers = labels.filter((l) => l !== REF);
const title = (l: string) => (l === REF ? 'Apache' : l === 'coffer' ? 'Coffer' : l.replace(/^coffer-/, 'Coffer '));
const nums = (label: string, key: string) =>
  runs.filter((r) => r.label === label && typeof r[key] === 'number').map((r) => r[key] as number);
const med = (label: string, key: string): number | null => {
  const xs = nums(label, key);
  return xs.length ? median(xs) : null;
};
/** Oriented ratio: ≥ 1.0 means `ours` is at least as good as `ref`. */
const ratio = (ours: number | null, ref: number | null, hib: boolean): number | null =>
  ours === null || ref === null || ours <= 0 || ref <= 0 ? null : hib ? ours / ref : ref / ours;
const fmt = (x: number | null) =>
  x === null ? 'n/a' : x >= 100 ? String(Math.round(x)) : String(Math.round(x * 10) / 10);
const fmtR = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
const table = (rows: string[][]) =>
  rows.map((r, i) => (i === 1 ? `|${r.map((c) => c).join('|')}|` : `| ${r.join(' | ')} |`)).join('\n');

// ---- 1. the issue's table -----------------------------------------------------------------------
const first = runs[0]!;
const N = Number(first.n_small ?? 1000).toLocaleString('en');
const BIG = Number(first.big_mib ?? 512);
const BIG_T = BIG >= 1024 ? `${BIG / 1024} GiB` : `${BIG} MiB`;
const ROWS: [string, Metric[]][] = [
  ['PROPFIND Depth 0, c=8 (req/s)', [m('propfind_d0_c8_rps', true, 'PROPFIND Depth 0, c=8 (req/s)')]],
  ['GET 4 KiB, c=8 (req/s)', [m('get4k_c8_rps', true, 'GET 4 KiB, c=8 (req/s)')]],
  [
    'PUT 4 KiB, c=1 / c=8 (files/s)',
    [
      m('put4k_c1_files_per_s', true, 'PUT 4 KiB, c=1 (files/s)'),
      m('put4k_c8_files_per_s', true, 'PUT 4 KiB, c=8 (files/s)'),
    ],
  ],
  [`COPY a folder of ${N} files (ms)`, [m('copy_coll_ms', false, `COPY a folder of ${N} (ms)`)]],
  [
    `MOVE / DELETE a folder of ${N} (ms)`,
    [
      m('move_coll_ms', false, `MOVE a folder of ${N} (ms)`),
      m('delete_coll_ms', false, `DELETE a folder of ${N} (ms)`),
    ],
  ],
  [`PROPFIND Depth 1, ${N} children (ms)`, [m('propfind_d1_median_ms', false, `PROPFIND Depth 1, ${N} children (ms)`)]],
  [
    `PUT / GET ${BIG_T} (MB/s)`,
    [m('big_put_mbps', true, `PUT ${BIG_T} (MB/s)`), m('big_get_mbps', true, `GET ${BIG_T} (MB/s)`)],
  ],
  [
    'server CPU per PROPFIND Depth 0 / per GET (µs)',
    [
      m('cpu_us_per_propfind0', false, 'server CPU per PROPFIND Depth 0 (µs)'),
      m('cpu_us_per_get', false, 'server CPU per GET 4 KiB (µs)'),
    ],
  ],
  ['peak RSS (MiB)', [m('mem_rss_peak_mib', false, 'peak RSS (MiB)')]],
];
/** The rows of the issue's own table: "every row ≥ 1.0" is about these (CPU has its own rule). */
const ISSUE_ROWS = 7;

const bound = probes.length ? median(probes.map((p) => Number(p.fsync_per_s))) : null;
const target = bound === null ? null : 0.9 * bound;
const head = ['workload', ...[REF, ...coffers].map(title), ...coffers.map((l) => `${title(l)} / Apache`)];
const body: string[][] = [head, head.map((_, i) => (i === 0 ? '---' : '---:'))];
for (const [name, metrics] of ROWS) {
  const cells = [REF, ...coffers].map((l) => metrics.map((x) => fmt(med(l, x.key))).join(' / '));
  const ratios = coffers.map((l) => metrics.map((x) => fmtR(ratio(med(l, x.key), med(REF, x.key), x.hib))).join(' / '));
  body.push([name, ...cells, ...ratios]);
  if (metrics[0]!.key === 'put4k_c1_files_per_s') {
    const probe = probes.length ? `0.9 × fsync bound ${fmt(bound)}/s (below)` : 'fsync bound not measured';
    body.push([
      `↳ PUT 4 KiB c=1 target: ${probe}`,
      '',
      ...coffers.map(() => (target === null ? 'n/a' : `≥ ${fmt(target)}`)),
      ...coffers.map((l) => {
        const r = ratio(med(l, 'put4k_c1_files_per_s'), target, true);
        return r === null ? 'n/a' : `c=1 / target ${fmtR(r)}`;
      }),
    ]);
  }
}
const scale = first.n_small !== 1000 || BIG !== 512 ? ' — NB: --quick sizes, not the issue’s' : '';
console.log(
  `\nCoffer beside Apache mod_dav: medians of ${Math.max(...labels.map((l) => nums(l, 'elapsed_s').length))} interleaved round(s); ratio ≥ 1.0 = Coffer at least as good${scale}\n`,
);
console.log(table(body));

if (probes.length) {
  const p = (k: string, digits = 3) => median(probes.map((x) => Number(x[k]))).toFixed(digits);
  console.log(
    `\nfsync bound = 1 / mean latency of a 4 KiB in-place write + fdatasync in Coffer's data dir (a WAL commit;` +
      ` see fsync-probe.ts), measured before each round: ${probes.map((x) => `${fmt(Number(x.fsync_per_s))}/s`).join(', ')};` +
      ` median latency ${p('fsync_ms_median')} ms.` +
      `\n  For context (medians): 4 KiB append + fdatasync ${p('append_fsync_ms_median')} ms; a new blob file (write, fsync,` +
      ` rename, directory fsync) ${p('blob_file_ms_median')} ms; a SQLite WAL commit of one 4 KiB row (synchronous=FULL)` +
      ` ${p('sqlite_commit_ms_median')} ms = ${p('sqlite_commit_per_s', 0)} commits/s.`,
  );
}
const foreign = runs.map((r) => Number(r.foreign_cpu_s)).filter((x) => Number.isFinite(x));
if (foreign.length)
  console.log(
    `other processes' CPU during the runs (s; ~0 = clean): ${foreign.map((x) => fmt(x)).join(', ')} — ` +
      `runs: ${labels.map((l) => `${l} ×${nums(l, 'elapsed_s').length}`).join(', ')}`,
  );

// ---- the "Done when" checks ---------------------------------------------------------------------
const mark = (ok: boolean | null) => (ok === null ? 'n/a ' : ok ? 'PASS' : 'FAIL');
const checks: string[] = [];
for (const l of coffers) {
  const rel = l !== 'coffer';
  const rowsBelow: string[] = [];
  for (const [, metrics] of ROWS.slice(0, ISSUE_ROWS))
    for (const x of metrics) {
      if (x.key === 'put4k_c1_files_per_s') continue;
      const r = ratio(med(l, x.key), med(REF, x.key), x.hib);
      if (r === null || r < 1) rowsBelow.push(`${x.name.replace(/ \(.*$/, '')} ${fmtR(r)}`);
    }
  if (!rel) {
    checks.push(
      `${mark(rowsBelow.length === 0)} ${title(l)}: every row ≥ 1.0 except PUT c=1${rowsBelow.length ? ` — below: ${rowsBelow.join('; ')}` : ''}`,
    );
    const c1 = med(l, 'put4k_c1_files_per_s');
    const note =
      target !== null && med(REF, 'put4k_c1_files_per_s') !== null && target > med(REF, 'put4k_c1_files_per_s')!
        ? ` (NB: the target is above Apache's own c=1 rate, ${fmt(med(REF, 'put4k_c1_files_per_s'))}/s, and Apache does not fsync: this disk's flush is not what limits c=1)`
        : '';
    checks.push(
      `${mark(c1 === null || target === null ? null : c1 >= target)} ${title(l)}: PUT 4 KiB c=1 ${fmt(c1)}/s ≥ 0.9 × fsync bound = ${fmt(target)}/s${note}`,
    );
    for (const k of ['cpu_us_per_propfind0', 'cpu_us_per_get']) {
      const ours = med(l, k);
      const ref = med(REF, k);
      checks.push(
        `${mark(ours === null || ref === null ? null : ours <= 1.5 * ref)} ${title(l)}: server CPU per ${k === 'cpu_us_per_get' ? 'GET 4 KiB' : 'PROPFIND Depth 0'} ${fmt(ours)} µs ≤ 1.5 × Apache's ${fmt(ref)} µs`,
      );
    }
  } else {
    for (const k of ['put4k_c1_files_per_s', 'put4k_c8_files_per_s']) {
      const r = ratio(med(l, k), med(REF, k), true);
      checks.push(
        `${mark(r === null ? null : r >= 1)} ${title(l)}: PUT 4 KiB ${k.includes('c1') ? 'c=1' : 'c=8'} ≥ 1.0 × Apache: ${fmtR(r)}`,
      );
    }
  }
}
if (med(REF, 'propfind_d0_c8_rps') !== null)
  console.log(`\nissue 10, "Done when":\n${checks.map((c) => `  ${c}`).join('\n')}`);

// ---- 2. round by round ---------------------------------------------------------------------------
if (perRound) {
  const PER = ROWS.flatMap(([, metrics]) => metrics);
  for (const l of [...coffers, REF]) {
    const n = nums(l, 'elapsed_s').length;
    if (n < 2) continue;
    const rh = [
      'workload',
      ...Array.from({ length: n }, (_, i) => `round ${i + 1}`),
      `round ${n} / round 1`,
      'within 20%',
    ];
    const rows: string[][] = [rh, rh.map((_, i) => (i === 0 ? '---' : '---:'))];
    for (const x of PER) {
      const vals = runs
        .filter((r) => r.label === l)
        .map((r) => (typeof r[x.key] === 'number' ? (r[x.key] as number) : null));
      if (vals.every((v) => v === null)) continue;
      const a = vals[0]!;
      const z = vals[n - 1]!;
      const raw = a === null || z === null || a === 0 ? null : z / a;
      const ok = raw === null ? null : x.hib ? raw >= 0.8 : raw <= 1.2;
      rows.push([x.name, ...vals.map(fmt), fmtR(raw), ok === null ? 'n/a' : ok ? 'yes' : 'NO']);
    }
    const what =
      l === REF ? ' (the control: drift of the machine, not of the server)' : ', one server, never restarted';
    console.log(`\n${title(l)}, round by round${what}:\n\n${table(rows)}`);
  }
}
