/**
 * `npm run migrate-store -- [--blobs s3://bucket/prefix] [--to postgres://…]`: moves a SQLite and
 * local-disk install to the scale-out stack — every blob file to an S3-compatible bucket
 * (S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE and the AWS_* credentials say where and how, as for
 * BLOB_STORE), and every row of the database to an empty PostgreSQL database.
 *
 * Both steps work from one consistent database snapshot (taken while the server may run), so
 * everything they copy belongs together: the blobs the snapshot refers to, each re-hashed as it is
 * copied (resumable: a blob already in the bucket at the right size is skipped), then the
 * snapshot's rows, in one transaction on the target (db/copy-database.ts), checked table by table
 * against the snapshot's counts. Changes made after the snapshot are not copied: run the blobs
 * step while Coffer serves (the long part), then stop Coffer and run both steps (the blobs made
 * meanwhile, and the rows). Then set DATABASE_URL and BLOB_STORE, start Coffer, run `npm run fsck`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { blobStoreSettings, ConfigError, loadConfig, type Config } from '../config/index.js';
import { openBlobStore } from '../storage/index.js';
import { openDb, type Db } from './db/index.js';
import { copyDatabase, isEmptyTarget, rowCounts } from './db/copy-database.js';
import { runMigrations } from './db/migrate.js';
import { snapshotInto } from './db/repos/snapshot.js';
import { migrationRules } from './domain/migration-rules.js';
import { copySnapshotBlobs } from './domain/backup.js';

const USAGE = 'usage: npm run migrate-store -- --blobs s3://bucket/prefix [--to postgres://…]';

interface Plan {
  /** The blob store the contents go to. */
  blobs: string | undefined;
  /** The database the rows go to (not yet: see copyMetadata). */
  to: string | undefined;
}

function parseArgs(argv: string[]): Plan {
  const plan: Plan = { blobs: undefined, to: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag !== '--blobs' && flag !== '--to') || value === undefined) throw new ConfigError(USAGE);
    plan[flag === '--blobs' ? 'blobs' : 'to'] = value;
    i++;
  }
  if (!plan.blobs && !plan.to) throw new ConfigError(USAGE);
  return plan;
}

/** Every blob the snapshot refers to, into the target store. */
async function copyBlobs(config: Config, snapshot: Db, target: string): Promise<string> {
  if (config.blobStore.kind !== 'local')
    throw new ConfigError('BLOB_STORE must be the local disk (unset) to move from');
  const settings = blobStoreSettings(target);
  if (settings.kind !== 's3') throw new ConfigError(`--blobs must be an s3:// location (${USAGE})`);
  const from = await openBlobStore(config.blobStore, config.dataDir);
  const to = await openBlobStore(settings, config.dataDir); // stages each copy in DATA_DIR/tmp
  try {
    await to.probe().catch((err: Error) => {
      throw new ConfigError(
        `${target} cannot be reached (${err.name}: check the bucket, S3_ENDPOINT and the credentials)`,
      );
    });
    const r = await copySnapshotBlobs(snapshot, from, to, { resume: true });
    return (
      `blobs → ${target}: ${r.copied} copied (${r.bytes} bytes, re-hashed), ${r.skipped} already there, ` +
      `${r.inline} small files stay inside the database`
    );
  } finally {
    await from.close();
    await to.close();
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//…@');

/** The target database: reachable, a PostgreSQL one, migrated, and empty — checked before anything is copied. */
async function openTarget(target: string): Promise<Db> {
  if (!/^postgres(ql)?:\/\//.test(target)) throw new ConfigError(`--to must be a postgres:// URL (${USAGE})`);
  let pg: Db;
  try {
    pg = await openDb(target);
    await runMigrations(pg, migrationRules);
  } catch (err) {
    throw new ConfigError(`${redact(target)} cannot be used: ${(err as Error).message}`);
  }
  if (!(await isEmptyTarget(pg))) {
    await pg.close();
    throw new ConfigError(`${redact(target)} already holds a Coffer install: copy into a new, empty database`);
  }
  return pg;
}

/** Every row of the snapshot into the target, then the same count in every table on both sides. */
async function copyMetadata(snapshot: Db, pg: Db, target: string): Promise<string> {
  const { rows } = await copyDatabase(snapshot, pg);
  const tables = Object.keys(rows);
  const [before, after] = [await rowCounts(snapshot, tables), await rowCounts(pg, tables)];
  const off = tables.filter((t) => before[t] !== after[t]);
  if (off.length > 0) throw new Error(`row counts differ after the copy in ${off.join(', ')}`);
  const total = tables.reduce((n, t) => n + rows[t]!, 0);
  return (
    `database → ${redact(target)}: ${total} rows in ${tables.length} tables, the same count in each ` +
    `(${['users', 'nodes', 'shares', 'activity'].map((t) => `${t} ${rows[t] ?? 0}`).join(', ')})`
  );
}

try {
  const config = loadConfig();
  const plan = parseArgs(process.argv.slice(2));
  const target = plan.to ? await openTarget(plan.to) : undefined; // refused before anything is copied
  if (config.postgresUrl && plan.to)
    throw new ConfigError('This install is on PostgreSQL already: --to copies a SQLite one');
  if (config.postgresUrl) {
    // Already on PostgreSQL: the blobs the database refers to now (blobs never change; uploads made
    // meanwhile are copied by a second run, as on SQLite).
    const db = await openDb(config.postgresUrl);
    try {
      if (plan.blobs) console.log(await copyBlobs(config, db, plan.blobs));
    } finally {
      await db.close();
    }
  } else {
    if (!fs.existsSync(config.dbFile)) throw new ConfigError(`No Coffer database at ${config.dbFile} (check DATA_DIR)`);
    const snapshotFile = path.join(config.dataDir, 'tmp', `migrate-store-${Date.now()}.sqlite`);
    const live = await openDb(config.dbFile);
    await snapshotInto(live, snapshotFile);
    await live.close();
    const snapshot = await openDb(snapshotFile);
    try {
      if (plan.blobs) console.log(await copyBlobs(config, snapshot, plan.blobs));
      if (target) console.log(await copyMetadata(snapshot, target, plan.to!));
    } finally {
      await target?.close();
      await snapshot.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(snapshotFile + suffix, { force: true });
    }
  }
  const settings = [
    ...(plan.blobs ? [`BLOB_STORE=${plan.blobs} (and the S3_* settings)`] : []),
    ...(plan.to ? [`DATABASE_URL=${redact(plan.to)}`] : []),
  ];
  console.log(`done: stop Coffer, set ${settings.join(' and ')}, start it, run npm run fsck`);
  process.exit(0);
} catch (err) {
  const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
  console.error(err instanceof ConfigError ? err.message : `migrate-store failed: ${(err as Error).message}${cause}`);
  process.exit(2);
}
