import type { Migration } from '../migration.js';

/**
 * Claims on a blob's object while an upload places it or the garbage collector deletes it, for a
 * blob store whose removal is not atomic against a concurrent placement across instances (an object
 * store): server/domain/blob-claims.ts has the protocol. Rows live for one placement or one deletion.
 */
export const blobClaims: Migration = {
  name: '013-blob-claims',
  statements: [
    `CREATE TABLE blob_claims (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL,
      kind TEXT NOT NULL,
      at BIGINT NOT NULL
    )`,
    'CREATE INDEX blob_claims_hash ON blob_claims (hash, kind, at)',
  ],
};
