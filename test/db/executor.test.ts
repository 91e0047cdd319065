/**
 * The SQLite executor on a real database file: group commit (concurrent transactions share one
 * COMMIT, and one that fails never affects another), reads that see every answered write, the
 * statement cache, and the named-parameter contract that a PostgreSQL executor will share.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type Db } from '../../server/db/index.js';
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

  it('a transaction that fails in a shared batch is rolled back alone, the others commit', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        db.tx(async (tx) => {
          await tx.run('INSERT INTO t (name, n) VALUES ($name, $n)', { name: `g${i}`, n: i });
          if (i === 0) throw new Error('the first one fails after writing');
          if (i === 2) await tx.run("INSERT INTO t (name, n) VALUES ('g1', 0)"); // UNIQUE: g1 is taken
          if (i === 4) throw new Error('the fifth one fails after writing');
          await tx.run('UPDATE t SET n = n + 100 WHERE name = $name', { name: `g${i}` });
          return i;
        }),
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
