/**
 * `npm run bench:auth` — sign-in cost, and what a password-guessing burst does to everyone else.
 *
 * The compiled server runs in a child process (NODE_ENV=production, BCRYPT_COST 12 as in
 * production, LOGIN_MAX_FAILURES 10). Printed, client-side wall time:
 * - a correct sign-in, idle (median of BENCH_RUNS);
 * - /api/health p50/p99/max idle, then during two bursts of BENCH_BURST parallel wrong passwords:
 *   (a) all on one account: only LOGIN_MAX_FAILURES reach bcrypt, the rest get 429;
 *   (b) each on a different login: each has its own budget, so every attempt runs bcrypt — the
 *       worst case for the hashing pool;
 * - a correct sign-in of another account fired in the middle of burst (b) (it queues behind the
 *   burst's hashes: the price of keeping bcrypt off the event loop).
 *
 * Env: BENCH_RUNS (10), BENCH_BURST (60), BENCH_KEEP=1 keeps the data dir.
 */
import os from 'node:os';
import { log, runBench } from './compiled-server.js';
import { median, ms, percentile } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BURST = Number(process.env.BENCH_BURST ?? 60);
const ADMIN_PASSWORD = 'bench-admin-password';
const MAX_FAILURES = 10;

interface Sample {
  health: number[];
  statuses: Record<number, number>;
  burstMs: number;
}

runBench(
  'auth',
  { ADMIN_PASSWORD, LOGIN_MAX_FAILURES: String(MAX_FAILURES), LOGIN_MAX_FAILURES_PER_IP: '1000000' },
  async ({ url }) => {
    const signIn = (username: string, password: string) =>
      fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    const timedHealth = async () => {
      const t = performance.now();
      const r = await fetch(`${url}/api/health`);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`/api/health answered ${r.status}`);
      return performance.now() - t;
    };

    const adminRes = await signIn('admin', ADMIN_PASSWORD);
    if (adminRes.status !== 200) throw new Error(`admin sign-in: ${adminRes.status} ${await adminRes.text()}`);
    const adminToken = ((await adminRes.json()) as { token: string }).token;
    const users = ['target', 'bystander'].map((name) => ({
      username: name,
      email: `${name}@example.test`,
      password: `${name}-password-42`,
    }));
    for (const u of users) {
      const r = await fetch(`${url}/api/admin/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(u),
      });
      if (r.status !== 201) throw new Error(`create ${u.username}: ${r.status} ${await r.text()}`);
    }
    const [target, bystander] = users as [(typeof users)[0], (typeof users)[0]];

    const signInTimes: number[] = [];
    for (let i = -1; i < RUNS; i++) {
      const t = performance.now();
      const r = await signIn(bystander.username, bystander.password);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`sign-in: ${r.status}`);
      if (i >= 0) signInTimes.push(performance.now() - t);
    }
    log(`sign-in idle: median ${ms(median(signInTimes))}`);

    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await timedHealth());

    /** Fires the burst and polls /api/health (one request at a time, 5 ms apart) until it is over. */
    const underBurst = async (
      attempt: (i: number) => Promise<Response>,
      during?: () => Promise<void>,
    ): Promise<Sample> => {
      const started = performance.now();
      let done = false;
      const all = Promise.all(
        Array.from({ length: BURST }, async (_, i) => {
          const r = await attempt(i);
          await r.arrayBuffer();
          return r.status;
        }),
      ).finally(() => (done = true));
      const extra = during?.();
      const health: number[] = [];
      while (!done) {
        health.push(await timedHealth());
        await new Promise((r) => setTimeout(r, 5));
      }
      const statuses: Record<number, number> = {};
      for (const s of await all) statuses[s] = (statuses[s] ?? 0) + 1;
      await extra;
      return { health, statuses, burstMs: performance.now() - started };
    };

    const oneAccount = await underBurst((i) => signIn(target.username, `wrong-${i}`));
    log(`burst (a) done in ${ms(oneAccount.burstMs)}`);
    let midBurstSignIn = NaN;
    const manyLogins = await underBurst(
      (i) => signIn(`guess-${i}`, `wrong-${i}`),
      async () => {
        await new Promise((r) => setTimeout(r, 200));
        const t = performance.now();
        const r = await signIn(bystander.username, bystander.password);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`mid-burst sign-in: ${r.status}`);
        midBurstSignIn = performance.now() - t;
      },
    );
    log(`burst (b) done in ${ms(manyLogins.burstMs)}`);

    const row = (label: string, xs: number[], note = '') =>
      `| ${label.padEnd(52)} | ${ms(percentile(xs, 50)).padStart(8)} | ${ms(percentile(xs, 99)).padStart(8)} | ${ms(Math.max(...xs)).padStart(8)} | ${String(xs.length).padStart(5)} | ${note}`;
    const statuses = (s: Record<number, number>) =>
      Object.entries(s)
        .map(([k, v]) => `${v}×${k}`)
        .join(', ');
    console.log(
      `\nCoffer sign-in under a guessing burst — ${new Date().toISOString()}, Node ${process.version}, ${os.availableParallelism()} cores, bcrypt cost 12`,
    );
    console.log(
      `correct sign-in, idle: median ${ms(median(signInTimes))} (min ${ms(Math.min(...signInTimes))}, max ${ms(Math.max(...signInTimes))}, ${RUNS} runs)`,
    );
    console.log(`correct sign-in of another account fired during burst (b): ${ms(midBurstSignIn)}\n`);
    console.log(
      `| ${'/api/health while…'.padEnd(52)} | ${'p50'.padStart(8)} | ${'p99'.padStart(8)} | ${'max'.padStart(8)} | ${'n'.padStart(5)} | burst`,
    );
    console.log(
      `| ${'-'.repeat(52)} | ${'-'.repeat(8)} | ${'-'.repeat(8)} | ${'-'.repeat(8)} | ${'-'.repeat(5)} | ---`,
    );
    console.log(row('idle', idle));
    console.log(
      row(
        `(a) ${BURST} wrong passwords on one account, in parallel`,
        oneAccount.health,
        `${statuses(oneAccount.statuses)} in ${ms(oneAccount.burstMs)}`,
      ),
    );
    console.log(
      row(
        `(b) ${BURST} wrong passwords on ${BURST} logins, in parallel`,
        manyLogins.health,
        `${statuses(manyLogins.statuses)} in ${ms(manyLogins.burstMs)}`,
      ),
    );
    const worst = Math.max(percentile(oneAccount.health, 99), percentile(manyLogins.health, 99));
    console.log(`\ngoal: /api/health p99 < 50 ms during a burst — ${worst < 50 ? 'met' : 'MISSED'} (${ms(worst)})`);
    if (worst >= 50 || oneAccount.statuses[401] !== MAX_FAILURES) process.exitCode = 1;
  },
);
