import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, TEST_POSTGRES, type TestDatabase } from '../support/database.js';
import { login } from '../support/server.js';
import { cleanEnv, ensureBuild, freePort, ROOT, waitForHealth } from './support.js';
import { sayLocalDiskOnS3 } from '../support/s3.js';

const exec = promisify(execFile);
const PM2 = path.join(ROOT, 'node_modules/pm2/bin/pm2');

interface Pm2Proc {
  name: string;
  pid: number;
  pm2_env: { status: string; exec_mode: string; restart_time: number; NODE_ENV?: string; kill_timeout?: number };
}

/**
 * The production profile, run the way the README says: `npx pm2 start ecosystem.config.js`.
 * pm2 gets its own PM2_HOME (a temp dir), so this never sees or touches a user's pm2 daemon,
 * and the daemon is killed whatever happens.
 */
describe('pm2 (ecosystem.config.js)', function () {
  this.timeout(120_000);
  let pm2Home: string;
  let dataDir: string;
  let url: string;
  let env: Record<string, string>;
  let database: TestDatabase;
  const pm2 = async (...args: string[]) =>
    (await exec(process.execPath, [PM2, ...args], { cwd: ROOT, env, timeout: 60_000 })).stdout;
  const list = async () => JSON.parse(await pm2('jlist')) as Pm2Proc[];

  before(async () => {
    sayLocalDiskOnS3('it checks the pm2 profile (restarts, logs, signals), not where blobs go');
    ensureBuild();
    pm2Home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-pm2-home-'));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-pm2-data-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    database = await createTestDatabase(); // SQLite in dataDir, or a PostgreSQL database
    // pm2 passes the environment of `pm2 start` on to the app: that is how PORT/DATA_DIR reach config/.
    env = cleanEnv({
      PM2_HOME: pm2Home,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ADMIN_PASSWORD: 'pm2-admin-password',
      BCRYPT_COST: '4',
      JOBS_ENABLED: 'false',
      ...database.env,
    });
  });

  after(async () => {
    if (!pm2Home) return;
    try {
      await pm2('kill'); // stops the app and the daemon of this PM2_HOME
    } catch {
      for (const f of ['pm2.pid']) {
        const pid = Number(fs.readFileSync(path.join(pm2Home, f), 'utf8'));
        if (pid)
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      }
    }
    fs.rmSync(pm2Home, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('starts one fork-mode production process that serves the API', async () => {
    await pm2('start', path.join(ROOT, 'ecosystem.config.js'));
    expect(await (await waitForHealth(url)).json()).to.include({ status: 'ok' });
    const procs = await list();
    expect(procs).to.have.length(1);
    const [app] = procs;
    expect(app!.name).to.equal('coffer');
    expect(app!.pm2_env).to.include({ status: 'online', exec_mode: 'fork_mode', NODE_ENV: 'production' });
    expect(app!.pm2_env.kill_timeout).to.be.at.least(5000);
    expect((await login(url, 'admin', 'pm2-admin-password')).token).to.be.a('string');
    expect(fs.existsSync(path.join(dataDir, 'coffer.sqlite'))).to.equal(!TEST_POSTGRES); // PostgreSQL: in the database
  });

  it('restarts the server after it is killed, with the data intact', async () => {
    const [before] = await list();
    process.kill(before!.pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    let now: Pm2Proc | undefined;
    while (Date.now() < deadline) {
      [now] = await list();
      if (now && now.pid && now.pid !== before!.pid && now.pm2_env.status === 'online') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(now?.pm2_env.restart_time).to.be.at.least(1);
    await waitForHealth(url);
    expect((await login(url, 'admin', 'pm2-admin-password')).token).to.be.a('string');
  });

  it('stops cleanly on `pm2 stop` (graceful shutdown within kill_timeout)', async () => {
    await pm2('stop', 'coffer');
    const [app] = await list();
    expect(app!.pm2_env.status).to.equal('stopped');
    const log = fs.readFileSync(path.join(pm2Home, 'logs', 'coffer-out.log'), 'utf8');
    expect(log).to.match(/"msg":"shutting down"/);
    const res = await fetch(`${url}/api/health`).catch((e: Error) => e);
    expect(res).to.be.instanceOf(Error);
  });

  it('runs the cluster profile (`--env cluster`): one pm2 process whose workers, one per CPU, serve the port', async () => {
    await pm2('delete', 'coffer');
    await pm2('start', path.join(ROOT, 'ecosystem.config.js'), '--env', 'cluster');
    expect(await (await waitForHealth(url)).json()).to.include({ status: 'ok' });
    const [app] = await list();
    expect(app!.pm2_env).to.include({ status: 'online', exec_mode: 'fork_mode' });
    const workers = (await exec('ps', ['-o', 'pid=', '--ppid', String(app!.pid)])).stdout.trim().split(/\s+/);
    expect(workers).to.have.length(os.availableParallelism());
    expect((await login(url, 'admin', 'pm2-admin-password')).token).to.be.a('string');
    await pm2('stop', 'coffer');
  });
});
