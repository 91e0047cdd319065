/**
 * Entry point: loadConfig → createApp → listen; SIGTERM/SIGINT close cleanly. With WORKERS > 1 this
 * process becomes the primary of a cluster (cluster.ts) and each worker runs the same code below.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from '../config/index.js';
import { createApp, printFirstAdminPassword } from './app.js';
import { printReachableUrls } from './addresses.js';
import { announceListening, runPrimary, workerCount } from './cluster.js';
import { createLog } from './log.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLog(config.logLevel);
  process.on('uncaughtException', (err) => {
    log.error({ err }, 'uncaught exception; exiting so the supervisor restarts a clean process');
    process.exit(1);
  });
  if (cluster.isPrimary && workerCount(config) > 1) return runPrimary(config, log);
  const app = await createApp(config, { log });
  printFirstAdminPassword(app.firstAdminPassword);
  const url = await app.listen();
  if (cluster.isWorker) announceListening(url);
  else {
    log.info({ url, dataDir: config.dataDir }, 'Coffer is listening');
    printReachableUrls(config, url);
  }
  const stop = async (signal: string) => {
    if (cluster.isPrimary) log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // A worker whose primary is gone (killed) has no one to hand it connections: it stops too.
  if (cluster.isWorker) process.once('disconnect', () => void stop('disconnect'));
}

main().catch((err: unknown) => {
  console.error('Coffer failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
