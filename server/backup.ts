/**
 * `npm run backup -- <dir>`: a backup of a running (or stopped) Coffer into a new directory that is
 * itself a data directory — restore by stopping Coffer and pointing DATA_DIR at it (or copying it
 * back), then `npm run fsck`. In it: `coffer.sqlite` (a consistent snapshot, with the small inline
 * files), `blobs/` (every blob the snapshot refers to, re-hashed as copied — from the local disk
 * or from the bucket BLOB_STORE names: a backup keeps them on disk, and restores as a local-disk
 * install, or back into a bucket with `npm run migrate-store`), `jwt-secret`, and `backup.json`
 * (when, which version, what it holds). The snapshot is taken first, so every blob
 * it needs exists when the copy reaches it (blobs are immutable).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { LocalDiskBlobStore, openBlobStore } from '../storage/index.js';
import { openDb } from './db/index.js';
import { snapshotInto } from './db/repos/snapshot.js';
import { copySnapshotBlobs } from './domain/backup.js';
import { secretFile } from './secrets.js';
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
  if (!fs.existsSync(config.dbFile)) throw new ConfigError(`No Coffer database at ${config.dbFile} (check DATA_DIR)`);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });

  const started = Date.now();
  const live = await openDb(config.dbFile);
  const snapshotFile = path.join(target, 'coffer.sqlite');
  await snapshotInto(live, snapshotFile);
  await live.close();
  const snapshot = await openDb(snapshotFile);
  // From whichever store the install uses (an S3 bucket too): the backup's own store is a local one.
  const source = openBlobStore(config.blobStore, config.dataDir);
  const { skipped: _, ...blobs } = await copySnapshotBlobs(
    snapshot,
    source,
    new LocalDiskBlobStore(target, { fsync: true }),
  );
  await source.close();
  await snapshot.close();
  if (fs.existsSync(secretFile(config.dataDir))) {
    fs.copyFileSync(secretFile(config.dataDir), secretFile(target));
    fs.chmodSync(secretFile(target), 0o600);
  }
  const manifest = { createdAt: new Date(started).toISOString(), version: VERSION, from: config.dataDir, ...blobs };
  fs.writeFileSync(path.join(target, 'backup.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  console.log(
    `backup ${target}: database snapshot, ${blobs.copied} blob files (${blobs.bytes} bytes, re-hashed), ` +
      `${blobs.inline} small files inside the snapshot; restore: stop Coffer, DATA_DIR=${target}, npm run fsck`,
  );
  process.exit(0);
} catch (err) {
  const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
  console.error(err instanceof ConfigError ? err.message : `backup failed: ${(err as Error).message}${cause}`);
  process.exit(2);
}
