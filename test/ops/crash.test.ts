/**
 * kill -9 in the middle of uploads: the compiled server is killed while 20 uploads (WebDAV and API
 * PUTs, 4 KiB to 6 MiB, new files and overwrites; small ones stored inline in the database, the
 * others in blob files) are in flight, then restarted on the same data:
 *  - every upload answered 2xx is there, byte for byte;
 *  - an upload whose body never arrived whole is not visible, and a file it was overwriting keeps
 *    its old content;
 *  - an upload whose body arrived but whose answer was lost to the kill is either absent or
 *    complete (it was committed before the kill: by design, commit comes before the answer);
 *  - `npm run fsck` finds the store clean (blobs, reference counts, used_bytes) and used_bytes is
 *    the exact sum of what is visible.
 * The kill point is made deterministic by the test holding back the end of some bodies: a held
 * upload sends `Expect: 100-continue` and half its body once the server has said `100 Continue`
 * (it is then reading the body: into memory for an inline-sized one, into its temp file otherwise).
 * After the restart every stored content is checked to be where its size says: inline in the
 * database up to INLINE_MAX_BYTES, in a blob file above.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../config/index.js';
import { openDb } from '../../server/db/index.js';
import { createTestDatabase } from '../support/database.js';
import { INLINE_MAX_BYTES } from '../../server/domain/blob-bytes.js';
import { onS3, sharedS3Server } from '../support/s3.js';
import { login } from '../support/server.js';
import { MiB, patternChunk, sha256, eventually } from '../support/store.js';
import { cleanEnv, ensureBuild, ROOT, run, serverEnv, waitForHealth, type Proc } from './support.js';

const KiB = 1024;
const ADMIN = 'crash-admin-password';
const listening = /"msg":"Coffer is listening","url":"(http:\/\/[^"]+)"/;

/** What a test upload is meant to do: `hold` uploads send only part of their body before the kill. */
interface Plan {
  name: string;
  door: 'dav' | 'api';
  size: number;
  /** complete: answered before the kill; hold: body cut short; race: body sent just before the kill. */
  phase: 'complete' | 'hold' | 'race';
  /** Replaces a file uploaded in the complete phase (the same name). */
  overwrite?: boolean;
}

// Inline (≤ 64 KiB) and on-disk sizes in every phase, at the limit too; overwrites across the two kinds.
const PLANS: Plan[] = [
  { name: 'dav-4k.bin', door: 'dav', size: 4 * KiB, phase: 'complete' },
  { name: 'dav-16k.bin', door: 'dav', size: 16 * KiB, phase: 'complete' },
  { name: 'dav-1m.bin', door: 'dav', size: MiB, phase: 'complete' },
  { name: 'dav-3m.bin', door: 'dav', size: 3 * MiB, phase: 'complete' },
  { name: 'api-4k.bin', door: 'api', size: 4 * KiB, phase: 'complete' },
  { name: 'api-32k.bin', door: 'api', size: 32 * KiB, phase: 'complete' },
  { name: 'api-256k.bin', door: 'api', size: 256 * KiB, phase: 'complete' },
  { name: 'api-5m.bin', door: 'api', size: 5 * MiB, phase: 'complete' },
  { name: 'dav-held-4k.bin', door: 'dav', size: 4 * KiB, phase: 'hold' },
  { name: 'dav-held-2m.bin', door: 'dav', size: 2 * MiB, phase: 'hold' },
  { name: 'dav-held-6m.bin', door: 'dav', size: 6 * MiB, phase: 'hold' },
  { name: 'api-held-8k.bin', door: 'api', size: 8 * KiB, phase: 'hold' },
  { name: 'api-held-4m.bin', door: 'api', size: 4 * MiB, phase: 'hold' },
  { name: 'dav-1m.bin', door: 'dav', size: 1536 * KiB, phase: 'hold', overwrite: true },
  { name: 'dav-race-4k.bin', door: 'dav', size: 4 * KiB, phase: 'race' },
  { name: 'dav-race-64k.bin', door: 'dav', size: 64 * KiB, phase: 'race' },
  { name: 'api-race-4k.bin', door: 'api', size: 4 * KiB, phase: 'race' },
  { name: 'api-race-512k.bin', door: 'api', size: 512 * KiB, phase: 'race' },
  { name: 'dav-16k.bin', door: 'dav', size: 80 * KiB, phase: 'race', overwrite: true },
  { name: 'api-4k.bin', door: 'api', size: 6 * KiB, phase: 'race', overwrite: true },
];

