/** Background jobs (actor = system). Off when JOBS_ENABLED=false; tests call the job functions directly. */
import cron, { type ScheduledTask } from 'node-cron';
import type { Log } from '../log.js';

export interface Job {
  name: string;
  schedule: string; // cron expression
  run(): Promise<object>;
}

export function startScheduler(jobs: Job[], log: Log): { stop(): void } {
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(
      job.schedule,
      async () => {
        try {
          log.info({ job: job.name, ...(await job.run()) }, 'job finished');
        } catch (err) {
          log.error({ job: job.name, err }, 'job failed');
        }
      },
      { noOverlap: true },
    ),
  );
  return { stop: () => tasks.forEach((t) => void t.stop()) };
}
