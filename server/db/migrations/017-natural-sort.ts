import type { Migration } from '../migration.js';

const BATCH = 1000;

/**
 * Natural sort by name (f2 before f10): each node keeps a sort key computed from its name by the
 * domain's rule (server/domain/names.ts sortKey), which listings order by. Existing rows are keyed
 * by that same rule, handed in by the composition root (MigrationRules), a batch at a time.
 */
export const naturalSort: Migration = {
  name: '017-natural-sort',
  statements: ['ALTER TABLE nodes ADD COLUMN sort_key TEXT'],
  async run(tx, rules) {
    for (;;) {
      const rows = await tx.all<{ id: string; name: string }>(
        'SELECT id, name FROM nodes WHERE sort_key IS NULL ORDER BY id LIMIT $limit',
        { limit: BATCH },
      );
      for (const r of rows) {
        await tx.run('UPDATE nodes SET sort_key = $key WHERE id = $id', { id: r.id, key: rules.sortKey(r.name) });
      }
      if (rows.length < BATCH) break;
    }
    await tx.run('CREATE INDEX nodes_parent_sort ON nodes (parent_id, sort_key) WHERE deleted_at IS NULL');
  },
};
