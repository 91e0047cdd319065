import type { Migration } from '../migration.js';

/**
 * Throttling counts attempts, not failures: an attempt is counted before its password is checked
 * (reserve, then settle), and the same counters now guard sign-in, link passwords and the
 * current-password check of a password change. The table is renamed to say so; the index serves
 * the nightly sweep of finished windows.
 */
export const throttle: Migration = {
  name: '005-throttle',
  statements: [
    'ALTER TABLE login_failures RENAME TO throttle_counts',
    'ALTER TABLE throttle_counts RENAME COLUMN failures TO attempts',
    'CREATE INDEX throttle_counts_window ON throttle_counts (window_start)',
  ],
};
