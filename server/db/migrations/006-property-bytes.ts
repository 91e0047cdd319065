import type { Migration } from '../migration.js';
import { backfillPropertyBytes } from '../repos/properties.js';

/**
 * WebDAV dead properties count toward the owner's quota: each row records the bytes it stores, and
 * what properties already stored is added to their owners' usage (it may put someone over quota:
 * they can delete, not add, until they are under it again).
 */
export const propertyBytes: Migration = {
  name: '006-property-bytes',
  statements: ['ALTER TABLE properties ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0'],
  run: async (tx) => {
    await backfillPropertyBytes(tx);
    await tx.run(
      `UPDATE users SET used_bytes = used_bytes +
         (SELECT COALESCE(SUM(p.bytes), 0) FROM properties p JOIN nodes n ON n.id = p.node_id WHERE n.owner_id = users.id)`,
    );
  },
};
