/** What a migration is (server/db/migrations/*), apart from the list that runs them (migrate.ts). */
import type { Dialect } from './dialect.js';
import type { Q } from './index.js';

/**
 * Rules a backfill applies that belong to the domain, handed in by the composition root. server/db
 * imports nothing from the domain, and a backfill must not restate a rule: a copy of the naming rule
 * here would name old shares one way and new ones another the day either changed. Passing the
 * domain's own function keeps one rule and the layering both.
 */
export interface MigrationRules {
  /** The stable name of a received share in its grantee's "Shared with me", and its name key (004). */
  receivedShareName(
    share: { nodeName: string; kind: 'file' | 'folder'; ownerName: string },
    taken: (key: string) => boolean,
  ): { name: string; key: string };
  /** The key a node's name sorts by in listings (017). */
  sortKey(name: string): string;
}

export interface Migration {
  name: string;
  /** One list for both dialects, or the list for each (types and features SQLite and PostgreSQL spell differently). */
  statements: string[] | ((d: Dialect) => string[]);
  /** Data changes that SQL alone cannot express (backfills computed in code), run after the statements in the same transaction. */
  run?: (tx: Q, rules: MigrationRules) => Promise<void>;
}
