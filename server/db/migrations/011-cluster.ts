import type { Migration } from '../migration.js';

/**
 * What several instances on one database must share beyond the drive itself: which instance runs
 * each background job's next run (repos/job-runs.ts). Settings made once for the whole install (the
 * token signing secret) use the `settings` table of 001.
 */
export const cluster: Migration = {
  name: '011-cluster',
  statements: [
    `CREATE TABLE job_runs (
      name TEXT PRIMARY KEY,
      slot BIGINT NOT NULL,
      holder TEXT NOT NULL,
      lease_until BIGINT NOT NULL,
      started_at BIGINT NOT NULL,
      finished_at BIGINT,
      ok BOOLEAN
    )`,
  ],
};
