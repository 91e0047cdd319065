/** `npm run fsck`: checks the store's invariants with the domain's own code and prints every problem. */
import { ConfigError, loadConfig } from '../config/index.js';
import { openDb } from './db/index.js';
import { runMigrations } from './db/migrate.js';
import { migrationRules } from './domain/migration-rules.js';
import { fsck } from './domain/maintenance.js';
import { openBlobStore } from '../storage/index.js';

try {
  const config = loadConfig();
  // Re-hashing reads every blob back: from the local disk by default, from a bucket (egress, hours) only with --deep.
  const quick =
    process.argv.includes('--quick') || (config.blobStore.kind === 's3' && !process.argv.includes('--deep'));
  const db = await openDb(config.postgresUrl ?? config.dbFile);
  await runMigrations(db, migrationRules); // the same schema the server would run on
  const store = await openBlobStore(config.blobStore, config.dataDir);
  const report = await fsck(db, store, { verifyContent: !quick });
  await db.close();
  await store.close();
  const { files, blobs, users } = report.checked;
  const where =
    config.blobStore.kind === 's3' ? ` (blobs in s3://${config.blobStore.bucket}/${config.blobStore.prefix})` : '';
  console.log(
    `fsck ${config.dataDir}${where}: ${files} files, ${blobs} blobs, ${users} users${quick ? ' (sizes only; with --deep every blob is re-hashed)' : ''}`,
  );
  for (const p of report.problems) console.log(`  PROBLEM: ${p}`);
  console.log(report.ok ? 'clean: no problems found' : `${report.problems.length} problem(s) found`);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  const cause = (err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : '';
  console.error(err instanceof ConfigError ? err.message : `fsck failed: ${(err as Error).message}${cause}`);
  process.exit(2);
}
