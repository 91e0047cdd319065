/**
 * The activity log: one row per mutation, written in the mutation's transaction (`tx` is required),
 * attributed to the resource's owner with the actor beside it.
 */
import type { Db, Q } from '../db/index.js';
import {
  insertActivity,
  latestActivityOn,
  latestVisit,
  listActivity as activityRows,
  updateActivity,
  type ActivityQuery,
} from '../db/repos/activity.js';
import { pathOfNode } from '../db/repos/nodes.js';
import type { Actor } from './actor.js';
import { forbidden } from './errors.js';
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
  | 'auth.password_reset_requested'
  | 'auth.password_reset'
  | 'auth.session_ended'
  | 'user.password_set'
  | 'user.deleted'
  | 'user.created'
  | 'user.updated'
  | 'share.created'
  | 'share.updated'
  | 'share.revoked'
  | 'link.created'
  | 'link.revoked'
  | 'link.viewed'
  | 'link.downloaded'
  | 'link.password_failed'
  | 'version.restored'
  | 'version.deleted'
  | 'version.pruned'
  | 'share.renamed'
  | 'lock.broken'
  | 'app_password.created'
  | 'app_password.deleted'
  | 'app_password.first_used'
  | 'totp.enabled'
  | 'totp.disabled'
  | 'totp.reset'
  | 'auth.recovery_code_used';

export interface ActivityEntry {
  ownerId: string;
  action: Action;
  nodeId?: string | null;
  path?: string | null;
  details?: Record<string, unknown>;
}

export async function record(tx: Q, actor: Actor, entry: ActivityEntry, now: number): Promise<void> {
  await insertActivity(tx, {
    ownerId: entry.ownerId,
    actorId: actor.kind === 'user' ? actor.user.id : null,
    actorName: actor.kind === 'user' ? actor.user.username : actor.kind === 'link' ? 'link visitor' : 'system',
    action: entry.action,
    nodeId: entry.nodeId ?? null,
    path: entry.path ?? null,
    details: entry.details ? JSON.stringify(entry.details) : null,
    via: actor.origin.via,
    ip: actor.origin.ip ?? null,
    userAgent: actor.origin.userAgent?.slice(0, 512) ?? null,
    createdAt: now,
  });
}

/** How soon after creating an empty file its content may follow and still count as the same upload. */
const FILL_WINDOW_MS = 60_000;

/**
 * Content written into a file that was created empty moments before by the same actor through the
 * same door: davfs2, macOS Finder and Windows create an empty file, then PUT its bytes. That is one
 * upload to the person who did it, so the content joins the creation's "Uploaded" row (its size and
 * time updated) instead of adding a "Replaced" row. False when it is not such a pair.
 */
export async function recordFill(
  tx: Q,
  actor: Actor,
  node: { id: string; ownerId: string },
  now: number,
  size: number,
): Promise<boolean> {
  const last = await latestActivityOn(tx, { ownerId: node.ownerId, nodeId: node.id, since: now - FILL_WINDOW_MS });
  const actorId = actor.kind === 'user' ? actor.user.id : null;
  if (!last || last.action !== 'file.uploaded' || last.actorId !== actorId || last.via !== actor.origin.via)
    return false;
  const details = { ...(last.details ? (JSON.parse(last.details) as Record<string, unknown>) : {}), size };
  await updateActivity(tx, { id: last.id, details: JSON.stringify(details), createdAt: now });
  return true;
}

/** Visits of one public link from one address within this window share a row (with a count). */
const VISIT_WINDOW_MS = 3600_000;

/**
 * A link visitor's view of the link or download through it, in the owner's log: coalesced, so a
 * visitor who opens the page ten times in an hour (or a player fetching a video in pieces) makes one
 * row whose `count` says how often, not ten rows that bury everything else.
 */
export async function recordVisit(
  tx: Q,
  actor: Actor & { kind: 'link' },
  node: { id: string; ownerId: string },
  action: 'link.viewed' | 'link.downloaded',
  now: number,
): Promise<void> {
  const ip = actor.origin.ip ?? '';
  const last = await latestVisit(tx, {
    ownerId: node.ownerId,
    nodeId: node.id,
    action,
    linkId: actor.share.id,
    ip,
    since: now - VISIT_WINDOW_MS,
  });
  if (last) {
    const details = last.details ? (JSON.parse(last.details) as Record<string, unknown>) : {};
    const count = (typeof details.count === 'number' ? details.count : 1) + 1;
    await updateActivity(tx, { id: last.id, details: JSON.stringify({ ...details, count }), createdAt: now });
    return;
  }
  await recordOn(tx, actor, node, action, now, { link: actor.share.id, count: 1 });
}

/** Records an action on a node in its owner's log, at the node's path now (or `path`, when it is gone from there). */
export async function recordOn(
  tx: Q,
  actor: Actor,
  node: { id: string; ownerId: string },
  action: Action,
  now: number,
  details?: Record<string, unknown>,
  path?: string,
): Promise<void> {
  const at = path ?? (await pathOfNode(tx, node.id));
  await record(tx, actor, { ownerId: node.ownerId, action, nodeId: node.id, path: at, details }, now);
}

export interface ActivityView {
  id: number;
  ownerId: string;
  actorId: string | null;
  actorName: string | null;
  actorDisplayName: string | null;
  action: string;
  nodeId: string | null;
  path: string | null;
  details: Record<string, unknown> | null;
  via: Via;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}

export type ActivityFilter = ActivityQuery;

/** Newest first; `before` is the id cursor of the previous page. */
export async function listActivity(q: Q, f: ActivityFilter): Promise<ActivityView[]> {
  return (await activityRows(q, f)).map((r) => ({
    ...r,
    via: r.via as Via,
    details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
  }));
}

/** Reading the log: owners see everything done to what they own, by anyone. */
export class ActivityLog {
  constructor(private readonly db: Db) {}

  /**
   * The activity log of resources the actor owns (everything done to them, by anyone).
   * Admins may read another owner's log (`ownerId`) or everyone's (`ownerId: null`).
   */
  async list(
    actor: Actor,
    filter: Omit<ActivityFilter, 'ownerId'> & { ownerId?: string | null },
  ): Promise<ActivityView[]> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user has an activity log');
    const wantsOther = filter.ownerId !== undefined && filter.ownerId !== actor.user.id;
    if (wantsOther && actor.user.role !== 'admin')
      throw forbidden("Only administrators can read other users' activity");
    return listActivity(this.db, { ...filter, ownerId: filter.ownerId === undefined ? actor.user.id : filter.ownerId });
  }
}
