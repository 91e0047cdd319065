/**
 * The database a test server runs on. By default each server gets a fresh SQLite file in its data
 * dir. With TEST_DATABASE_URL (a PostgreSQL admin URL, as scripts/test-postgres.sh sets it) each
 * gets a fresh PostgreSQL database instead, created here and dropped when the server is closed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES = process.env.TEST_DATABASE_URL;

export interface TestDatabase {
  /** DATABASE_URL for the server ({} on SQLite: the default file in DATA_DIR). */
  env: Record<string, string>;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_POSTGRES) return { env: {}, drop: async () => {} };
  const name = `coffer_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_POSTGRES);
  url.pathname = `/${name}`;
  let dropped: Promise<unknown> | undefined;
  return {
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      // FORCE: a server that was stopped abruptly may leave connections behind.
      await (dropped ??= admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
    },
  };
}

/**
 * Skips a test (or a suite, from its before hook) on PostgreSQL, saying why in the output: for
 * tests about SQLite itself (its file, its WAL, its fsyncs).
 */
export function skipOnPostgres(ctx: Mocha.Context, why: string): void {
  if (!TEST_POSTGRES) return;
  console.log(`      skipped on PostgreSQL: ${why}`);
  ctx.skip();
}

/** Skips a test or a suite on SQLite, saying why: for tests of what only PostgreSQL has (connections, several processes). */
export function skipOnSqlite(ctx: Mocha.Context, why: string): void {
  if (TEST_POSTGRES) return;
  console.log(`      skipped on SQLite: ${why}`);
  ctx.skip();
}
