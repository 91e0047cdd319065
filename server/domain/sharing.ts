/**
 * User shares: view or edit on a node and everything below it, granted by its owner to another
 * user, who finds it under a stable name in their "Shared with me" (share-names.ts). Only the
 * owner shares, changes or revokes; the grantee may rename it for themselves or leave it.
 * Public links are links.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Q } from '../db/index.js';
import { getLiveNode } from '../db/repos/nodes.js';
import { sharesByOwner, sharesOfNode, sharesReceived, shareById } from '../db/repos/share-rows.js';
import {
  deleteShare,
  insertUserShare,
  receivedNameKeys,
  setGranteeName,
  updateUserShare,
  userShareId,
} from '../db/repos/shares.js';
import { usersByExactKey, usersByPrefix } from '../db/repos/users.js';
import type { Actor } from './actor.js';
import { record, recordOn } from './activity.js';
import { requireNode } from './access.js';
import type { Clock } from './clock.js';
import { alreadyExists, DomainError, forbidden, invalidInput, notFound } from './errors.js';
import { dropLocksAfterRevoke } from './lock-breaking.js';
import { nodeKeyPath } from './locks.js';
import { nameKey, validateName } from './names.js';
import { stableShareName } from './share-names.js';
import {
  byKind,
  ownedShare,
  signedInUser,
  toUserShare,
  userPermission,
  type LinkView,
  type UserShareView,
} from './share-views.js';
import { SHARED_FOLDER_NAME } from './shared-folder.js';
import { findUserByLogin, requireUser } from './users.js';
import type { NodeView, Permission } from './types.js';

export type { LinkView, UserShareView } from './share-views.js';

/** A user as the share dialog's autocomplete shows them; `email` only when the caller may see it. */
export interface DirectoryEntry {
  id: string;
  username: string;
  displayName: string | null;
  email?: string;
}

/** `all`: username prefixes are searchable; `exact`: only a whole username or email finds a user. */
export type DirectoryMode = 'all' | 'exact';

export interface IncomingShare extends NodeView {
  shareId: string;
  /** Its stable name in the grantee's "Shared with me" (what `/dav/Shared with me/<shareName>` resolves). */
  shareName: string;
  sharedBy: { id: string; username: string; displayName: string | null };
}