interface Flight {
  plan: Plan;
  bytes: Buffer;
  /** The status, or the error when the connection died before an answer. */
  outcome: Promise<number | Error>;
  /** A held upload: resolves once the server said `100 Continue` and half the body was handed to the socket. */
  receiving: Promise<void>;
}

interface Who {
  basic: string;
  token: string;
  rootId: string;
  id: string;
}

function send(url: string, who: Who, plan: Plan, bytes: Buffer): Flight {
  const u = new URL(url);
  const p =
    plan.door === 'dav'
      ? `/dav/${plan.name}`
      : `/api/folders/${who.rootId}/files/${plan.name}${plan.overwrite ? '?overwrite=true' : ''}`;
  const req = http.request({
    host: u.hostname,
    port: u.port,
    method: 'PUT',
    path: p,
    agent: false,
    headers: {
      authorization: plan.door === 'dav' ? who.basic : `Bearer ${who.token}`,
      'content-length': String(bytes.length),
      'content-type': 'application/octet-stream',
      ...(plan.phase === 'hold' ? { expect: '100-continue' } : {}),
    },
  });
  const outcome = new Promise<number | Error>((resolve) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', resolve);
    });
    req.once('error', resolve);
  });
  let receiving = Promise.resolve();
  if (plan.phase === 'hold') {
    receiving = new Promise((resolve) =>
      req.once('continue', () => req.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => resolve())),
    );
    req.flushHeaders();
  } else req.end(bytes);
  return { plan, bytes, outcome, receiving };
}

const partFiles = (dataDir: string) =>
  fs
    .readdirSync(path.join(dataDir, 'tmp'))
    .filter((f) => f.endsWith('.part'))
    .map((f) => fs.statSync(path.join(dataDir, 'tmp', f)).size);

