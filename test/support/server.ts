/**
 * A real Coffer on an ephemeral port with a temporary data dir and a fresh database: a SQLite file
 * in it, or a PostgreSQL database of its own under TEST_DATABASE_URL (database.ts). With
 * TEST_BLOB_STORE=s3 its blobs go to a fresh bucket on the test process's s3rver (support/s3.ts),
 * unless the test's own env names a BLOB_STORE.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { createApp, type App } from '../../server/app.js';
import type { Clock } from '../../server/domain/clock.js';
import { createLog } from '../../server/log.js';
import { onS3, sharedS3Server, type S3TestServer } from './s3.js';
import { createTestDatabase } from './database.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestServer {
  url: string;
  app: App;
  dataDir: string;
  /** DATABASE_URL when the server runs on PostgreSQL (for offline tools such as fsck), else {}. */
  databaseEnv: Record<string, string>;
  /** The S3 server and bucket holding the blobs, when they are in S3 (TEST_BLOB_STORE=s3). */
  s3: { server: S3TestServer; bucket: string } | undefined;
  /** The variables that name its blob store (empty on the local disk), for a tool run beside it (fsck, backup). */
  blobStoreEnv: Record<string, string>;
  adminToken(): Promise<string>;
  /** Every error-level log line the server wrote (an `internal` 500, a failed job): tests can demand none. */
  readonly errors: string[];
  /** Stops the server and removes its data dir (unless KEEP_TEST_DATA). */
  close(): Promise<void>;
  /** Stops the server but keeps its data dir (for offline tools such as fsck); the caller removes it. */
  stop(): Promise<void>;
}

/**
 * `shareStoreWith`: a second instance on the first one's database and blob store (as instances
 * behind a load balancer are); the data dir and the database stay the first one's to remove.
 */
export async function startTestServer(
  opts: { env?: Record<string, string>; clock?: Clock; shareStoreWith?: TestServer } = {},
): Promise<TestServer> {
  const other = opts.shareStoreWith;
  const dataDir = other?.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-test-'));
  // A test that names its own database (DATABASE_URL) keeps it; the others get a fresh one.
  const database =
    other || opts.env?.DATABASE_URL
      ? { env: other?.databaseEnv ?? {}, drop: async () => {} }
      : await createTestDatabase();
  let s3: TestServer['s3'] = other?.s3;
  if (!other && onS3 && !opts.env?.BLOB_STORE) {
    const server = await sharedS3Server();
    s3 = { server, bucket: await server.newBucket() };
  }
  const blobStoreEnv = other?.blobStoreEnv ?? (s3 ? s3.server.env(s3.bucket) : {});
  const config = loadConfig({
    ...blobStoreEnv,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    JOBS_ENABLED: 'false',
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD,
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    ...database.env,
    ...opts.env,
  });
  // Errors are collected (and printed with TEST_LOG=1) whatever LOG_LEVEL says; other levels follow LOG_LEVEL.
  const errors: string[] = [];
  const shown = createLog(process.env.TEST_LOG ? 'debug' : config.logLevel);
  const collected = createLog('error', (line) => errors.push(line));
  const log = {
    debug: shown.debug,
    info: shown.info,
    warn: shown.warn,
    error: (obj: object, msg: string) => {
      collected.error(obj, msg);
      if (config.logLevel !== 'silent' || process.env.TEST_LOG) shown.error(obj, msg);
    },
  };
  const app = await createApp(config, { clock: opts.clock, log }).catch(async (err: unknown) => {
    await database.drop();
    throw err;
  });
  const url = (await app.listen()) + config.basePath; // under BASE_PATH, every route is below it
  let admin: string | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close());
  return {
    url,
    app,
    dataDir,
    databaseEnv: database.env,
    s3,
    blobStoreEnv,
    errors,
    async adminToken() {
      admin ??= (await login(url, 'admin', ADMIN_PASSWORD)).token;
      return admin;
    },
    async close() {
      await stop();
      if (!process.env.KEEP_TEST_DATA) {
        if (!other) fs.rmSync(dataDir, { recursive: true, force: true });
        if (s3 && !other) fs.rmSync(path.join(s3.server.dir, s3.bucket), { recursive: true, force: true });
        await database.drop();
      }
    },
    stop,
  };
}

export async function login(
  url: string,
  username: string,
  password: string,
): Promise<{ token: string; user: { id: string; rootId: string } }> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { token: string; user: { id: string; rootId: string } };
}
