import type { Migration } from '../migration.js';
import { columnTypes } from './001-initial.js';
import { setGranteeName, userSharesOldestFirst } from '../repos/shares.js';

/**
 * Stable names for received shares (issue 9): each user share gets its name in the grantee's
 * "Shared with me", unique per grantee case-insensitively. Existing shares are named oldest
 * first, so the share a grantee has had longest keeps the plain name it most likely showed.
 */
export const shareNames: Migration = {
  name: '004-share-names',
  statements: (d) => [
    'ALTER TABLE shares ADD COLUMN grantee_name TEXT',
    `ALTER TABLE shares ADD COLUMN grantee_name_key ${columnTypes(d).key}`,
    "CREATE UNIQUE INDEX shares_grantee_name ON shares (grantee_id, grantee_name_key) WHERE kind = 'user'",
  ],
  // The naming rule is the domain's (share-names.ts), passed in: the backfill names existing shares
  // exactly as the domain names a new one (see MigrationRules).
  run: async (tx, rules) => {
    const taken = new Map<string, Set<string>>();
    for (const s of await userSharesOldestFirst(tx)) {
      const keys = taken.get(s.grantee_id) ?? taken.set(s.grantee_id, new Set()).get(s.grantee_id)!;
      const { name, key } = rules.receivedShareName(
        { nodeName: s.node_name, kind: s.kind, ownerName: s.owner_name },
        (k) => keys.has(k),
      );
      keys.add(key);
      await setGranteeName(tx, s.id, name, key);
    }
  },
};
