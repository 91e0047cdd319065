/** Versioned migrations, run at start-up in order; each runs once, inside a transaction. */
import { dialectOf } from './dialect.js';
import type { Db } from './index.js';
import type { Migration, MigrationRules } from './migration.js';
import { initial } from './migrations/001-initial.js';
import { search } from './migrations/002-search.js';
import { versions } from './migrations/003-versions.js';
import { shareNames } from './migrations/004-share-names.js';
import { throttle } from './migrations/005-throttle.js';
import { propertyBytes } from './migrations/006-property-bytes.js';
import { inlineBlobs } from './migrations/010-inline-blobs.js';
import { cluster } from './migrations/011-cluster.js';
import { folderNotify } from './migrations/012-folder-notify.js';
import { blobClaims } from './migrations/013-blob-claims.js';
import { sessionsAndProfiles } from './migrations/014-sessions-and-profiles.js';
import { appPasswordsAndTotp } from './migrations/015-app-passwords-and-totp.js';
import { mail } from './migrations/016-mail.js';
import { naturalSort } from './migrations/017-natural-sort.js';
import { resumableUploads } from './migrations/019-resumable-uploads.js';
import { linkLimits } from './migrations/020-link-limits.js';
import { searchBacklog } from './migrations/021-search-backlog.js';

export type { Migration, MigrationRules } from './migration.js';

const MIGRATIONS: Migration[] = [
  initial,
  search,
  versions,
  shareNames,
  throttle,
  propertyBytes,
  inlineBlobs,
  cluster,
  folderNotify,
  blobClaims,
  sessionsAndProfiles,
  appPasswordsAndTotp,
  mail,
  naturalSort,
  resumableUploads,
  linkLimits,
  searchBacklog,
];

export async function runMigrations(db: Db, rules: MigrationRules): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const done = new Set((await db.all<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
  for (const m of MIGRATIONS) {
    if (done.has(m.name)) continue;
    await db.tx(async (tx) => {
      if (await tx.get('SELECT name FROM schema_migrations WHERE name = $name', { name: m.name })) return; // another process won
      const statements = typeof m.statements === 'function' ? m.statements(dialectOf(tx)) : m.statements;
      for (const sql of statements) await tx.run(sql);
      await m.run?.(tx, rules);
      await tx.run('INSERT INTO schema_migrations (name, applied_at) VALUES ($name, $at)', {
        name: m.name,
        at: Date.now(),
      });
    });
  }
}

/**
 * How the database's schema compares with this build: migrations this build has that the database
 * lacks (`pending`), and migrations the database has that this build does not know (`unknown`: a
 * newer build migrated it, and this one may not read it correctly).
 */
export async function migrationState(db: Db): Promise<{ pending: string[]; unknown: string[] }> {
  const applied = new Set((await db.all<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
  const known = new Set(MIGRATIONS.map((m) => m.name));
  return {
    pending: MIGRATIONS.map((m) => m.name).filter((n) => !applied.has(n)),
    unknown: [...applied].filter((n) => !known.has(n)).sort(),
  };
}
