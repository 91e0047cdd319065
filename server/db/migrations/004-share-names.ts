import type { Migration } from '../migrate.js';
import { setGranteeName, userSharesOldestFirst } from '../repos/shares.js';
// The one naming rule (pure, no I/O): the backfill must name existing shares exactly as the
// domain names a new one, so it is imported rather than restated here.
import { nameKey } from '../../domain/names.js';
import { stableShareName } from '../../domain/share-names.js';

/**
 * Stable names for received shares (issue 9): each user share gets its name in the grantee's
 * "Shared with me", unique per grantee case-insensitively. Existing shares are named oldest
 * first, so the share a grantee has had longest keeps the plain name it most likely showed.
 */
export const shareNames: Migration = {
  name: '004-share-names',
  statements: [
    'ALTER TABLE shares ADD COLUMN grantee_name TEXT',
    'ALTER TABLE shares ADD COLUMN grantee_name_key TEXT',
    "CREATE UNIQUE INDEX shares_grantee_name ON shares (grantee_id, grantee_name_key) WHERE kind = 'user'",
  ],
  run: async (tx) => {
    const taken = new Map<string, Set<string>>();
    for (const s of await userSharesOldestFirst(tx)) {
      const keys = taken.get(s.grantee_id) ?? taken.set(s.grantee_id, new Set()).get(s.grantee_id)!;
      const name = stableShareName(s.node_name, s.kind, s.owner_name, (k) => keys.has(k));
      keys.add(nameKey(name));
      await setGranteeName(tx, s.id, name, nameKey(name));
    }
  },
};
