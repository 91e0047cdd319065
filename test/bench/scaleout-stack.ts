/**
 * The scale-out stack for `npm run bench:dav -- --scaleout N`: a fresh PostgreSQL database (on the
 * cluster TEST_DATABASE_URL names: the script runs under scripts/test-postgres.sh) and an
 * S3-compatible server (s3rver, as the tests use it) with a bucket. Prints the environment a Coffer
 * needs to use them, one VAR=value per line, then "ready", and keeps s3rver running until it is
 * sent SIGTERM (then drops the database and removes the bucket's files).
 */
import { createTestDatabase, TEST_POSTGRES } from '../support/database.js';
import { startS3Server } from '../support/s3.js';

if (!TEST_POSTGRES) {
  console.error('scaleout-stack: run under scripts/test-postgres.sh (TEST_DATABASE_URL is not set)');
  process.exit(2);
}
const database = await createTestDatabase();
const s3 = await startS3Server();
const bucket = await s3.newBucket();
for (const [k, v] of Object.entries({ ...database.env, ...s3.env(bucket) })) console.log(`${k}=${v}`);
console.log('ready');
const stop = async () => {
  await s3.stop();
  s3.remove();
  await database.drop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
setInterval(() => {}, 1 << 30); // stay up until told to stop
