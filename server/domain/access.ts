/**
 * The access gate. Effective access = owner, else the strongest inherited user share (one recursive
 * query), else none. A link actor has the link's permission inside the link's subtree only.
 * "none" answers not_found (no existence oracle); seen-but-not-allowed answers forbidden.
 */
import type { Q } from '../db/index.js';
import { getLiveNode, inheritedShareLevel, isSelfOrAncestor } from '../db/repos/nodes.js';
import type { Actor } from './actor.js';
import { forbidden, notFound } from './errors.js';
import { SHARED_FOLDER_ID } from './shared-folder.js';
import type { Access, NodeRow } from './types.js';

const RANK: Record<Access, number> = { none: 0, view: 1, edit: 2, owner: 3 };
export type Need = 'view' | 'edit' | 'owner';

export function atLeast(have: Access, need: Need): boolean {
  return RANK[have] >= RANK[need];
}

export async function resolveAccess(q: Q, actor: Actor, node: NodeRow, now: number): Promise<Access> {
  switch (actor.kind) {
    case 'system':
      return 'owner';
    case 'user': {
      if (node.ownerId === actor.user.id) return 'owner';
      const level = await inheritedShareLevel(q, node.id, actor.user.id, now);
      return level >= 2 ? 'edit' : level === 1 ? 'view' : 'none';
    }
    case 'link': {
      if (node.ownerId !== actor.share.ownerId) return 'none';
      // A file drop's visitors see nothing: their one write, a new file, goes through FileDrops (file-drop.ts).
      const { permission } = actor.share;
      if (permission === 'upload') return 'none';
      return (await isSelfOrAncestor(q, actor.share.nodeId, node.id)) ? permission : 'none';
    }
  }
}

/** Loads a live node the actor may `need`; throws not_found (cannot see it) or forbidden. */
export async function requireNode(
  q: Q,
  actor: Actor,
  id: string,
  need: Need,
  now: number,
): Promise<{ node: NodeRow; access: Access }> {
  if (id === SHARED_FOLDER_ID)
    throw forbidden('"Shared with me" only lists what others share with you; it cannot be changed');
  const node = await getLiveNode(q, id);
  if (!node) throw notFound();
  const access = await resolveAccess(q, actor, node, now);
  if (access === 'none') throw notFound();
  if (!atLeast(access, need))
    throw forbidden(need === 'owner' ? 'Only the owner can do this' : `You need ${need} access for this`);
  return { node, access };
}

/**
 * Nodes the Namespace reached through a share root for a user, in the query that checked the share
 * (unexpired, to that user, on a live node of an enabled owner): view access is inherited by all
 * that lies below a share root, so for these nodes the answer is known without another query.
 */
const reachedThroughShare = new WeakMap<NodeRow, string>();

export function markReachedThroughShare(node: NodeRow, userId: string): void {
  reachedThroughShare.set(node, userId);
}

/**
 * Throws unless the actor may view a node it has already resolved; the owner's own nodes, and those
 * the actor reached through a share, cost no query.
 */
export async function requireViewable(q: Q, actor: Actor, node: NodeRow, now: number): Promise<void> {
  if (actor.kind === 'user' && (node.ownerId === actor.user.id || reachedThroughShare.get(node) === actor.user.id))
    return;
  await requireNode(q, actor, node.id, 'view', now);
}
