/** Background jobs (actor = system). Off when JOBS_ENABLED=false; tests call the job functions directly. */
import cron, { type ScheduledTask } from 'node-cron';
import type { Log } from '../log.js';

export interface Job {
  name: string;
  schedule: string; // cron expression
  run(): Promise<object>;
}

export function startScheduler(
  jobs: Job[],
  log: Log,
  onFinished: (job: string, ok: boolean) => void = () => {},
): { stop(): void } {
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(
      job.schedule,
      async () => {
        try {
          log.info({ job: job.name, ...(await job.run()) }, 'job finished');
          onFinished(job.name, true);
        } catch (err) {
          log.error({ job: job.name, err }, 'job failed');
          onFinished(job.name, false);
        }
      },
      { noOverlap: true },
    ),
  );
  return { stop: () => tasks.forEach((t) => void t.stop()) };
}
