/**
 * Background jobs (actor = system). Off when JOBS_ENABLED=false; tests call the job functions
 * directly, or `fire` as the clock would. Every instance schedules every job and JobRuns lets one
 * of them run each due run (domain/job-runs.ts).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { JobRuns } from '../domain/job-runs.js';
import type { Log } from '../log.js';

export interface Job {
  name: string;
  schedule: string; // cron expression, minute resolution
  run(): Promise<object>;
}

export interface Scheduler {
  /**
   * What the schedule does when job `name` is due at `at`: claim that run and, if this instance won
   * it, run the job. Resolves to whether it ran here.
   */
  fire(name: string, at: Date): Promise<boolean>;
  stop(): void;
}

export function startScheduler(
  jobs: Job[],
  runs: JobRuns,
  log: Log,
  onFinished: (job: string, ok: boolean) => void = () => {},
  opts: { schedule?: boolean } = {},
): Scheduler {
  const fire = async (name: string, at: Date): Promise<boolean> => {
    const job = jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job named ${name}`);
    // The run is named by its scheduled minute: the same on every instance whose clock is within
    // the minute (node-cron hands over the time it matched, not the moment the callback ran).
    const slot = Math.floor(at.getTime() / 60_000) * 60_000;
    try {
      const outcome = await runs.runOnce(job.name, slot, () => job.run());
      if (!outcome.ran) {
        log.debug({ job: job.name }, 'job run claimed by another instance');
        return false;
      }
      log.info({ job: job.name, ...outcome.result }, 'job finished');
      onFinished(job.name, true);
    } catch (err) {
      log.error({ job: job.name, err }, 'job failed');
      onFinished(job.name, false);
    }
    return true;
  };
  const tasks: ScheduledTask[] =
    opts.schedule === false
      ? []
      : jobs.map((job) => cron.schedule(job.schedule, (ctx) => fire(job.name, ctx.date), { noOverlap: true }));
  return { fire, stop: () => tasks.forEach((t) => void t.stop()) };
}