async function setUp(url: string): Promise<Who> {
  const admin = (await login(url, 'admin', ADMIN)).token;
  const res = await fetch(`${url}/api/admin/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ username: 'crash', email: 'crash@example.test', password: 'crash-password-1' }),
  });
  expect(res.status, await res.clone().text()).to.equal(201);
  const me = await login(url, 'crash', 'crash-password-1');
  return {
    basic: `Basic ${Buffer.from('crash:crash-password-1').toString('base64')}`,
    token: me.token,
    rootId: me.user.rootId,
    id: me.user.id,
  };
}

async function contentOf(url: string, who: Who, name: string): Promise<Buffer | null> {
  const res = await fetch(`${url}/dav/${name}`, { headers: { authorization: who.basic } });
  if (res.status === 404) return null;
  expect(res.status, name).to.equal(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('kill -9 during uploads (the compiled server)', function () {
  this.timeout(240_000);
  before(() => ensureBuild());

  for (const durability of ['full', 'relaxed'] as const) {
    it(`DURABILITY=${durability}: answered uploads survive byte for byte, nothing partial is visible, fsck is clean`, async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-crash-'));
      const database = await createTestDatabase(); // SQLite in dataDir, or a PostgreSQL database
      // With TEST_BLOB_STORE=s3 the killed server keeps its blobs in a bucket of its own.
      const s3 = onS3 ? await sharedS3Server() : undefined;
      const bucket = s3 ? await s3.newBucket() : '';
      const env = serverEnv(dataDir, {
        ADMIN_PASSWORD: ADMIN,
        DURABILITY: durability,
        ...database.env,
        ...(s3 ? s3.env(bucket) : {}),
      });
      const stored = async (hash: string) =>
        s3
          ? await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `blobs/${hash}` })).then(
              () => true,
              () => false,
            )
          : fs.existsSync(path.join(dataDir, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash));
      const procs: Proc[] = [];
      const start = async () => {
        const p = run(process.execPath, ['dist/server/main.js'], env);
        procs.push(p);
        const url = (await p.waitFor(listening, 60_000))[1]!;
        await waitForHealth(url);
        return { p, url };
      };
      try {
        const first = await start();
        const who = await setUp(first.url);
        const bytesOf = (plan: Plan, i: number) => patternChunk(i + 1, plan.size);

        // Complete and held uploads go out together; the complete ones are answered, the held
        // ones wait with half a body each (their temp files show that the server is receiving them).
        const complete = PLANS.map((plan, i) => ({ plan, i })).filter(({ plan }) => plan.phase === 'complete');
        const held = PLANS.map((plan, i) => ({ plan, i })).filter(({ plan }) => plan.phase === 'hold');
        const racing = PLANS.map((plan, i) => ({ plan, i })).filter(({ plan }) => plan.phase === 'race');
        const flights: Flight[] = [];
        for (const { plan, i } of complete) flights.push(send(first.url, who, plan, bytesOf(plan, i)));
        const answered = await Promise.all(flights.map((f) => f.outcome));
        expect(answered, 'the complete uploads').to.deep.equal(complete.map(() => 201));
        for (const { plan, i } of held) flights.push(send(first.url, who, plan, bytesOf(plan, i)));
        await Promise.all(flights.map((f) => f.receiving));
        // Half of an inline-sized body stays in memory (below the limit); the others are in temp files.
        const spilled = held.filter(({ plan }) => Math.floor(plan.size / 2) > INLINE_MAX_BYTES);
        expect(spilled.length, 'held uploads of both kinds').to.be.within(1, held.length - 1);
        const heldBytes = spilled.reduce((sum, { plan }) => sum + Math.floor(plan.size / 2), 0);
        await eventually(
          () => {
            const parts = partFiles(dataDir);
            return parts.length === spilled.length && parts.reduce((a, b) => a + b, 0) === heldBytes;
          },
          30_000,
          'the held bodies to reach the server',
        );
        // The racing uploads send whole bodies; the kill lands as soon as the first of them is
        // answered, while the others are being received, stored or committed: each of those is
        // answered or not, and the checks below hold either way.
        const racers = racing.map(({ plan, i }) => send(first.url, who, plan, bytesOf(plan, i)));
        flights.push(...racers);
        await Promise.race(racers.map((f) => f.outcome));
        process.kill(first.p.child.pid!, 'SIGKILL');
        expect(await first.p.exited).to.equal('SIGKILL');
        const outcomes = await Promise.all(flights.map((f) => f.outcome));

        const second = await start();
        // What each name may show now: the last answered upload of it; an unanswered racing
        // upload may have committed just before the kill (commit comes before the answer), so
        // either it or what was there before; a held upload never (its body never arrived whole).
        const expected = new Map<string, Buffer>(); // name → what the listing must show
        const lostAnswer: string[] = [];
        for (const name of new Set(PLANS.map((p) => p.name))) {
          let allowed: (Buffer | null)[] = [null];
          for (const [k, f] of flights.entries()) {
            if (f.plan.name !== name) continue;
            const answered = !(outcomes[k] instanceof Error);
            if (f.plan.phase === 'hold') expect(outcomes[k], `${name} (held)`).to.be.instanceOf(Error);
            else if (answered) {
              expect(outcomes[k], name).to.be.oneOf([200, 201, 204]);
              allowed = [f.bytes];
            } else allowed = [...allowed, f.bytes];
          }
          const got = await contentOf(second.url, who, name);
          expect(
            allowed.map((b) => (b ? sha256(b) : 'absent')),
            `${name}: what it shows after the restart`,
          ).to.include(got ? sha256(got) : 'absent');
          if (got) expected.set(name, got);
          const racer = flights.findIndex((f) => f.plan.name === name && f.plan.phase === 'race');
          if (got && racer >= 0 && outcomes[racer] instanceof Error && got.equals(flights[racer]!.bytes))
            lostAnswer.push(name);
        }

        // The listing shows exactly the expected files, and used_bytes is their sum (plus the
        // versions that overwrites kept, which count toward the quota too).
        const api = (p: string) =>
          fetch(`${second.url}${p}`, { headers: { authorization: `Bearer ${who.token}` } }).then(
            (r) => r.json() as Promise<Record<string, unknown>>,
          );
        const listing = (await api(`/api/nodes/${who.rootId}/children?limit=1000`)).items as {
          id: string;
          name: string;
          size: number;
        }[];
        expect(Object.fromEntries(listing.map((n) => [n.name, n.size]))).to.deep.equal(
          Object.fromEntries([...expected].map(([name, b]) => [name, b.length])),
        );
        let versionBytes = 0;
        for (const n of listing) {
          const { items } = (await api(`/api/nodes/${n.id}/versions`)) as { items: { size: number }[] };
          versionBytes += items.reduce((a, v) => a + v.size, 0);
        }
        const me = (await api('/api/auth/me')).user as { usedBytes: number };
        expect(me.usedBytes).to.equal(listing.reduce((a, n) => a + n.size, 0) + versionBytes);
        expect(await second.p.stop()).to.equal(0);

        const fsck = spawnSync(process.execPath, ['dist/server/fsck.js'], { cwd: ROOT, env, encoding: 'utf8' });
        expect(fsck.status, `fsck:\n${fsck.stdout}${fsck.stderr}`).to.equal(0);
        expect(fsck.stdout).to.match(/clean: no problems found/);

        // Each content is where its size puts it: inline in the database, or in a blob file.
        const db = await openDb(database.env.DATABASE_URL ?? path.join(dataDir, 'coffer.sqlite'));
        const kinds = { inline: 0, file: 0 };
        try {
          for (const [name, b] of expected) {
            const hash = sha256(b);
            const inline = (await db.get('SELECT 1 AS x FROM inline_blobs WHERE hash = $hash', { hash })) !== undefined;
            const file = await stored(hash);
            const want = b.length <= INLINE_MAX_BYTES ? 'inline' : 'file';
            expect(inline ? (file ? 'both' : 'inline') : file ? 'file' : 'none', name).to.equal(want);
            kinds[want]++;
          }
        } finally {
          await db.close();
        }
        // Whatever the racers did: dav-4k, api-32k and api-4k (4 or 6 KiB) are inline; dav-1m, dav-3m, api-256k, api-5m are not.
        expect(kinds.inline, 'inline files after the restart').to.be.at.least(3);
        expect(kinds.file, 'blob files after the restart').to.be.at.least(4);
        console.log(
          `      (${durability}: ${outcomes.filter((o) => !(o instanceof Error)).length} answered, ` +
            `${kinds.inline} inline and ${kinds.file} in blob files after the restart, ` +
            `${lostAnswer.length} committed without an answer${lostAnswer.length ? `: ${lostAnswer.join(', ')}` : ''})`,
        );
      } finally {
        for (const p of procs) await p.stop();
        await database.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  it('refuses an unknown DURABILITY at start, naming the variable', () => {
    const res = spawnSync(process.execPath, ['dist/server/main.js'], {
      cwd: ROOT,
      env: cleanEnv({ DATA_DIR: path.join(os.tmpdir(), 'coffer-never'), DURABILITY: 'sometimes' }),
      encoding: 'utf8',
    });
    expect(res.status).to.equal(2);
    expect(res.stderr).to.match(/DURABILITY/);
  });

  it('refuses a BLOB_GC_GRACE under a minute: it must cover an upload between placing its blob and committing', () => {
    expect(() => loadConfig({ BLOB_GC_GRACE: '10s' })).to.throw(ConfigError, /BLOB_GC_GRACE/);
    expect(loadConfig({ BLOB_GC_GRACE: '1m' }).blobGcGraceSeconds).to.equal(60);
    expect(loadConfig({}).durability).to.equal('full');
  });
});
