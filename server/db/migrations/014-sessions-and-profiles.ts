import type { Migration } from '../migration.js';

/**
 * Sessions as rows (issue 12): a signed token is good only while its row (id = the token's jti)
 * exists and has not expired, so a device can be listed and ended one by one, and logout deletes
 * the row. revoked_tokens is no longer read or written; its rows are emptied here (every token
 * they named has no session row, so it is refused anyway) and the table is left in place.
 *
 * Profiles and lifecycle on users: display_name (shown instead of the username where a person is
 * shown), last_login_at (the last API sign-in) and deleted_at (a deleted account keeps its row so
 * foreign keys and the activity log stay whole; server/domain/user-deletion.ts says why).
 */
export const sessionsAndProfiles: Migration = {
  name: '014-sessions-and-profiles',
  statements: [
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at BIGINT NOT NULL,
      last_seen_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      ip TEXT,
      user_agent TEXT
    )`,
    'CREATE INDEX sessions_user ON sessions (user_id, created_at)',
    'CREATE INDEX sessions_expiry ON sessions (expires_at)',
    'DELETE FROM revoked_tokens',
    'ALTER TABLE users ADD COLUMN display_name TEXT',
    'ALTER TABLE users ADD COLUMN last_login_at BIGINT',
    'ALTER TABLE users ADD COLUMN deleted_at BIGINT',
  ],
};
