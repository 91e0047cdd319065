/**
 * Background job runs across instances: one row per job with the run (`slot`, its scheduled time)
 * last claimed, who claimed it and until when their lease holds. A claim is one conditional UPDATE
 * (compare-and-set), so of the instances whose schedulers fire for the same run exactly one wins,
 * on SQLite (one writer at a time) as on PostgreSQL (the second UPDATE waits for the first's row
 * lock and re-checks its WHERE against the row the first one wrote).
 */
import { bool, num, numOrNull, type Q } from '../index.js';

export interface JobRunRow {
  name: string;
  slot: number;
  holder: string;
  leaseUntil: number;
  startedAt: number;
  finishedAt: number | null;
  ok: boolean | null;
}

/**
 * Claims run `slot` of job `name` for `holder`: true for one caller per slot, and only once the
 * previous run has finished or its holder's lease has run out (a crashed instance's lease expires).
 */
export async function claimJobRun(
  q: Q,
  a: { name: string; slot: number; holder: string; now: number; leaseMs: number },
): Promise<boolean> {
  await q.run(
    `INSERT INTO job_runs (name, slot, holder, lease_until, started_at) VALUES ($name, 0, '', 0, 0)
     ON CONFLICT (name) DO NOTHING`,
    { name: a.name },
  );
  const claimed = await q.run(
    `UPDATE job_runs SET slot = $slot, holder = $holder, lease_until = $until, started_at = $now,
       finished_at = NULL, ok = NULL
     WHERE name = $name AND slot < $slot AND (finished_at IS NOT NULL OR lease_until <= $now)`,
    { name: a.name, slot: a.slot, holder: a.holder, now: a.now, until: a.now + a.leaseMs },
  );
  return claimed === 1;
}

/** The holder's heartbeat: extends its lease while the run goes on. False when the run is no longer its own. */
export async function renewJobLease(q: Q, a: { name: string; holder: string; until: number }): Promise<boolean> {
  return (
    (await q.run(
      'UPDATE job_runs SET lease_until = $until WHERE name = $name AND holder = $holder AND finished_at IS NULL',
      a,
    )) === 1
  );
}

export async function finishJobRun(q: Q, a: { name: string; holder: string; now: number; ok: boolean }): Promise<void> {
  await q.run(
    `UPDATE job_runs SET finished_at = $now, lease_until = $now, ok = $ok
     WHERE name = $name AND holder = $holder AND finished_at IS NULL`,
    { ...a, ok: a.ok ? 1 : 0 },
  );
}

export async function listJobRuns(q: Q): Promise<JobRunRow[]> {
  const rows = await q.all<Record<string, unknown>>('SELECT * FROM job_runs WHERE slot > 0 ORDER BY name');
  return rows.map((r) => ({
    name: String(r.name),
    slot: num(r.slot),
    holder: String(r.holder),
    leaseUntil: num(r.lease_until),
    startedAt: num(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    ok: r.ok === null || r.ok === undefined ? null : bool(r.ok),
  }));
}
