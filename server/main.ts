/** Entry point: loadConfig → createApp → listen; SIGTERM/SIGINT close cleanly. */
import { ConfigError, loadConfig } from '../config/index.js';
import { createApp } from './app.js';
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
  const app = await createApp(config, { log });
  if (app.firstAdminPassword) {
    console.log('\n  First start: created the administrator account');
    console.log(`    username: admin\n    password: ${app.firstAdminPassword}`);
    console.log('  This password is shown only once. Sign in and change it.\n');
  }
  const url = await app.listen();
  log.info({ url, dataDir: config.dataDir }, 'Coffer is listening');
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Coffer failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
