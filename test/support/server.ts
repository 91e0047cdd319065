/** A real Coffer on an ephemeral port with a temporary data dir and a fresh SQLite file (or another instance's). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/index.js';
import { createApp, type App } from '../../server/app.js';
import type { Clock } from '../../server/domain/clock.js';
import { createLog } from '../../server/log.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestServer {
  url: string;
  app: App;
  dataDir: string;
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
 * behind a load balancer are); its data dir stays the first one's to remove.
 */
export async function startTestServer(
  opts: { env?: Record<string, string>; clock?: Clock; shareStoreWith?: TestServer } = {},
): Promise<TestServer> {
  const owned = !opts.shareStoreWith;
  const dataDir = opts.shareStoreWith?.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    JOBS_ENABLED: 'false',
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD,
    LOGIN_MAX_FAILURES_PER_IP: '100000',
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
  const app = await createApp(config, { clock: opts.clock, log });
  const url = (await app.listen()) + config.basePath; // under BASE_PATH, every route is below it
  let admin: string | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close());
  return {
    url,
    app,
    dataDir,
    errors,
    async adminToken() {
      admin ??= (await login(url, 'admin', ADMIN_PASSWORD)).token;
      return admin;
    },
    async close() {
      await stop();
      if (owned && !process.env.KEEP_TEST_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
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
