/**
 * The plans SQLite picks for the walks that must not grow with the data: a path's next name is found
 * by (parent, name key) in nodes_live_name, never by reading every child of the folder, and a
 * subtree's rows are read by rowid, not through the id index (whose pages are random for random ids).
 * SQLite plans without statistics here, so a plan is fixed by the SQL's text alone (its join order
 * and CROSS JOINs): an empty migrated database shows the plan a drive of a million files gets.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type Db, type Params, type Q } from '../../server/db/index.js';
import { runMigrations } from '../../server/db/migrate.js';
import { addRefsOfSubtree } from '../../server/db/repos/blobs.js';
import { walkAs } from '../../server/db/repos/lookup.js';
import { liveSubtree } from '../../server/db/repos/nodes.js';
import { checksummedSubtree, walkKeys } from '../../server/db/repos/paths.js';
import { trashSubtree } from '../../server/db/repos/trash.js';
import { copySubtree, subtreeFiles } from '../../server/db/repos/tree.js';
import { migrationRules } from '../../server/domain/migration-rules.js';

describe('SQLite query plans of the tree walks', function () {
  this.timeout(60_000);
  let dir: string;
  let db: Db;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-plans-'));
    db = await openDb(path.join(dir, 'coffer.sqlite'));
    await runMigrations(db, migrationRules);
  });
  after(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The plans (EXPLAIN QUERY PLAN, one line per step) of every statement `fn` runs. */
  async function plansOf(fn: (q: Q) => Promise<unknown>): Promise<string[]> {
    const seen: [string, Params | undefined][] = [];
    const recording: Q & { dialect: string } = {
      dialect: 'sqlite',
      all: (sql, params, opts) => (seen.push([sql, params]), db.all(sql, params, opts)),
      get: (sql, params, opts) => (seen.push([sql, params]), db.get(sql, params, opts)),
      run: (sql, params) => (seen.push([sql, params]), db.run(sql, params)),
    };
    await fn(recording);
    expect(seen.length, 'statements run').to.be.greaterThan(0);
    const plans: string[] = [];
    for (const [sql, params] of seen) {
      const steps = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
      plans.push(steps.map((s) => s.detail).join('\n'));
    }
    return plans;
  }

  const byNameKey = 'SEARCH c USING INDEX nodes_live_name (parent_id=? AND name_key=?)';

  it('walks a path name by name through nodes_live_name, not through every child', async () => {
    const [plan] = await plansOf((q) => walkKeys(q, 'no-such-root', ['a', 'b', 'c']));
    expect(plan).to.include(byNameKey);
    expect(plan).to.not.include('nodes_parent_sort');
  });

  it('walks a path deeper than the flat walk (the recursive one) the same way', async () => {
    const nameKeys = Array.from({ length: 20 }, (_, i) => `n${i}`);
    const plans = await plansOf((q) =>
      walkAs(q, { userId: 'no-such-user', rootId: 'no-such-root', nameKeys, details: true, now: 0 }),
    );
    const walk = plans.find((p) => p.includes('RECURSIVE STEP'));
    expect(walk, plans.join('\n---\n')).to.include(byNameKey);
    expect(walk).to.not.include('nodes_parent_sort');
  });

  // Each walks the subtree (the anchor row found by its id: one search of the id index) and then
  // reads every node of it again: by rowid.
  const subtreeReaders: [string, (q: Q) => Promise<unknown>][] = [
    ['liveSubtree', (q) => liveSubtree(q, 'no-such-node')],
    ['subtreeFiles', (q) => subtreeFiles(q, 'no-such-node')],
    ['checksummedSubtree', (q) => checksummedSubtree(q, 'no-such-node', 10)],
    ['addRefsOfSubtree', (q) => addRefsOfSubtree(q, 'no-such-node')],
    ['trashSubtree', (q) => trashSubtree(q, { id: 'no-such-node', now: 0, by: null })],
    [
      'copySubtree',
      (q) =>
        copySubtree(q, {
          sourceId: 'no-such-node',
          root: {
            id: 'no-such-copy',
            ownerId: 'no-such-user',
            parentId: 'no-such-parent',
            name: 'x',
            nameKey: 'x',
            sortKey: 'x',
            mime: null,
            etag: 'e',
            createdAt: 0,
          },
          author: { id: null, name: null, via: 'test' },
        }),
    ],
  ];
  for (const [name, run] of subtreeReaders) {
    it(`${name} reads the subtree's rows by rowid, not through the id index`, async () => {
      const [plan] = await plansOf(run);
      const byId = plan!
        .split('\n')
        .filter((step) => /USING (COVERING )?INDEX sqlite_autoindex_nodes_1 \(id=\?\)/.test(step));
      expect(byId, plan).to.have.length(1);
      expect(plan).to.match(/SEARCH \w+ USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    });
  }
});
