/**
 * The activity log: one row per mutation, written in the mutation's transaction (`tx` is required),
 * attributed to the resource's owner with the actor beside it.
 */
import { num, numOrNull, type Q } from '../db/index.js';
import type { Actor } from './actor.js';
import type { Via } from './types.js';

export type Action =
  | 'folder.created'
  | 'file.uploaded'
  | 'file.replaced'
  | 'node.renamed'
  | 'node.moved'
  | 'node.copied'
  | 'node.trashed'
  | 'node.restored'
  | 'node.purged'
  | 'node.modified'
  | 'auth.login'
  | 'auth.login_failed'
  | 'auth.logout'
  | 'auth.password_changed'
  | 'user.created'
  | 'user.updated'
  | 'share.created'
  | 'share.updated'
  | 'share.revoked'
  | 'link.created'
  | 'link.revoked'
  | 'version.restored'
  | 'version.deleted'
  | 'version.pruned'
  | 'share.renamed'
  | 'lock.broken';

export interface ActivityEntry {
  ownerId: string;
  action: Action;
  nodeId?: string | null;
  path?: string | null;
  details?: Record<string, unknown>;
}

export async function record(tx: Q, actor: Actor, entry: ActivityEntry, now: number): Promise<void> {
  await tx.run(
    `INSERT INTO activities (owner_id, actor_id, actor_name, action, node_id, path, details, via, ip, user_agent, created_at)
     VALUES ($ownerId, $actorId, $actorName, $action, $nodeId, $path, $details, $via, $ip, $ua, $now)`,
    {
      ownerId: entry.ownerId,
      actorId: actor.kind === 'user' ? actor.user.id : null,
      actorName: actor.kind === 'user' ? actor.user.username : actor.kind === 'link' ? 'link visitor' : 'system',
      action: entry.action,
      nodeId: entry.nodeId ?? null,
      path: entry.path ?? null,
      details: entry.details ? JSON.stringify(entry.details) : null,
      via: actor.origin.via,
      ip: actor.origin.ip ?? null,
      ua: actor.origin.userAgent?.slice(0, 512) ?? null,
      now,
    },
  );
}

export interface ActivityView {
  id: number;
  ownerId: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  nodeId: string | null;
  path: string | null;
  details: Record<string, unknown> | null;
  via: Via;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}

export interface ActivityFilter {
  ownerId: string | null; // null = every owner (admins)
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
  action: string;
  node_id: string | null;
  path: string | null;
  details: string | null;
  via: Via;
  ip: string | null;
  user_agent: string | null;
  created_at: unknown;
}

/** Newest first; `before` is the id cursor of the previous page. */
export async function listActivity(q: Q, f: ActivityFilter): Promise<ActivityView[]> {
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
    `SELECT * FROM activities ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $limit`,
    params,
  );
  return rows.map((r) => ({
    id: num(r.id),
    ownerId: r.owner_id,
    actorId: r.actor_id,
    actorName: r.actor_name,
    action: r.action,
    nodeId: r.node_id,
    path: r.path,
    details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    via: r.via,
    ip: r.ip,
    userAgent: r.user_agent,
    createdAt: numOrNull(r.created_at) ?? 0,
  }));
}
