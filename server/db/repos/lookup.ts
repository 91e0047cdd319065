/**
 * A path-addressed request's first query: the requesting user's row (against which a cached
 * credential is checked) read together with the path the request names — walked down from the
 * user's home folder, or the start of a path through "Shared with me".
 *
 * Each comes back as one JSON document rather than rows: these queries return sixty-odd values,
 * and node-sqlite3 builds every value of a row with a fresh key string, which cost a small request
 * more CPU than SQLite took to find them (dialect.ts, `jsonObject`).
 */
import { jsonArrayOf, jsonObject, jsonValue, perDialect, type Dialect } from '../dialect.js';
import { bool, type Q } from '../index.js';
import type { ChecksummedNode, UserRow } from '../rows.js';
import { NODE_COLS } from './nodes.js';
import { toChecksummed, walkCte, type RawChecksummed } from './paths.js';
import type { PropertyRow } from './properties.js';
import { RECEIVED_CTE, TOP_RECEIVED, toReceivedRoot, type RawReceivedRoot, type ReceivedRoot } from './shares.js';
import { toUser, USER_COLS, type RawUser } from './users.js';

type Field = [key: string, sql: string];

/** A node row (`n`, NODE_COLS) and its blob's checksums (`b`), as JSON fields named like the columns. */
const NODE_FIELDS: Field[] = [
  ...NODE_COLS.split(',')
    .map((c) => c.trim())
    .map((c): Field => [c.slice(c.indexOf('.') + 1), c]),
  ['sha1', 'b.sha1'],
  ['md5', 'b.md5'],
];

/** The row of user `$userId` as JSON (null when there is none). */
const userJson = (d: Dialect) =>
  jsonValue(
    `(SELECT ${jsonObject(USER_COLS.split(', ').map((c): Field => [c, `u.${c}`]))(d)} FROM users u WHERE u.id = $userId)`,
  )(d);

/** What a request's first query reads: the requesting user's row with the path it names. */
export interface WalkAs {
  user: UserRow;
  chain: ChecksummedNode[];
  /** The dead properties of the node at depth `detailDepth`, when the walk got there. */
  properties: PropertyRow[];
  /** Whether the owner of that node holds any unexpired lock. */
  ownerLocked: boolean;
}

// The chain in depth order; the node at $detail also carries its dead properties and whether its
// owner holds any unexpired lock (one probe of the locks index).
const walkAsSql = perDialect((d) => {
  const detail: Field[] = [
    [
      'properties',
      `CASE WHEN walk.depth = $detail THEN ${jsonValue(
        `(SELECT ${jsonArrayOf(
          jsonObject([
            ['namespace', 'p.namespace'],
            ['name', 'p.name'],
            ['value', 'p.value'],
          ])(d),
          'p.namespace, p.name',
        )(d)} FROM properties p WHERE p.node_id = n.id)`,
      )(d)} END`,
    ],
    [
      'owner_locked',
      'CASE WHEN walk.depth = $detail THEN EXISTS (SELECT 1 FROM locks l WHERE l.owner_id = n.owner_id AND l.expires_at > $now) END',
    ],
  ];
  const chain = `(SELECT ${jsonArrayOf(jsonObject([...NODE_FIELDS, ...detail])(d), 'walk.depth')(d)}
       FROM walk CROSS JOIN nodes n ON n.id = walk.id LEFT JOIN blobs b ON b.hash = n.content_hash)`;
  return `WITH RECURSIVE ${walkCte(d)}
     SELECT ${jsonObject([
       ['user', userJson(d)],
       ['chain', jsonValue(chain)(d)],
     ])(d)} AS doc`;
});

type Detailed = RawChecksummed & {
  properties: { namespace: string; name: string; value: string }[] | null;
  owner_locked: unknown;
};

/**
 * The name keys walked down from `rootId` (as paths.ts `walkKeys`) with the row of user `userId`
 * (undefined when there is no such user), and, for the node at depth `detailDepth` (-1: none), its
 * dead properties and whether its owner holds any lock: all a small WebDAV request reads.
 */
export async function walkAs(
  q: Q,
  a: { userId: string; rootId: string; nameKeys: string[]; detailDepth: number; now: number },
): Promise<WalkAs | undefined> {
  const row = await q.get<{ doc: string }>(walkAsSql(q), {
    userId: a.userId,
    rootId: a.rootId,
    keys: JSON.stringify(a.nameKeys),
    detail: a.detailDepth,
    now: a.now,
  });
  const doc = JSON.parse(row!.doc) as { user: RawUser | null; chain: Detailed[] };
  if (!doc.user) return undefined;
  const target = doc.chain[a.detailDepth];
  return {
    user: toUser(doc.user),
    chain: doc.chain.map(toChecksummed),
    properties: (target?.properties ?? []).map((p) => ({ nodeId: target!.id, ...p })),
    ownerLocked: bool(target?.owner_locked),
  };
}

const sharedStartSql = perDialect((d) => {
  const root = `(SELECT ${jsonObject(NODE_FIELDS)(d)}
       FROM users u CROSS JOIN nodes n ON n.id = u.root_id LEFT JOIN blobs b ON b.hash = n.content_hash WHERE u.id = $userId)`;
  const received = `(SELECT ${jsonArrayOf(jsonObject([...NODE_FIELDS, ['share_name', 'g.share_name']])(d), 'g.share_key')(d)}
       FROM ${TOP_RECEIVED.from} WHERE ${TOP_RECEIVED.where})`;
  return `WITH RECURSIVE ${RECEIVED_CTE}
     SELECT ${jsonObject([
       ['user', userJson(d)],
       ['root', jsonValue(root)(d)],
       ['received', jsonValue(received)(d)],
     ])(d)} AS doc`;
});

/**
 * The start of a path through "Shared with me", in one query: user `userId`'s row, their home
 * folder and the roots of what others share with them (shares.ts `receivedRoots`); undefined when
 * there is no such user.
 */
export async function sharedStartAs(
  q: Q,
  userId: string,
  now: number,
): Promise<{ user: UserRow; root: ChecksummedNode; received: ReceivedRoot[] } | undefined> {
  const row = await q.get<{ doc: string }>(sharedStartSql(q), { userId, now });
  const doc = JSON.parse(row!.doc) as {
    user: RawUser | null;
    root: RawChecksummed | null;
    received: RawReceivedRoot[];
  };
  if (!doc.user || !doc.root) return undefined;
  return { user: toUser(doc.user), root: toChecksummed(doc.root), received: doc.received.map(toReceivedRoot) };
}
