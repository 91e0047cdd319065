// pm2 production profile: `npm run build && npx pm2 start ecosystem.config.js`.
//
// Written as ESM with a named export: the package is "type": "module", pm2 require()s this file,
// and Node >= 20.19 hands back the module namespace, whose `apps` pm2 reads.
//
// Configuration comes from the environment pm2 is started with (PORT, DATA_DIR, ADMIN_PASSWORD, ...
// see the README's table); only NODE_ENV is fixed here. DATA_DIR defaults to ./data under `cwd`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

export const apps = [
  {
    name: 'coffer',
    cwd: root,
    script: 'dist/server/main.js', // the compiled server: run `npm run build` after every update
    // A 2 MiB young generation and two malloc arenas keep a streaming server's peak RSS under 150 MiB
    // (1 GiB upload: 161 → 133 MiB measured) at some cost in raw throughput (README, Memory).
    node_args: ['--enable-source-maps', '--max-semi-space-size=2'],
    // pm2 runs ONE process. With `--env cluster` (below) that process is the primary of Coffer's own
    // cluster (WORKERS, server/cluster.ts): workers on one port, one per CPU, restarted by the
    // primary, background jobs run once across them. Not pm2's cluster mode: the primary also
    // prepares the data directory (migrations, first admin) before any worker starts.
    exec_mode: 'fork',
    instances: 1,
    autorestart: true, // main.js exits on an uncaught exception so a clean process takes over
    min_uptime: '10s',
    max_restarts: 10,
    exp_backoff_restart_delay: 200,
    // Normal use stays far below this (uploads stream; peak RSS < 150 MiB): a restart here means a leak.
    max_memory_restart: '512M',
    // SIGTERM → main.js closes the HTTP server and the database; give in-flight uploads time to end.
    kill_timeout: 15000,
    // Logs go to pm2's default files ($PM2_HOME/logs/coffer-out.log, coffer-error.log): `npx pm2 logs coffer`.
    time: true,
    merge_logs: true,
    env: {
      NODE_ENV: 'production',
      MALLOC_ARENA_MAX: '2',
    },
    // `npx pm2 start ecosystem.config.js --env cluster`: one worker per CPU (README, Scaling out).
    env_cluster: {
      NODE_ENV: 'production',
      MALLOC_ARENA_MAX: '2',
      WORKERS: 'auto',
    },
  },
];
