/**
 * A path-addressed request's first query: the requesting user's row (against which a cached
 * credential is checked) read together with the path the request names — walked down from the
 * user's home folder, or the start of a path through "Shared with me".
 *
 * Each comes back as one JSON document rather than rows: these queries return sixty-odd values,
 * and a driver builds every value of a row with a fresh key string, which (measured with
 * node-sqlite3, the driver then) cost a small request more CPU than SQLite took to find them
 * (dialect.ts, `jsonObject`).
 */
import { jsonArray, jsonArrayOf, jsonObject, jsonValue, perDialect, type Dialect } from '../dialect.js';
import { numOrNull, type Q } from '../index.js';
import { readCache } from '../read-cache.js';
import type { ChecksummedNode, UserRow } from '../rows.js';
import { NODE_COLS } from './nodes.js';
import { toChecksummed, walkCte, type RawChecksummed } from './paths.js';
import type { PropertyRow } from './properties.js';
import { RECEIVED_CTE, TOP_RECEIVED, toReceivedRoot, type RawReceivedRoot, type ReceivedRoot } from './shares.js';
import { toUser, USER_COLS, type RawUser } from './users.js';

type Field = [key: string, sql: string];

/** A node row (`n`, NODE_COLS) and its blob's checksums (`b`), as JSON fields named like the columns. */
const nodeFields = (n = 'n', b = 'b'): Field[] => [
  ...NODE_COLS.split(',')
    .map((c) => c.trim().slice(2))
    .map((c): Field => [c, `${n}.${c}`]),
  ['sha1', `${b}.sha1`],
  ['md5', `${b}.md5`],
];
const NODE_FIELDS = nodeFields();

/** A user row (`u`) as JSON fields named like the columns. */
const USER_FIELDS = USER_COLS.split(', ').map((c): Field => [c, `u.${c}`]);

/** The row of user `$userId` as JSON (null when there is none). */
const userJson = (d: Dialect) =>
  jsonValue(`(SELECT ${jsonObject(USER_FIELDS)(d)} FROM users u WHERE u.id = $userId)`)(d);

/** The dead properties of node `id` and when the last lock of its owner `owner` expires, when `when` holds. */
const detailFields = (d: Dialect, id: string, owner: string, when: string): Field[] => {
  const properties = `(SELECT ${jsonArrayOf(
    jsonObject([
      ['namespace', 'p.namespace'],
      ['name', 'p.name'],
      ['value', 'p.value'],
    ])(d),
    'p.namespace, p.name',
  )(d)} FROM properties p WHERE p.node_id = ${id})`;
  return [
    ['properties', `CASE WHEN ${when} THEN ${jsonValue(properties)(d)} END`],
    // When the owner's last lock expires, rather than whether one is live now: the answer then does
    // not depend on the time it was read at, and may be cached (read-cache.ts).
    [
      'owner_locks_until',
      `CASE WHEN ${when} THEN (SELECT MAX(l.expires_at) FROM locks l WHERE l.owner_id = ${owner}) END`,
    ],
  ];
};

/**
 * With `$bytes = 1`, the bytes of blob `hash` when they are stored inline (null when they are in the
 * blob store): a GET of a small file then reads them with its path, not in a second query. A column
 * of its own beside the JSON document: the driver hands a BLOB over as a Buffer, where inside the
 * document the bytes would be hex text, twice their size to build, escape, parse and decode.
 */
const inlineColumn = (hash: string) =>
  `CASE WHEN $bytes = 1 THEN (SELECT i.bytes FROM inline_blobs i WHERE i.hash = ${hash}) END AS inline`;

/**
 * Paths of up to this many names are walked with one join per name (a statement text per depth,
 * each prepared once): a quarter cheaper than the recursive walk, which takes deeper paths.
 */
const FLAT_DEPTH = 12;

// users u → n0 (the root) → n1 (the child named $k1) → … → nD, each with its blob; the chain stops at the first null.
const flatWalkSql = Array.from({ length: FLAT_DEPTH + 1 }, (_, depth) =>
  perDialect((d) => {
    const levels = Array.from({ length: depth + 1 }, (_, i) => i);
    const joins = levels.map(
      (i) =>
        `LEFT JOIN nodes n${i} ON ${i === 0 ? 'n0.id = $rootId' : `n${i}.parent_id = n${i - 1}.id AND n${i}.name_key = $k${i}`}
           AND n${i}.deleted_at IS NULL LEFT JOIN blobs b${i} ON b${i}.hash = n${i}.content_hash`,
    );
    const chain = jsonArray(
      levels.map((i) => `CASE WHEN n${i}.id IS NOT NULL THEN ${jsonObject(nodeFields(`n${i}`, `b${i}`))(d)} END`),
    )(d);
    return `SELECT ${jsonObject([
      ['user', jsonObject(USER_FIELDS)(d)],
      ['chain', chain],
      ...detailFields(d, `n${depth}.id`, `n${depth}.owner_id`, '$detail = 1'),
    ])(d)} AS doc, ${inlineColumn(`n${depth}.content_hash`)}
     FROM users u ${joins.join('\n')} WHERE u.id = $userId`;
  }),
);