export class Sharing {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: {
      directory: DirectoryMode;
      /** Told of each new user share once it is committed (the grantee's notification mail). */
      onShared?: (share: UserShareView) => void;
    },
  ) {}

  /**
   * Shares a node with a user (by username or email); sharing again changes the permission and
   * keeps the grantee's name for it. A new share gets its stable name in the grantee's
   * "Shared with me" now (share-names.ts).
   */
  async shareWithUser(
    actor: Actor,
    nodeId: string,
    input: { user: string; permission: Permission; expiresAt?: number | null },
  ): Promise<UserShareView> {
    let created = false;
    const share = await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node } = await requireNode(tx, actor, nodeId, 'owner', now);
      if (node.parentId === null)
        throw invalidInput('Share folders inside your home folder, not the home folder itself');
      const grantee = await findUserByLogin(tx, input.user);
      if (!grantee || grantee.disabled)
        throw new DomainError('not_found', `No user called "${input.user}"`, { field: 'user' });
      if (grantee.id === node.ownerId) throw invalidInput('You cannot share with yourself', { field: 'user' });
      if (input.expiresAt != null && input.expiresAt <= now)
        throw invalidInput('The expiry date is in the past', { field: 'expiresAt' });
      const existing = await userShareId(tx, nodeId, grantee.id);
      created = existing === undefined;
      const id = existing ?? randomUUID();
      if (existing) {
        await updateUserShare(tx, id, { permission: input.permission, expiresAt: input.expiresAt ?? null });
      } else {
        const taken = await receivedNameKeys(tx, grantee.id);
        const owner = await requireUser(tx, node.ownerId);
        const name = stableShareName(node.name, node.kind, owner.username, (k) => taken.has(k));
        await insertUserShare(tx, {
          id,
          nodeId,
          granteeId: grantee.id,
          permission: input.permission,
          expiresAt: input.expiresAt ?? null,
          createdBy: node.ownerId,
          now,
          name,
          nameKey: nameKey(name),
        });
      }
      await recordOn(tx, actor, node, existing ? 'share.updated' : 'share.created', now, {
        grantee: grantee.username,
        permission: input.permission,
      });
      return (await this.userShare(tx, id))!;
    });
    if (created) this.opts.onShared?.(share);
    return share;
  }

  /**
   * Changes a user share. Each party changes only its own field: the owner the `permission`, the
   * grantee the `name` it has in their "Shared with me" (unique among their received shares).
   * Anyone else → not_found.
   */
  async updateShare(
    actor: Actor,
    shareId: string,
    patch: { permission?: Permission; name?: string },
  ): Promise<UserShareView> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const me = signedInUser(actor);
      const share = await this.userShare(tx, shareId);
      const live = share && (await getLiveNode(tx, share.node.id));
      if (!share || !live || (share.owner.id !== me.id && share.grantee.id !== me.id)) throw notFound('Share');
      const isOwner = share.owner.id === me.id;
      if (patch.permission !== undefined && !isOwner) throw forbidden('Only the owner can change this share');
      if (patch.name !== undefined && isOwner)
        throw forbidden('Only the person it is shared with can rename it in their "Shared with me"');
      if (patch.name !== undefined) await this.renameIn(tx, actor, share, patch.name, now);
      if (patch.permission !== undefined) {
        await updateUserShare(tx, shareId, { permission: patch.permission });
        await recordOn(tx, actor, share.node, 'share.updated', now, {
          grantee: share.grantee.username,
          permission: patch.permission,
        });
      }
      return (await this.userShare(tx, shareId))!;
    });
  }

  /** Renames the grantee's share of `nodeId` in their "Shared with me" (WebDAV MOVE inside the virtual folder). */
  async renameReceived(actor: Actor, nodeId: string, name: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const id = await userShareId(tx, nodeId, signedInUser(actor).id);
      const share = id === undefined ? undefined : await this.userShare(tx, id);
      if (!share || !(await getLiveNode(tx, nodeId))) throw notFound('Share');
      await this.renameIn(tx, actor, share, name, this.clock.now());
    });
  }

  /** Revokes a user share: its owner, or the grantee leaving it. */
  async revoke(actor: Actor, shareId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const share = toUserShare(await ownedShare(tx, actor, shareId, 'user', true));
      await deleteShare(tx, shareId);
      await recordOn(tx, actor, share.node, 'share.revoked', now, {
        grantee: share.grantee.username,
      });
      // The access is gone, so are the locks it allowed (a grantee's lock must not outlive the share).
      const { ownerId, path } = await nodeKeyPath(tx, share.node.id);
      await dropLocksAfterRevoke(tx, actor, share.grantee.id, ownerId, path, now);
    });
  }

  async listNodeShares(actor: Actor, nodeId: string): Promise<{ shares: UserShareView[]; links: LinkView[] }> {
    await requireNode(this.db, actor, nodeId, 'owner', this.clock.now());
    return byKind(await sharesOfNode(this.db, nodeId));
  }

  /** Everything the actor has shared (user shares and links) on live nodes. */
  async outgoing(actor: Actor): Promise<{ shares: UserShareView[]; links: LinkView[] }> {
    const me = signedInUser(actor);
    return byKind(await sharesByOwner(this.db, me.id));
  }

  /** Live nodes shared with the actor (unexpired), newest first. */
  async incoming(actor: Actor): Promise<IncomingShare[]> {
    const me = signedInUser(actor);
    return (await sharesReceived(this.db, me.id, this.clock.now())).map((r) => ({
      ...r.node,
      permission: userPermission(r),
      shareId: r.id,
      shareName: r.granteeName ?? r.node.name,
      sharedBy: { id: r.node.ownerId, username: r.ownerUsername, displayName: r.ownerDisplayName },
    }));
  }

  /**
   * The share dialog's autocomplete; never the caller, never disabled users. Admins search
   * username and email prefixes and see emails. Everyone else learns no address they did not
   * already know: username prefixes (unless the directory is `exact`) give `{id, username}`, and
   * an email comes back only for the user whose whole address was typed.
   */
  async lookupUsers(actor: Actor, q: string): Promise<DirectoryEntry[]> {
    const me = signedInUser(actor);
    const key = q.trim().normalize('NFC').toLowerCase();
    if (!key) return [];
    const limit = 10;
    if (me.role === 'admin')
      return key.length < 2 ? [] : usersByPrefix(this.db, key, { byEmail: true, exceptId: me.id, limit });
    const found = new Map<string, DirectoryEntry>();
    for (const u of await usersByExactKey(this.db, key, me.id)) {
      found.set(u.id, u.byEmail ? { ...person(u), email: u.email } : person(u));
    }
    if (this.opts.directory === 'all' && key.length >= 2) {
      for (const u of await usersByPrefix(this.db, key, { byEmail: false, exceptId: me.id, limit })) {
        if (!found.has(u.id)) found.set(u.id, person(u));
      }
    }
    return [...found.values()].slice(0, limit);
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────

  private async renameIn(tx: Q, actor: Actor, share: UserShareView, rawName: string, now: number): Promise<void> {
    const name = validateName(rawName);
    if ((await receivedNameKeys(tx, share.grantee.id, share.id)).has(nameKey(name))) throw alreadyExists(name);
    await setGranteeName(tx, share.id, name, nameKey(name));
    // The grantee's own namespace changed: their log, not the owner's.
    await record(
      tx,
      actor,
      {
        ownerId: share.grantee.id,
        action: 'share.renamed',
        nodeId: share.node.id,
        path: `/${SHARED_FOLDER_NAME}/${name}`,
        details: { from: share.shareName, to: name, owner: share.owner.username },
      },
      now,
    );
  }

  private async userShare(q: Q, id: string): Promise<UserShareView | undefined> {
    const r = await shareById(q, id, 'user');
    return r && toUserShare(r);
  }
}

/** What the directory tells anyone about a user: who they are, not how to reach them. */
const person = (u: { id: string; username: string; displayName: string | null }): DirectoryEntry => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
});
