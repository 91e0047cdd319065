/**
 * The SQLite executor on a real database file: group commit (concurrent transactions share one
 * COMMIT, and one that fails never affects another), reads that see every answered write, the
 * statement cache, and the named-parameter contract that a PostgreSQL executor will share.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDb, SCAN, SMALL_TX, type Db, type Q } from '../../server/db/index.js';
import { numberParams, paramNames } from '../../server/db/sql-params.js';

describe('the SQLite executor', function () {
  this.timeout(60_000);
  let dir: string;
  let db: Db;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-db-'));
    db = await openDb(path.join(dir, 'test.sqlite'));
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)');
  });
  after(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => db.run('DELETE FROM t'));

  /** Calls `fn` under `depth` more async frames, each awaiting the next. */
  const deeper = async <T>(depth: number, fn: () => Promise<T>): Promise<T> => {
    await null;
    return depth === 0 ? await fn() : await deeper(depth - 1, fn);
  };
  /** `PRAGMA temp_store` values (https://sqlite.org/pragma.html#pragma_temp_store). */
  const FILE = 1;
  const MEMORY = 2;
  const names = async () => (await db.all<{ name: string }>('SELECT name FROM t ORDER BY name')).map((r) => r.name);

  it('commits concurrent transactions together: 8 transactions, one COMMIT', async () => {
    const before = db.stats();
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.tx(async (tx) => {
          await tx.run('INSERT INTO t (name, n) VALUES ($name, $n)', { name: `f${i}`, n: i });
          return (await tx.get<{ id: number }>('SELECT id FROM t WHERE name = $name', { name: `f${i}` }))!.id;
        }),
      ),
    );
    const after = db.stats();
    expect(after.transactions - before.transactions).to.equal(8);
    expect(after.commits - before.commits).to.equal(1);
    expect(new Set(ids).size).to.equal(8);
    expect(await names()).to.deep.equal(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
  });

  for (const [label, opts] of [
    ['', undefined],
    [' (marked small: rollback records in memory)', SMALL_TX],
  ] as const)
    it(`a transaction that fails in a shared batch is rolled back alone, the others commit${label}`, async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          db.tx(async (tx) => {
            await tx.run('INSERT INTO t (name, n) VALUES ($name, $n)', { name: `g${i}`, n: i });
            if (i === 0) throw new Error('the first one fails after writing');
            if (i === 2) await tx.run("INSERT INTO t (name, n) VALUES ('g1', 0)"); // UNIQUE: g1 is taken
            if (i === 4) throw new Error('the fifth one fails after writing');
            await tx.run('UPDATE t SET n = n + 100 WHERE name = $name', { name: `g${i}` });
            return i;
          }, opts),
        ),
      );
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).to.deep.equal([
        'failed',
        1,
        'failed',
        3,
        'failed',
        5,
      ]);
      expect((results[2] as PromiseRejectedResult).reason).to.match(/UNIQUE/);
      expect(await db.all('SELECT name, n FROM t ORDER BY name')).to.deep.equal([
        { name: 'g1', n: 101 },
        { name: 'g3', n: 103 },
        { name: 'g5', n: 105 },
      ]);
    });

  it('runs transactions marked small with their rollback records in memory, and no other transaction in their batch', async () => {
    // A PRAGMA that reads a setting is compiled with its value: a fresh text per call is prepared when it runs.
    let reads = 0;
    const store = async (tx: Q) =>
      (await tx.get<{ temp_store: number }>(`/* ${reads++} */ PRAGMA temp_store`))!.temp_store;
    const before = db.stats();
    // All four are queued in one event-loop turn: the first batch is the two small ones; the third
    // starts the next batch, which any transaction may join.
    const seen = await Promise.all([
      db.tx(store, SMALL_TX),
      db.tx(store, SMALL_TX),
      db.tx(store),
      db.tx(store, SMALL_TX),
    ]);
    expect(seen).to.deep.equal([MEMORY, MEMORY, FILE, FILE]);
    expect(db.stats().commits - before.commits).to.equal(2);
    expect(await db.tx(store)).to.equal(FILE);
    expect(await db.tx(store, SMALL_TX)).to.equal(MEMORY);
  });

  it('a transaction inside a transaction is an error, and so is a write on the database handle', async () => {
    await db.tx(async (tx) => {
      await tx.run("INSERT INTO t (name) VALUES ('outer')");
      let nested: unknown;
      await db.tx(async () => 1).catch((e: unknown) => (nested = e));
      expect(String(nested)).to.match(/inside a transaction/);
      let write: unknown;
      await db.run("INSERT INTO t (name) VALUES ('beside')").catch((e: unknown) => (write = e));
      expect(String(write)).to.match(/inside a transaction/);
    });
    expect(await names()).to.deep.equal(['outer']);
  });

  it('tells a nested transaction from one of other code that runs meanwhile (a transaction waiting on a timer)', async () => {
    const sleep = () => new Promise((resolve) => setTimeout(resolve, 20));
    let nested: unknown;
    let besideDone: Promise<unknown> | undefined;
    // Other code, scheduled outside the transaction, runs while it waits: its transaction is queued
    // behind, not refused (what the transaction itself schedules is inside it, as its own code).
    setTimeout(() => (besideDone = db.tx((t) => t.run("INSERT INTO t (name) VALUES ('queued')"))), 5);
    await db.tx(async (tx) => {
      await tx.run("INSERT INTO t (name) VALUES ('slow')");
      await sleep();
      expect(besideDone, 'the other code ran meanwhile').not.to.equal(undefined);
      await db.tx(async () => 1).catch((e: unknown) => (nested = e));
    });
    expect(String(nested)).to.match(/inside a transaction/);
    await besideDone;
    expect(await names()).to.deep.equal(['queued', 'slow']);
  });

  it('refuses a nested transaction at once, from its stack (not after the watchdog)', async () => {
    const started = performance.now();
    let nested: unknown;
    await db.tx(async (tx) => {
      await tx.run("INSERT INTO t (name) VALUES ('a')");
      nested = await deeper(5, () => db.tx(async () => 1)).catch((e: unknown) => e);
    });
    expect(String(nested)).to.match(/inside a transaction/);
    expect(performance.now() - started, 'the watchdog waits 10 s').to.be.below(5_000);
  });

  it('ends the wait of a nested transaction its stack does not show: the watchdog refuses it, the writer goes on', async () => {
    const stalls = await openDb(path.join(dir, 'stall.sqlite'), { stallMs: 300 });
    try {
      await stalls.run('CREATE TABLE s (name TEXT)');
      // An async transaction that returns an unawaited call: in its first turn the chain of promises
      // is not yet linked, so the stack of the transaction opened there does not pass through ours.
      const opensInFirstTurn = async () => {
        await null;
        return stalls.tx(async (t) => t.run("INSERT INTO s VALUES ('nested')")).catch((e: unknown) => e);
      };
      const started = performance.now();
      const nested = await stalls.tx(async (tx) => {
        await tx.run("INSERT INTO s VALUES ('outer')");
        return opensInFirstTurn();
      });
      expect(String(nested)).to.match(/inside a transaction/);
      expect(performance.now() - started, 'refused by the watchdog').to.be.at.least(250);
      await stalls.tx((t) => t.run("INSERT INTO s VALUES ('after')"));
      expect((await stalls.all<{ name: string }>('SELECT name FROM s')).map((r) => r.name)).to.deep.equal([
        'outer',
        'after',
      ]);
    } finally {
      await stalls.close();
    }
  });

  it('refuses statements on a transaction that has ended', async () => {
    let kept: { run(sql: string): Promise<number> } | undefined;
    await db.tx(async (tx) => {
      kept = tx;
    });
    let err: unknown;
    await kept!.run("INSERT INTO t (name) VALUES ('late')").catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/already ended/);
    expect(await names()).to.deep.equal([]);
  });

  it('every read after an answered write sees it (no stale snapshot on the read connections)', async () => {
    for (let i = 0; i < 200; i++) {
      await db.tx((tx) => tx.run('INSERT INTO t (name, n) VALUES ($name, $i)', { name: `r${i}`, i }));
      // get() stops after one row on the driver: it must not keep a read transaction open.
      const [one, count] = await Promise.all([
        db.get<{ n: number }>('SELECT n FROM t WHERE name = $name', { name: `r${i}` }),
        db.get<{ c: number }>('SELECT COUNT(*) AS c FROM t'),
      ]);
      expect(one?.n, `row ${i}`).to.equal(i);
      expect(count?.c).to.equal(i + 1);
    }
  });

  it('a write sent as a read goes to the writer (INSERT … RETURNING through get)', async () => {
    const row = await db.get<{ id: number; name: string }>('INSERT INTO t (name) VALUES ($name) RETURNING id, name', {
      name: 'returned',
    });
    expect(row?.name).to.equal('returned');
    expect(await names()).to.deep.equal(['returned']);
  });

  it('rejects bad SQL and missing parameters every time, without hanging', async () => {
    for (let i = 0; i < 2; i++) {
      let err: unknown;
      await db.get('SELEC 1').catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/syntax error/);
    }
    let missing: unknown;
    await db.get('SELECT $a AS a, $b AS b', { a: 1 }).catch((e: unknown) => (missing = e));
    expect(String(missing)).to.match(/\$b has no value/);
    expect(await db.get("SELECT $a AS a, '$b' AS b, json_extract('{\"x\":2}', '$.x') AS x", { a: 1 })).to.deep.equal({
      a: 1,
      b: '$b',
      x: 2,
    });
  });

  // Counts to 4 million in SQLite: about a second of one core, whatever the tables hold.
  const SLOW =
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) SELECT COUNT(*) AS n FROM c';

  it('a read marked SCAN runs on its own thread: the event loop and indexed reads go on meanwhile', async () => {
    await db.run("INSERT INTO t (name, n) VALUES ('quick', 1)");
    const order: string[] = [];
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      const scan = db.get<{ n: number }>(SLOW, {}, SCAN).then((r) => (order.push('scan'), r));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const quick = db.get<{ n: number }>("SELECT n FROM t WHERE name = 'quick'").then((r) => (order.push('quick'), r));
      expect((await Promise.all([scan, quick])).map((r) => r?.n)).to.deep.equal([4_000_000, 1]);
      expect(order).to.deep.equal(['quick', 'scan']);
      expect(ticks, 'timer ticks while the scan ran').to.be.greaterThan(10);

      // The same read unmarked runs on the event loop: nothing else runs until it is done (what SCAN avoids).
      order.length = 0;
      const inline = db.get<{ n: number }>(SLOW).then(() => order.push('inline'));
      const after = db.get("SELECT n FROM t WHERE name = 'quick'").then(() => order.push('quick'));
      await Promise.all([inline, after]);
      expect(order).to.deep.equal(['inline', 'quick']);
    } finally {
      clearInterval(ticker);
    }
  });

  it('values cross the scan thread intact (Buffers both ways), and its errors name the SQL', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const row = await db.get<{ b: Buffer; h: string }>('SELECT $b AS b, hex($b) AS h', { b: bytes }, SCAN);
    expect(Buffer.isBuffer(row?.b)).to.equal(true);
    expect(row?.b.equals(bytes)).to.equal(true);
    expect(row?.h).to.equal('000102FAFF');
    const err = (await db.get('SELECT nope FROM t', {}, SCAN).catch((e: unknown) => e)) as Error & { sql?: string };
    expect(err.message).to.match(/no such column/);
    expect(err.sql).to.equal('SELECT nope FROM t');
  });

  it('reports the primary SQLite code (SQLITE_CONSTRAINT), as callers test it', async () => {
    await db.run("INSERT INTO t (name) VALUES ('dup')");
    const err = (await db.run("INSERT INTO t (name) VALUES ('dup')").catch((e: unknown) => e)) as {
      code?: string;
      extendedCode?: string;
    };
    expect([err.code, err.extendedCode]).to.deep.equal(['SQLITE_CONSTRAINT', 'SQLITE_CONSTRAINT_UNIQUE']);
  });

  it('waits for a write lock held by another connection without holding the event loop', async () => {
    const other = new Database(path.join(dir, 'test.sqlite'), { timeout: 0 });
    other.exec("BEGIN IMMEDIATE; INSERT INTO t (name) VALUES ('other')");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      const ours = db.run("INSERT INTO t (name) VALUES ('ours')");
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(ticks, 'timer ticks while our write waited').to.be.greaterThan(10);
      other.exec('COMMIT');
      await ours;
      expect(await names()).to.deep.equal(['other', 'ours']);
    } finally {
      clearInterval(ticker);
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }
  });

  it("has a version that changes with every commit (this writer's, another process's) and only then", async () => {
    const version = () => db.version!();
    const v0 = await version();
    await db.all('SELECT * FROM t');
    expect(await version(), 'after a read').to.equal(v0);
    await db.run("INSERT INTO t (name) VALUES ('ours')");
    const v1 = await version();
    expect(v1, 'after our commit').not.to.equal(v0);
    expect(await version()).to.equal(v1);
    const script = `const D = require('better-sqlite3'); const d = new D(process.argv[1], { timeout: 5000 });
      d.prepare("INSERT INTO t (name) VALUES ('theirs')").run(); d.close();`;
    execFileSync(process.execPath, ['-e', script, path.join(dir, 'test.sqlite')]);
    // Read once per event-loop turn: another process's commit shows from the next turn on.
    await new Promise(setImmediate);
    const v2 = await version();
    expect(v2, "after another process's commit").not.to.equal(v1);
    expect(await version()).to.equal(v2);
    expect(await names()).to.deep.equal(['ours', 'theirs']);
  });

  it("shares one version reading per event-loop turn, which this process's commits drop at once", async () => {
    const other = new Database(path.join(dir, 'test.sqlite'), { timeout: 5000 });
    try {
      const v0 = await db.version!();
      other.prepare("INSERT INTO t (name) VALUES ('theirs')").run();
      expect(await db.version!(), 'the same turn: the reading is shared').to.equal(v0);
      await new Promise(setImmediate);
      const v1 = await db.version!();
      expect(v1, "the next turn: another connection's commit").not.to.equal(v0);
      // A reading taken in the turn that commits (here by the transaction itself, as any other
      // request's could be) must not outlive the commit: the read after it sees our write.
      let during = -1;
      await db.tx(async (tx) => {
        during = await db.version!();
        await tx.run("INSERT INTO t (name) VALUES ('ours')");
      });
      expect(await db.version!(), 'after our own commit, in the same turn').not.to.equal(during);
    } finally {
      other.close();
    }
  });

  it('runs the writer with synchronous=FULL, or NORMAL under DURABILITY=relaxed', async () => {
    const level = (d: Db) => d.tx((tx) => tx.get<{ synchronous: number }>('PRAGMA synchronous'));
    expect((await level(db))?.synchronous).to.equal(2);
    const relaxed = await openDb(path.join(dir, 'relaxed.sqlite'), { durability: 'relaxed' });
    try {
      expect((await level(relaxed))?.synchronous).to.equal(1);
      expect(await relaxed.get<{ journal_mode: string }>('PRAGMA journal_mode')).to.deep.equal({ journal_mode: 'wal' });
    } finally {
      await relaxed.close();
    }
  });

  it('named parameters: found outside literals and comments, numbered for drivers that want $1…', () => {
    const sql = "SELECT $a, '$not', \"$nor\" -- $comment\n, $b /* $c */, $a, json_extract(x, '$.p') WHERE y = $b_2";
    expect(paramNames(sql)).to.deep.equal(['a', 'b', 'b_2']);
    expect(numberParams(sql)).to.deep.equal({
      text: "SELECT $1, '$not', \"$nor\" -- $comment\n, $2 /* $c */, $1, json_extract(x, '$.p') WHERE y = $3",
      names: ['a', 'b', 'b_2'],
    });
  });
});