// Deeper paths: the recursive walk (paths.ts); the node at depth $depth (the target) with its details.
const recursiveWalkSql = perDialect((d) => {
  const chain = `(SELECT ${jsonArrayOf(jsonObject(NODE_FIELDS)(d), 'walk.depth')(d)}
       FROM walk CROSS JOIN nodes n ON n.id = walk.id LEFT JOIN blobs b ON b.hash = n.content_hash)`;
  const target = (field: string) =>
    `(SELECT ${field} FROM walk CROSS JOIN nodes t ON t.id = walk.id WHERE walk.depth = $depth)`;
  return `WITH RECURSIVE ${walkCte(d)}
     SELECT ${jsonObject([
       ['user', userJson(d)],
       ['chain', jsonValue(chain)(d)],
       ...detailFields(d, target('t.id'), target('t.owner_id'), '$detail = 1'),
     ])(d)} AS doc, ${inlineColumn(target('t.content_hash'))}`;
});

/** What a request's first query reads: the requesting user's row with the path it names. */
export interface WalkAs {
  user: UserRow;
  /** The live nodes of the path that exist, root first (as paths.ts `walkKeys`). */
  chain: ChecksummedNode[];
  /** With `details`, when the whole path exists: the target's dead properties. */
  properties: PropertyRow[];
  /** With `details`, when the whole path exists: whether the target's owner holds any unexpired lock. */
  ownerLocked: boolean;
  /** With `bytes`, when the whole path exists: the target's inline bytes, or null when it has none. */
  inlineBytes?: Buffer | null;
}

interface WalkDoc {
  user: RawUser | null;
  chain: (RawChecksummed | null)[];
  properties: { namespace: string; name: string; value: string }[] | null;
  owner_locks_until: unknown;
}

/**
 * The name keys walked down from `rootId` with the row of user `userId` (undefined when there is no
 * such user), and with `details` the dead properties of the node the whole path names and whether
 * its owner holds any lock, with `bytes` the bytes of its content when they are inline: all a small
 * WebDAV request reads.
 */
export async function walkAs(q: Q, a: WalkArgs & { now: number }): Promise<WalkAs | undefined> {
  const w = await cachedWalk(q, a);
  if (!w) return undefined;
  const { ownerLocksUntil, ...rest } = w;
  return { ...rest, ownerLocked: ownerLocksUntil !== null && ownerLocksUntil > a.now };
}

interface WalkArgs {
  userId: string;
  rootId: string;
  nameKeys: string[];
  details: boolean;
  bytes?: boolean;
}
type Walked = Omit<WalkAs, 'ownerLocked'> & { ownerLocksUntil: number | null };

/**
 * A drive's small requests ask for the same few paths again and again (a client polls the folder
 * it shows, revalidates the files it opened): while the database is unchanged, the walk's answer
 * is the same, and is not read again.
 */
const cachedWalk = readCache<WalkArgs, Walked | undefined>({
  key: (a) => `${a.userId}/${a.rootId}/${a.details ? 1 : 0}${a.bytes ? 1 : 0}/${a.nameKeys.join('/')}`,
  read: walk,
  copy: (w) =>
    w && {
      ...w,
      user: { ...w.user },
      chain: w.chain.map((n) => ({ ...n })),
      properties: w.properties.map((p) => ({ ...p })),
    },
  bytes: (w) => w?.inlineBytes?.length ?? 0,
});

async function walk(q: Q, a: WalkArgs): Promise<Walked | undefined> {
  const depth = a.nameKeys.length;
  const params: Record<string, unknown> = {
    userId: a.userId,
    rootId: a.rootId,
    detail: a.details ? 1 : 0,
    bytes: a.bytes ? 1 : 0,
  };
  let sql: string;
  if (depth <= FLAT_DEPTH) {
    sql = flatWalkSql[depth]!(q);
    a.nameKeys.forEach((k, i) => (params[`k${i + 1}`] = k));
  } else {
    sql = recursiveWalkSql(q);
    params.depth = depth;
    params.keys = JSON.stringify(a.nameKeys);
  }
  const row = await q.get<{ doc: string; inline: Buffer | null }>(sql, params);
  const doc = row && (JSON.parse(row.doc) as WalkDoc);
  if (!doc?.user) return undefined;
  const end = doc.chain.indexOf(null);
  const chain = (end < 0 ? doc.chain : doc.chain.slice(0, end)) as RawChecksummed[];
  const whole = chain.length === depth + 1;
  const target = a.details && whole ? chain[depth]! : undefined;
  return {
    ...(a.bytes && whole ? { inlineBytes: row!.inline ?? null } : {}),
    user: toUser(doc.user),
    chain: chain.map(toChecksummed),
    properties: target ? (doc.properties ?? []).map((p) => ({ nodeId: target.id, ...p })) : [],
    ownerLocksUntil: target !== undefined ? numOrNull(doc.owner_locks_until) : null,
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
