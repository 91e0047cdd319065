/**
 * The domain's rules that database migrations apply in their backfills (server/db/migration.ts says
 * why they are handed in): the composition root, fsck and migrate-store pass this object to
 * runMigrations.
 */
import type { MigrationRules } from '../db/migration.js';
import { nameKey, sortKey } from './names.js';
import { stableShareName } from './share-names.js';

export const migrationRules: MigrationRules = {
  receivedShareName: ({ nodeName, kind, ownerName }, taken) => {
    const name = stableShareName(nodeName, kind, ownerName, taken);
    return { name, key: nameKey(name) };
  },
  sortKey,
};
