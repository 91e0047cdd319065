/** Runs one migration again on a test server's database, as an older install would meet it. */
import path from 'node:path';
import { openDb, type Db } from '../../server/db/index.js';
import { runMigrations } from '../../server/db/migrate.js';
import { migrationRules } from '../../server/domain/migration-rules.js';
import type { TestServer } from './server.js';

/**
 * Stops the server, undoes what migration `name` made (`undo`: the SQL that takes its tables,
 * columns and indexes away) and forgets that it ran, then migrates again, backfill included. The
 * database comes back open: the caller reads what the backfill wrote and closes it.
 */
export async function rerunMigration(srv: TestServer, name: string, undo: string[]): Promise<Db> {
  await srv.stop();
  const file = srv.databaseEnv.DATABASE_URL ?? path.join(srv.dataDir, 'coffer.sqlite');
  const old = await openDb(file);
  for (const sql of [...undo, `DELETE FROM schema_migrations WHERE name = '${name}'`]) await old.run(sql);
  await old.close();
  const db = await openDb(file);
  await runMigrations(db, migrationRules);
  return db;
}
