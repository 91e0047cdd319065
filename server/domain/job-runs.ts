/**
 * Each background job's run happens on one instance only. Every instance schedules every job (no
 * instance is special, any may be stopped); when a run is due, they all try to claim it, one wins
 * (repos/job-runs.ts) and the others skip it. The winner holds a lease it renews while it works;
 * if it dies, the lease runs out and the job's next run is claimed as usual. What is shared is the
 * database, so this holds for workers of one machine and for instances on several alike.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Db } from '../db/index.js';
import { claimJobRun, finishJobRun, listJobRuns, renewJobLease, type JobRunRow } from '../db/repos/job-runs.js';
import type { Clock } from './clock.js';

export type { JobRunRow } from '../db/repos/job-runs.js';

/** How long a claim holds without a heartbeat: a crashed holder blocks the job no longer than this. */
export const JOB_LEASE_MS = 60_000;

export type JobOutcome<T> = { ran: true; result: T } | { ran: false };

export class JobRuns {
  /** This instance, as the job_runs table names it (host, process, and a nonce for restarts). */
  readonly holder = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly leaseMs = JOB_LEASE_MS,
  ) {}

  /**
   * Runs `work` as the run of job `name` scheduled at `slot` (epoch ms) if this instance claims it;
   * `{ran: false}` when another instance has, or an earlier run still holds its lease.
   */
  async runOnce<T>(name: string, slot: number, work: () => Promise<T>): Promise<JobOutcome<T>> {
    const { holder, leaseMs } = this;
    if (!(await claimJobRun(this.db, { name, slot, holder, now: this.clock.now(), leaseMs }))) return { ran: false };
    const heartbeat = setInterval(() => {
      renewJobLease(this.db, { name, holder, until: this.clock.now() + leaseMs }).catch(() => {
        // A missed heartbeat only shortens the lease; the next one (or the run's end) settles it.
      });
    }, leaseMs / 3);
    heartbeat.unref();
    let ok = false;
    try {
      const result = await work();
      ok = true;
      return { ran: true, result };
    } finally {
      clearInterval(heartbeat);
      await finishJobRun(this.db, { name, holder, now: this.clock.now(), ok });
    }
  }

  list(): Promise<JobRunRow[]> {
    return listJobRuns(this.db);
  }
}
