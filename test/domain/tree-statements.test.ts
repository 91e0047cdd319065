/**
 * Set-based tree operations: COPY, MOVE, trash and restore of a folder cost a constant number of
 * SQL statements whatever the folder holds. Statements are counted by a thin wrapper around the
 * real database (every all/get/run, inside transactions too); the domain runs unchanged on it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { openDb, type Db, type Q } from '../../server/db/index.js';
import { newNodeId } from '../../server/db/repos/nodes.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runMigrations } from '../../server/db/migrate.js';
import { migrationRules } from '../../server/domain/migration-rules.js';
import { userActor, type Actor } from '../../server/domain/actor.js';
import { Bin } from '../../server/domain/bin.js';
import { systemClock } from '../../server/domain/clock.js';
import { Drive } from '../../server/domain/drive.js';
import { fsck } from '../../server/domain/maintenance.js';
import { insertUser, getUser } from '../../server/domain/users.js';
import { LocalDiskBlobStore } from '../../storage/index.js';

/** The same database, counting every statement sent through it (in transactions too). */
function counting(db: Db): { db: Db; statements: () => number; reset: () => void } {
  let n = 0;
  const wrap = <T extends Q>(q: T, extra: Partial<Db> = {}): T =>
    new Proxy(q, {
      get(target, prop) {
        if (prop === 'all' || prop === 'get' || prop === 'run') {
          const fn = Reflect.get(target, prop, target) as (...a: unknown[]) => unknown;
          return (...args: unknown[]) => {
            n++;
            return fn.apply(target, args);
          };
        }
        if (prop in extra) return extra[prop as keyof Db];
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  const tx: Db['tx'] = (fn) => db.tx((t) => fn(wrap(t)));
  return { db: wrap(db, { tx }), statements: () => n, reset: () => (n = 0) };
}

const VERSIONS = { coalesceMs: 0, keepAllMs: 86400_000, keepDailyMs: 30 * 86400_000, maxShareOfFree: 0.5 };

interface Entry {
  path: string;
  kind: string;
  size: number;
  hash: string | null;
  mime: string | null;
  modifiedAt: number;
  author: string | null;
}

describe('set-based tree operations (statements per folder operation)', function () {
  this.timeout(120_000);
  let dir: string;
  let raw: Db;
  let counter: ReturnType<typeof counting>;
  let blobs: LocalDiskBlobStore;
  let drive: Drive;
  let bin: Bin;
  let actor: Actor;
  let ownerId: string;
  let rootId: string;
  let database: TestDatabase;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-tree-'));
    database = await createTestDatabase(); // a SQLite file in `dir`, or a PostgreSQL database
    raw = await openDb(database.env.DATABASE_URL ?? path.join(dir, 'coffer.sqlite'));
    await runMigrations(raw, migrationRules);
    counter = counting(raw);
    blobs = new LocalDiskBlobStore(dir);
    drive = new Drive(counter.db, blobs, systemClock, VERSIONS);
    bin = new Bin(counter.db, systemClock, 30);
    const user = await raw.tx((tx) =>
      insertUser(
        tx,
        { username: 'tree', email: 'tree@example.com', passwordHash: 'x', role: 'user', quotaBytes: 10 ** 12 },
        Date.now(),
      ),
    );
    ownerId = user.id;
    rootId = user.rootId;
    actor = userActor(user, { via: 'api' });
  });
  after(async () => {
    await raw.close();
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A folder of `perFolder × 10` files: ten subfolders (the first holds an empty folder too), the
   * contents repeating every 25 files, so blobs are shared and ref counts add up per hash.
   */
  async function seed(name: string, perFolder: number): Promise<string> {
    const top = await drive.createFolder(actor, rootId, name);
    const first = await drive.createFolder(actor, top.id, 'sub0');
    await drive.createFolder(actor, first.id, 'empty');
    for (let i = 0; i < perFolder; i++) {
      const body = Readable.from([Buffer.from(`content ${i % 25} `.repeat(1 + (i % 25)))]);
      await drive.upload(actor, first.id, `f${i}.txt`, body);
    }
    for (let s = 1; s < 10; s++) await drive.copy(actor, first.id, top.id, { name: `sub${s}` });
    return top.id;
  }

  /** The subtree under a folder as relative paths, with what a copy must reproduce. */
  async function tree(id: string): Promise<Entry[]> {
    const rows = await raw.all<{ id: string; parent_id: string; kind: string; name: string } & Record<string, unknown>>(
      `WITH RECURSIVE sub(id) AS (SELECT $id UNION ALL SELECT c.id FROM sub JOIN nodes c ON c.parent_id = sub.id WHERE c.deleted_at IS NULL)
       SELECT n.id, n.parent_id, n.kind, n.name, n.size, n.content_hash, n.mime, n.modified_at, n.content_by FROM sub JOIN nodes n ON n.id = sub.id`,
      { id },
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const pathOf = (r: (typeof rows)[number]): string =>
      r.id === id ? '.' : `${pathOf(byId.get(r.parent_id)!)}/${r.name}`;
    return rows
      .map((r) => ({
        path: pathOf(r),
        kind: r.kind,
        size: Number(r.size),
        hash: (r.content_hash as string | null) ?? null,
        mime: (r.mime as string | null) ?? null,
        modifiedAt: Number(r.modified_at),
        author: (r.content_by as string | null) ?? null,
      }))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  const used = async () =>
    Number((await raw.get<{ u: unknown }>('SELECT used_bytes AS u FROM users WHERE id = $id', { id: ownerId }))!.u);
  const lastActivity = async () =>
    (await raw.get<{ action: string; path: string; details: string }>(
      'SELECT action, path, details FROM activities WHERE owner_id = $id ORDER BY id DESC LIMIT 1',
      { id: ownerId },
    ))!;
  const expectClean = async () => expect((await fsck(raw, blobs, { verifyContent: false })).problems).to.deep.equal([]);

  /** Runs `op` and returns how many statements it sent. */
  async function measure(op: () => Promise<unknown>): Promise<number> {
    counter.reset();
    await op();
    return counter.statements();
  }

  let small: string;
  let big: string;
  let target: string;
  before(async () => {
    small = await seed('small', 1);
    big = await seed('big', 100);
    target = (await drive.createFolder(actor, rootId, 'target')).id;
    actor = userActor((await getUser(raw, ownerId))!, { via: 'api' });
  });

  it('seeds a folder of 1,000 files (and one of 10 to compare with)', async () => {
    expect((await tree(big)).filter((e) => e.kind === 'file')).to.have.length(1000);
    expect((await tree(small)).filter((e) => e.kind === 'file')).to.have.length(10);
    await expectClean();
  });

  const counts: Record<string, [number, number]> = {};
  after(() => console.log('      statements (10 files, 1,000 files):', JSON.stringify(counts)));

  it('copies a folder (API copy, bulk copy, WebDAV COPY) in the same number of statements, with an identical result', async () => {
    const source = await tree(big);
    const bytes = source.reduce((s, e) => s + e.size, 0);
    const cases: [string, (id: string, name: string) => Promise<{ id: string }>][] = [
      ['copy', (id, name) => drive.copy(actor, id, target, { name })],
      ['bulk copy', async (id) => (await drive.bulk(actor, 'copy', [id], target))[0]!],
      [
        'dav copy',
        async (id, name) =>
          (await drive.copyReplacing(actor, id, target, name, { overwrite: true, shallow: false })).node,
      ],
    ];
    for (const [label, op] of cases) {
      const before = await used();
      let copy!: { id: string };
      const few = await measure(async () => (copy = await op(small, `${label} small`)));
      const many = await measure(async () => (copy = await op(big, `${label} big`)));
      counts[label] = [few, many];
      expect(await tree(copy.id), label).to.deep.equal(source);
      expect((await used()) - before, label).to.equal(bytes + (await tree(small)).reduce((s, e) => s + e.size, 0));
      const act = await lastActivity();
      expect(act.action).to.equal('node.copied');
      expect(act.path).to.equal(label === 'bulk copy' ? '/target/big' : `/target/${label} big`);
      expect(JSON.parse(act.details)).to.deep.equal({ from: '/big', files: 1000, bytes });
    }
    await expectClean();
    for (const [label, [few, many]] of Object.entries(counts)) expect(many, label).to.equal(few);
  });

  it('gives new nodes time-ordered ids (UUID version 7), the set-based copy as the code does', async () => {
    const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const before = newNodeId(Date.now() - 1);
    const folder = await drive.createFolder(actor, rootId, 'ordered ids');
    const copy = await drive.copy(actor, small, folder.id, { name: 'copied' });
    const ids = (
      await raw.all<{ id: string }>(
        `WITH RECURSIVE sub(id) AS (SELECT $id UNION ALL SELECT c.id FROM sub JOIN nodes c ON c.parent_id = sub.id)
         SELECT id FROM sub`,
        { id: folder.id },
      )
    ).map((r) => r.id);
    expect(ids).to.have.length(1 + (await tree(small)).length);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const id of ids) {
      expect(id).to.match(V7);
      expect(id > before, `${id} sorts after ${before}`).to.equal(true);
    }
    expect(copy.id > folder.id, 'a later node sorts after an earlier one').to.equal(true);
    // The millisecond leads: ids made a millisecond apart sort in that order, whatever their random bits.
    expect(newNodeId(Date.parse('2030-01-01T00:00:00.001Z')) > newNodeId(Date.parse('2030-01-01T00:00:00Z'))).to.equal(
      true,
    );
    expect(newNodeId(Date.parse('2030-01-01T00:00:00Z')).slice(0, 13)).to.equal('01b8dac5-b400');
  });

  it('copies a folder without its members (WebDAV COPY Depth: 0)', async () => {
    const few = await measure(() =>
      drive.copyReplacing(actor, small, target, 'shallow small', { overwrite: true, shallow: true }),
    );
    const many = await measure(() =>
      drive.copyReplacing(actor, big, target, 'shallow big', { overwrite: true, shallow: true }),
    );
    counts['dav copy depth 0'] = [few, many];
    expect(many).to.equal(few);
  });

  it('copies the dead properties of the copied node only, as before (WebDAV COPY)', async () => {
    const inner = (await raw.get<{ id: string }>("SELECT id FROM nodes WHERE parent_id = $p AND name = 'sub0'", {
      p: big,
    }))!.id;
    const prop = (value: string) => [{ op: 'set' as const, namespace: 'urn:x', name: 'color', value }];
    await drive.patchProperties(actor, big, prop('red'), null);
    await drive.patchProperties(actor, inner, prop('blue'), null);
    const before = await used();
    const { node } = await drive.copyReplacing(actor, big, target, 'with properties', {
      overwrite: true,
      shallow: false,
    });
    const props = await raw.all<{ node_id: string; value: string }>(
      `SELECT p.node_id, p.value FROM properties p JOIN nodes n ON n.id = p.node_id WHERE n.parent_id = $t OR n.parent_id = $c`,
      { t: target, c: node.id },
    );
    expect(props).to.deep.equal([{ node_id: node.id, value: 'red' }]);
    const bytes = (await tree(big)).reduce((s, e) => s + e.size, 0);
    expect((await used()) - before).to.equal(bytes + 'urn:x'.length + 'color'.length + 'red'.length);
    await expectClean();
  });

  it('moves, trashes and restores a folder in the same number of statements', async () => {
    const source = await tree(big);
    const other = (await drive.createFolder(actor, rootId, 'elsewhere')).id;
    counts.move = [
      await measure(() => drive.move(actor, small, other)),
      await measure(() => drive.move(actor, big, other)),
    ];
    expect(await tree(big)).to.deep.equal(source);
    const before = await used();
    counts.trash = [await measure(() => drive.trash(actor, small)), await measure(() => drive.trash(actor, big))];
    expect(await used()).to.equal(before); // the bin still counts
    counts.restore = [await measure(() => bin.restore(actor, small)), await measure(() => bin.restore(actor, big))];
    expect(await tree(big)).to.deep.equal(source);
    expect((await lastActivity()).action).to.equal('node.restored');
    await expectClean();
    for (const label of ['move', 'trash', 'restore']) expect(counts[label]![1], label).to.equal(counts[label]![0]);
  });

  it('purges a trashed folder in the same number of statements, releasing its bytes and blob references', async () => {
    const copyOf = async (name: string, from: string) => (await drive.copy(actor, from, target, { name })).id;
    const a = await copyOf('purge small', small);
    const b = await copyOf('purge big', big);
    const before = await used();
    const bytes = (await tree(b)).reduce((s, e) => s + e.size, 0);
    await drive.trash(actor, a);
    await drive.trash(actor, b);
    counts.purge = [await measure(() => bin.purge(actor, a)), await measure(() => bin.purge(actor, b))];
    expect(before - (await used())).to.equal(bytes + (await tree(small)).reduce((s, e) => s + e.size, 0));
    await expectClean();
    expect(counts.purge[1]).to.equal(counts.purge[0]);
  });
});
