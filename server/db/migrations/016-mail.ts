import type { Migration } from '../migration.js';

/**
 * Password reset by email: one row per outstanding reset link, keyed by the sha256 of its token
 * (the token itself is only in the mail). A new request replaces the user's older rows and a reset
 * removes them all, so the table holds at most one row per user and needs no sweeping job.
 * `users.notify_shares`: whether a user is mailed when someone shares with them (on by default).
 */
export const mail: Migration = {
  name: '016-mail',
  statements: (d) => [
    `CREATE TABLE password_resets (
      token_hash TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    )`,
    'CREATE INDEX password_resets_user ON password_resets (user_id)',
    `ALTER TABLE users ADD COLUMN notify_shares BOOLEAN NOT NULL DEFAULT ${d === 'sqlite' ? '1' : 'TRUE'}`,
  ],
};
