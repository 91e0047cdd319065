/** The activity log's rows: appended in the transaction of each change, read newest first. */
import { jsonTextMember, perDialect } from '../dialect.js';
import { num, numOrNull, type Q } from '../index.js';

export interface ActivityInsert {
  ownerId: string;
  actorId: string | null;
  actorName: string;
  action: string;
  nodeId: string | null;
  path: string | null;
  /** JSON text, or null. */
  details: string | null;
  via: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}

export interface ActivityRow extends Omit<ActivityInsert, 'actorName'> {
  id: number;
  actorName: string | null;
  /** The actor's display name now (the log keeps the username they had then). */
  actorDisplayName: string | null;
}

export interface ActivityQuery {
  ownerId: string | null; // null = every owner
  action?: string;
  actorId?: string;
  pathPrefix?: string;
  from?: number;
  to?: number;
  before?: number; // cursor: rows with a smaller id
  limit: number;
}

interface RawActivity {
  id: unknown;
  owner_id: string;
  actor_id: string | null;
  actor_name: string | null;
  actor_display_name: string | null;
  action: string;
  node_id: string | null;
  path: string | null;
  details: string | null;
  via: string;
  ip: string | null;
  user_agent: string | null;
  created_at: unknown;
}

export async function insertActivity(tx: Q, a: ActivityInsert): Promise<void> {
  await tx.run(
    `INSERT INTO activities (owner_id, actor_id, actor_name, action, node_id, path, details, via, ip, user_agent, created_at)
     VALUES ($ownerId, $actorId, $actorName, $action, $nodeId, $path, $details, $via, $ip, $userAgent, $createdAt)`,
    { ...a },
  );
}

/**
 * The newest row about `nodeId` in its owner's log written since `since` (the index on owner and
 * time bounds the walk to that window), with what it takes to tell whether the same actor wrote it.
 */
export async function latestActivityOn(
  q: Q,
  a: { ownerId: string; nodeId: string; since: number },
): Promise<{ id: number; action: string; actorId: string | null; via: string; details: string | null } | undefined> {
  const r = await q.get<{ id: unknown; action: string; actor_id: string | null; via: string; details: string | null }>(
    `SELECT id, action, actor_id, via, details FROM activities
     WHERE owner_id = $ownerId AND created_at >= $since AND node_id = $nodeId
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    a,
  );
  return r && { id: num(r.id), action: r.action, actorId: r.actor_id, via: r.via, details: r.details };
}

const latestVisitSql = perDialect(
  (d) => `SELECT id, details FROM activities
     WHERE owner_id = $ownerId AND created_at >= $since AND node_id = $nodeId AND action = $action
       AND COALESCE(ip, '') = $ip AND ${jsonTextMember('details', 'link')(d)} = $linkId
     ORDER BY created_at DESC, id DESC LIMIT 1`,
);

/** The newest `action` row about `nodeId` through one link from one client address since `since` (a visit to coalesce into). */
export async function latestVisit(
  q: Q,
  a: { ownerId: string; nodeId: string; action: string; linkId: string; ip: string; since: number },
): Promise<{ id: number; details: string | null } | undefined> {
  const r = await q.get<{ id: unknown; details: string | null }>(latestVisitSql(q), a);
  return r && { id: num(r.id), details: r.details };
}

/** Rewrites a row's details and time (a later step of the same change joins its row). */
export async function updateActivity(
  tx: Q,
  a: { id: number; details: string | null; createdAt: number },
): Promise<void> {
  await tx.run('UPDATE activities SET details = $details, created_at = $createdAt WHERE id = $id', { ...a });
}

/** Newest first; `before` is the id cursor of the previous page. */
export async function listActivity(q: Q, f: ActivityQuery): Promise<ActivityRow[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: f.limit };
  const add = (sql: string, key: string, value: unknown) => {
    if (value === undefined || value === null) return;
    where.push(sql);
    params[key] = value;
  };
  add('owner_id = $ownerId', 'ownerId', f.ownerId);
  add('action = $action', 'action', f.action);
  add('actor_id = $actorId', 'actorId', f.actorId);
  add(
    "path LIKE $prefix ESCAPE '\\'",
    'prefix',
    f.pathPrefix === undefined ? undefined : f.pathPrefix.replace(/[\\%_]/g, '\\$&') + '%',
  );
  add('created_at >= $from', 'from', f.from);
  add('created_at <= $to', 'to', f.to);
  add('id < $before', 'before', f.before);
  const rows = await q.all<RawActivity>(
    `SELECT a.*, (SELECT u.display_name FROM users u WHERE u.id = a.actor_id) AS actor_display_name
     FROM activities a ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $limit`,
    params,
  );
  return rows.map((r) => ({
    id: num(r.id),
    ownerId: r.owner_id,
    actorId: r.actor_id,
    actorName: r.actor_name,
    actorDisplayName: r.actor_display_name,
    action: r.action,
    nodeId: r.node_id,
    path: r.path,
    details: r.details,
    via: r.via,
    ip: r.ip,
    userAgent: r.user_agent,
    createdAt: numOrNull(r.created_at) ?? 0,
  }));
}
