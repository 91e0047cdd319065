/**
 * `npm run migrate-store -- --blobs s3://bucket/prefix`: moves an install's contents to another
 * store — today every blob file to an S3-compatible bucket (S3_ENDPOINT, S3_REGION,
 * S3_FORCE_PATH_STYLE and the AWS_* credentials say where and how, as for BLOB_STORE).
 *
 * The steps work from one consistent database snapshot (taken while the server may run), so
 * everything they copy belongs together: the blobs the snapshot refers to, each re-hashed as it is
 * copied; and, once the PostgreSQL executor exists, the snapshot's rows (`--to postgres://…`, a
 * step of its own below). Resumable: a blob already in the target at the right size is skipped, so
 * an interrupted run is simply run again. Then: stop Coffer, set BLOB_STORE to the target, start it,
 * run `npm run fsck`. Uploads made after the snapshot are copied by a second run made while Coffer
 * is stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { blobStoreSettings, ConfigError, loadConfig, type Config } from '../config/index.js';
import { openBlobStore } from '../storage/index.js';
import { openDb, type Db } from './db/index.js';
import { snapshotInto } from './db/repos/snapshot.js';
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
  const from = openBlobStore(config.blobStore, config.dataDir);
  const to = openBlobStore(settings, config.dataDir); // stages each copy in DATA_DIR/tmp
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

/** The rows, into PostgreSQL: the step the PostgreSQL executor will fill in (issue 11). */
function copyMetadata(target: string): never {
  throw new ConfigError(
    `--to ${target.replace(/\/\/[^@/]*@/, '//…@')}: copying the database to PostgreSQL is not available in this build yet; run with --blobs alone`,
  );
}

try {
  const config = loadConfig();
  const plan = parseArgs(process.argv.slice(2));
  if (plan.to) copyMetadata(plan.to); // refused before anything is copied
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
    } finally {
      await snapshot.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(snapshotFile + suffix, { force: true });
    }
  }
  console.log(`done: stop Coffer, set BLOB_STORE=${plan.blobs} (and the S3_* settings), start it, run npm run fsck`);
  process.exit(0);
} catch (err) {
  const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
  console.error(err instanceof ConfigError ? err.message : `migrate-store failed: ${(err as Error).message}${cause}`);
  process.exit(2);
}
