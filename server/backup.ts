/**
 * `npm run backup -- <dir>`: a backup of a running (or stopped) Coffer into a new directory that is
 * itself a data directory — restore by stopping Coffer and pointing DATA_DIR at it (or copying it
 * back), then `npm run fsck`. In it: the database — `coffer.sqlite` (a consistent snapshot, with
 * the small inline files), or on PostgreSQL `coffer.dump` (pg_dump's custom format: pg_restore it
 * into a new database and point DATABASE_URL there) — `blobs/` (every blob the snapshot refers to,
 * re-hashed as copied — from the local disk or from the bucket BLOB_STORE names: a backup keeps
 * them on disk, and restores as a local-disk install, or back into a bucket with `npm run
 * migrate-store`), and `backup.json` (when, which version, what it holds); the token secret is in
 * the database. The snapshot is taken first, so every blob it needs exists when the copy reaches it
 * (blobs are immutable).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { LocalDiskBlobStore, openBlobStore } from '../storage/index.js';
import { openDb } from './db/index.js';
import { dumpPostgres } from './db/postgres/dump.js';
import { snapshotInto } from './db/repos/snapshot.js';
import { copySnapshotBlobs, type BlobCopyReport } from './domain/backup.js';
import { legacySecretFile } from './secrets.js';
import { VERSION } from './version.js';

const USAGE = 'usage: npm run backup -- <new directory>';

try {
  const config = loadConfig();
  const args = process.argv.slice(2).filter((a) => a !== '--to');
  if (args.length !== 1) throw new ConfigError(USAGE);
  const target = path.resolve(args[0]!);
  if (target === path.resolve(config.dataDir)) throw new ConfigError('The backup directory must not be DATA_DIR');
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0)
    throw new ConfigError(`${target} is not empty: a backup goes into a new (or empty) directory`);
  if (!config.postgresUrl && !fs.existsSync(config.dbFile))
    throw new ConfigError(`No Coffer database at ${config.dbFile} (check DATA_DIR)`);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });

  const started = Date.now();
  // From whichever store the install uses (an S3 bucket too): the backup's own store is a local one.
  const from = await openBlobStore(config.blobStore, config.dataDir);
  const to = new LocalDiskBlobStore(target, { fsync: true });
  let report: BlobCopyReport;
  let restore: string;
  const database = config.postgresUrl ? 'coffer.dump' : 'coffer.sqlite';
  if (config.postgresUrl) {
    // The blob list is read in the dump's own snapshot (and copied while it is held).
    report = await dumpPostgres(config.postgresUrl, path.join(target, database), (q) => copySnapshotBlobs(q, from, to));
    restore = `createdb <new>, pg_restore --no-owner -d <new> ${path.join(target, database)}, DATABASE_URL=<new> DATA_DIR=${target} npm run fsck`;
  } else {
    const live = await openDb(config.dbFile);
    const snapshotFile = path.join(target, database);
    await snapshotInto(live, snapshotFile);
    await live.close();
    const snapshot = await openDb(snapshotFile);
    report = await copySnapshotBlobs(snapshot, from, to);
    await snapshot.close();
    restore = `stop Coffer, DATA_DIR=${target}, npm run fsck`;
  }
  await from.close();
  const { skipped: _, ...blobs } = report; // a backup goes into an empty directory: nothing is skipped
  // The token secret is in the database (settings); an install not started since its upgrade still has the file.
  if (fs.existsSync(legacySecretFile(config.dataDir))) {
    fs.copyFileSync(legacySecretFile(config.dataDir), legacySecretFile(target));
    fs.chmodSync(legacySecretFile(target), 0o600);
  }
  const manifest = {
    createdAt: new Date(started).toISOString(),
    version: VERSION,
    from: config.dataDir,
    database,
    ...blobs,
  };
  fs.writeFileSync(path.join(target, 'backup.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  console.log(
    `backup ${target}: database snapshot, ${blobs.copied} blob files (${blobs.bytes} bytes, re-hashed), ` +
      `${blobs.inline} small files inside the snapshot; restore: ${restore}`,
  );
  process.exit(0);
} catch (err) {
  const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
  console.error(err instanceof ConfigError ? err.message : `backup failed: ${(err as Error).message}${cause}`);
  process.exit(2);
}
