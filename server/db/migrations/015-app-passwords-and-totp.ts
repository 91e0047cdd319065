import type { Migration } from '../migration.js';
import { columnTypes } from './001-initial.js';

/**
 * App passwords and two-factor sign-in (issue 12).
 *
 * - `users.credentials_version`: moved when a credential other than the main password stops being
 *   good (an app password deleted, TOTP turned on or reset). A cached WebDAV credential carries it
 *   and is checked against the user row each request reads anyway (server/domain/credentials.ts),
 *   so revocation is at once without a query of its own; sessions (token_version) are untouched.
 * - `users.totp_enabled`: on the user row for the same reason: the API's session query and the
 *   WebDAV path query see it with no extra read (REQUIRE_2FA, the main-password refusal).
 * - `app_passwords`: a SHA-256 of each (high-entropy) secret, never the secret.
 * - `totp_secrets`: the enabled secret, the pending one of a setup in progress, and the last time
 *   step used (a code counts once). `recovery_codes`: SHA-256 of each single-use code.
 */
export const appPasswordsAndTotp: Migration = {
  name: '015-app-passwords-and-totp',
  statements: (d) => {
    const t = columnTypes(d);
    return [
      'ALTER TABLE users ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0',
      `ALTER TABLE users ADD COLUMN totp_enabled ${t.falseBool}`,
      `CREATE TABLE app_passwords (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('full','read')),
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        last_used_ip TEXT
      )`,
      'CREATE INDEX app_passwords_user ON app_passwords (user_id, created_at)',
      `CREATE TABLE totp_secrets (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret TEXT,
        pending_secret TEXT,
        last_step BIGINT NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE recovery_codes (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        used_at BIGINT,
        PRIMARY KEY (user_id, hash)
      )`,
    ];
  },
};
