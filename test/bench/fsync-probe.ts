/**
 * The fsync bound for `npm run bench:dav`: how many durable small commits per second the disk under
 * a directory allows, measured in that directory (Coffer's data dir, in the same run as the uploads).
 *
 *   tsx test/bench/fsync-probe.ts DIR   → one JSON line on stdout
 *
 * What one small upload needs. Issue 10 gives a small PUT one fsync: its bytes go into the database,
 * so the WAL commit (`synchronous=FULL`) is its only flush. SQLite writes a commit's frames into the
 * WAL file, which already exists and, once a checkpoint has reset it, is overwritten from its start
 * (https://sqlite.org/wal.html, "Checkpointing"): no new file, no rename, no size change, so no
 * directory fsync. The bound is therefore measured as that: 4 KiB written in place into a
 * preallocated file, then fdatasync, in a loop — `fsync_per_s` = loops / elapsed = 1 / mean latency.
 * (A commit writes a few pages, not one; on this kind of disk the flush, not the bytes, is the cost.)
 * Two variants are reported for context, not used for the target:
 *   - append: 4 KiB appended + fdatasync (the file grows, so the filesystem journal commits too —
 *     a WAL before its first reset);
 *   - blob file: the on-disk blob path of a larger upload — new temp file, write, fsync, rename into
 *     place, fsync of the directory;
 *   - sqlite commit: one INSERT of a 4 KiB blob per transaction into a WAL database with
 *     synchronous=FULL (what the one-fsync design costs in practice, checkpoints included).
 * PROBE_SECS (default 1.5) is the time spent on the main loop; each variant gets a third of it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openSqliteFile } from './sqlite-file.js';
import { median } from './stats.js';

const dir = process.argv[2];
if (!dir || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
  console.error('usage: tsx test/bench/fsync-probe.ts DIR (an existing directory on the disk to measure)');
  process.exit(2);
}
const SECS = Number(process.env.PROBE_SECS ?? 1.5);
const PAGE = 4096;
const REGION = 4 * 1024 * 1024; // a WAL of ~1,000 pages: SQLite's default checkpoint threshold
const work = fs.mkdtempSync(path.join(dir, 'fsync-probe-'));

/** Runs `step` for `secs` (at least 20 times); latencies in ms and the rate per second. */
function loop(secs: number, step: (i: number) => void): { ms: number[]; perSecond: number } {
  const ms: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 20 || performance.now() - t0 < secs * 1000; i++) {
    const s = performance.now();
    step(i);
    ms.push(performance.now() - s);
  }
  return { ms, perSecond: ms.length / ((performance.now() - t0) / 1000) };
}

try {
  const page = randomBytes(PAGE);

  // Main: overwrite in place + fdatasync (a WAL commit in steady state).
  const walPath = path.join(work, 'wal');
  const wal = fs.openSync(walPath, 'w+');
  fs.writeSync(wal, Buffer.alloc(REGION), 0, REGION, 0);
  fs.fsyncSync(wal);
  const commit = (i: number) => {
    fs.writeSync(wal, page, 0, PAGE, (i * PAGE) % REGION);
    fs.fdatasyncSync(wal);
  };
  loop(0, commit); // warm-up: 20 commits
  const inPlace = loop(SECS, commit);
  fs.closeSync(wal);

  // Context: append + fdatasync.
  const app = fs.openSync(path.join(work, 'append'), 'a');
  const append = loop(SECS / 3, () => {
    fs.writeSync(app, page);
    fs.fdatasyncSync(app);
  });
  fs.closeSync(app);

  // Context: the on-disk blob path (temp file → fsync → rename → fsync of the directory).
  const placed = path.join(work, 'placed');
  fs.mkdirSync(placed);
  const blobFile = loop(SECS / 3, (i) => {
    const tmp = path.join(work, `${i}.part`);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeSync(fd, page);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(placed, String(i)));
    const d = fs.openSync(placed, 'r');
    fs.fsyncSync(d);
    fs.closeSync(d);
  });

  // Context: a real SQLite commit (WAL, synchronous=FULL), sequential like a c=1 client.
  const sql = await openSqliteFile(path.join(work, 'probe.sqlite'));
  await sql.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)',
  );
  const commits: number[] = [];
  const c0 = performance.now();
  while (commits.length < 20 || performance.now() - c0 < (SECS / 3) * 1000) {
    const s = performance.now();
    await sql.run('INSERT INTO t (b) VALUES (?)', [page]);
    commits.push(performance.now() - s);
  }
  const commitSecs = (performance.now() - c0) / 1000;
  await sql.close();

  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    JSON.stringify({
      fsync_probe: 1,
      dir,
      date: new Date().toISOString(),
      fsync_per_s: Math.round(inPlace.perSecond * 10) / 10,
      fsync_ms_mean: r3(mean(inPlace.ms)),
      fsync_ms_median: r3(median(inPlace.ms)),
      fsync_samples: inPlace.ms.length,
      append_fsync_ms_median: r3(median(append.ms)),
      blob_file_ms_median: r3(median(blobFile.ms)),
      sqlite_commit_ms_median: r3(median(commits)),
      sqlite_commit_per_s: Math.round((commits.length / commitSecs) * 10) / 10,
    }),
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
