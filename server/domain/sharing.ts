/**
 * Sharing: user shares (view/edit on a node and everything below it) and public links.
 * Only the owner shares, changes or revokes. Link tokens carry 144 random bits; link passwords are
 * bcrypt hashes and guesses are throttled like sign-ins (per link and per IP, counted before bcrypt).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { num, numOrNull, type Db, type Q } from '../db/index.js';
import { getLiveNode, NODE_COLS, pathOfNode, toNode, type RawNode } from '../db/repos/nodes.js';
import {
  deleteShare,
  insertUserShare,
  receivedNameKeys,
  setGranteeName,
  updateUserShare,
  userShareId,
} from '../db/repos/shares.js';
import { usersByExactKey, usersByPrefix } from '../db/repos/users.js';
import type { Actor, Origin, ShareRef } from './actor.js';
import { record } from './activity.js';
import { requireNode } from './access.js';
import type { Clock } from './clock.js';
import { alreadyExists, DomainError, forbidden, invalidInput, notFound, unauthenticated } from './errors.js';
import type { PasswordHasher } from './hasher.js';
import { dropLocksAfterRevoke } from './lock-breaking.js';
import { nodeKeyPath } from './locks.js';
import { nameKey, validateName } from './names.js';
import { stableShareName } from './share-names.js';
import { SHARED_FOLDER_NAME } from './shared-folder.js';
import { ipKey, linkKey, reserveAttempt, settleSuccess } from './throttle.js';
import { findUserByLogin, requireUser } from './users.js';
import type { NodeRow, NodeView, Permission } from './types.js';

export interface UserShareView {
  id: string;
  node: NodeRow;
  /** The grantee's stable name for it in their "Shared with me" (share-names.ts). */
  shareName: string;
  grantee: { id: string; username: string; email: string };
  owner: { id: string; username: string };
  permission: Permission;
  expiresAt: number | null;
  createdAt: number;
}

export interface LinkView {
  id: string;
  node: NodeRow;
  token: string;
  permission: Permission;
  hasPassword: boolean;
  expiresAt: number | null;
  createdAt: number;
}

/** A user as the share dialog's autocomplete shows them; `email` only when the caller may see it. */
export interface DirectoryEntry {
  id: string;
  username: string;
  email?: string;
}

/** `all`: username prefixes are searchable; `exact`: only a whole username or email finds a user. */
export type DirectoryMode = 'all' | 'exact';

export interface IncomingShare extends NodeView {
  shareId: string;
  /** Its stable name in the grantee's "Shared with me" (what `/dav/Shared with me/<shareName>` resolves). */
  shareName: string;
  sharedBy: { id: string; username: string };
}

interface RawShare extends RawNode {
  share_id: string;
  share_kind: 'user' | 'link';
  grantee_id: string | null;
  permission: Permission;
  token: string | null;
  password_hash: string | null;
  expires_at: unknown;
  share_created_at: unknown;
  grantee_username: string | null;
  grantee_email: string | null;
  owner_username: string;
  grantee_name: string | null;
}

const SHARE_SELECT = `SELECT ${NODE_COLS}, s.id AS share_id, s.kind AS share_kind, s.grantee_id, s.permission, s.token, s.password_hash,
    s.expires_at, s.created_at AS share_created_at, g.username AS grantee_username, g.email AS grantee_email, o.username AS owner_username,
    s.grantee_name
  FROM shares s JOIN nodes n ON n.id = s.node_id JOIN users o ON o.id = n.owner_id LEFT JOIN users g ON g.id = s.grantee_id`;

function toUserShare(r: RawShare): UserShareView {
  return {
    id: r.share_id,
    node: toNode(r),
    shareName: r.grantee_name ?? r.name,
    permission: r.permission,
    expiresAt: numOrNull(r.expires_at),
    createdAt: num(r.share_created_at),
    grantee: { id: r.grantee_id!, username: r.grantee_username!, email: r.grantee_email! },
    owner: { id: r.owner_id, username: r.owner_username },
  };
}

function toLink(r: RawShare): LinkView {
  return {
    id: r.share_id,
    node: toNode(r),
    token: r.token!,
    permission: r.permission,
    hasPassword: r.password_hash !== null,
    expiresAt: numOrNull(r.expires_at),
    createdAt: num(r.share_created_at),
  };
}

const LINK_COOKIE_TTL_MS = 24 * 3600 * 1000;

export class Sharing {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: {
      hasher: PasswordHasher;
      maxFailures: number;
      maxFailuresPerIp: number;
      windowSeconds: number;
      secret: string;
      directory: DirectoryMode;
    },
  ) {}

  // ── user shares ────────────────────────────────────────────────────────────────────────

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
    return this.db.tx(async (tx) => {
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
      await record(
        tx,
        actor,
        {
          ownerId: node.ownerId,
          action: existing ? 'share.updated' : 'share.created',
          nodeId,
          path: await pathOfNode(tx, nodeId),
          details: { grantee: grantee.username, permission: input.permission },
        },
        now,
      );
      return (await this.userShare(tx, id))!;
    });
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
      const me = this.userOf(actor);
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
        await record(
          tx,
          actor,
          {
            ownerId: share.node.ownerId,
            action: 'share.updated',
            nodeId: share.node.id,
            path: await pathOfNode(tx, share.node.id),
            details: { grantee: share.grantee.username, permission: patch.permission },
          },
          now,
        );
      }
      return (await this.userShare(tx, shareId))!;
    });
  }

  /** Renames the grantee's share of `nodeId` in their "Shared with me" (WebDAV MOVE inside the virtual folder). */
  async renameReceived(actor: Actor, nodeId: string, name: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const id = await userShareId(tx, nodeId, this.userOf(actor).id);
      const share = id === undefined ? undefined : await this.userShare(tx, id);
      if (!share || !(await getLiveNode(tx, nodeId))) throw notFound('Share');
      await this.renameIn(tx, actor, share, name, this.clock.now());
    });
  }

  /** Revokes a user share or a public link (owner only; a grantee may also leave a user share). */
  async revoke(actor: Actor, shareId: string, kind: 'user' | 'link'): Promise<void> {
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const share = await this.ownedShare(tx, actor, shareId, kind, kind === 'user');
      await deleteShare(tx, shareId);
      const details = 'grantee' in share ? { grantee: share.grantee.username } : { link: shareId };
      await record(
        tx,
        actor,
        {
          ownerId: share.node.ownerId,
          action: kind === 'user' ? 'share.revoked' : 'link.revoked',
          nodeId: share.node.id,
          path: await pathOfNode(tx, share.node.id),
          details,
        },
        now,
      );
      // The access is gone, so are the locks it allowed (a grantee's lock must not outlive the share).
      if ('grantee' in share) {
        const { ownerId, path } = await nodeKeyPath(tx, share.node.id);
        await dropLocksAfterRevoke(tx, actor, share.grantee.id, ownerId, path, now);
      }
    });
  }

  async listNodeShares(actor: Actor, nodeId: string): Promise<{ shares: UserShareView[]; links: LinkView[] }> {
    await requireNode(this.db, actor, nodeId, 'owner', this.clock.now());
    const rows = await this.db.all<RawShare>(`${SHARE_SELECT} WHERE s.node_id = $nodeId ORDER BY s.created_at`, {
      nodeId,
    });
    return {
      shares: rows.filter((r) => r.share_kind === 'user').map(toUserShare),
      links: rows.filter((r) => r.share_kind === 'link').map(toLink),
    };
  }

  /** Everything the actor has shared (user shares and links) on live nodes. */
  async outgoing(actor: Actor): Promise<{ shares: UserShareView[]; links: LinkView[] }> {
    const me = this.userOf(actor);
    const rows = await this.db.all<RawShare>(
      `${SHARE_SELECT} WHERE n.owner_id = $me AND n.deleted_at IS NULL ORDER BY s.created_at DESC`,
      { me: me.id },
    );
    return {
      shares: rows.filter((r) => r.share_kind === 'user').map(toUserShare),
      links: rows.filter((r) => r.share_kind === 'link').map(toLink),
    };
  }

  /** Live nodes shared with the actor (unexpired), newest first. */
  async incoming(actor: Actor): Promise<IncomingShare[]> {
    const me = this.userOf(actor);
    const rows = await this.db.all<RawShare>(
      `${SHARE_SELECT} WHERE s.kind = 'user' AND s.grantee_id = $me AND n.deleted_at IS NULL AND o.disabled = 0
         AND (s.expires_at IS NULL OR s.expires_at > $now) ORDER BY s.created_at DESC`,
      { me: me.id, now: this.clock.now() },
    );
    return rows.map((r) => ({
      ...toNode(r),
      permission: r.permission,
      shareId: r.share_id,
      shareName: r.grantee_name ?? r.name,
      sharedBy: { id: r.owner_id, username: r.owner_username },
    }));
  }

  /**
   * The share dialog's autocomplete; never the caller, never disabled users. Admins search
   * username and email prefixes and see emails. Everyone else learns no address they did not
   * already know: username prefixes (unless the directory is `exact`) give `{id, username}`, and
   * an email comes back only for the user whose whole address was typed.
   */
  async lookupUsers(actor: Actor, q: string): Promise<DirectoryEntry[]> {
    const me = this.userOf(actor);
    const key = q.trim().normalize('NFC').toLowerCase();
    if (!key) return [];
    const limit = 10;
    if (me.role === 'admin')
      return key.length < 2 ? [] : usersByPrefix(this.db, key, { byEmail: true, exceptId: me.id, limit });
    const found = new Map<string, DirectoryEntry>();
    for (const u of await usersByExactKey(this.db, key, me.id)) {
      found.set(
        u.id,
        u.byEmail ? { id: u.id, username: u.username, email: u.email } : { id: u.id, username: u.username },
      );
    }
    if (this.opts.directory === 'all' && key.length >= 2) {
      for (const u of await usersByPrefix(this.db, key, { byEmail: false, exceptId: me.id, limit })) {
        if (!found.has(u.id)) found.set(u.id, { id: u.id, username: u.username });
      }
    }
    return [...found.values()].slice(0, limit);
  }

  // ── public links ───────────────────────────────────────────────────────────────────────

  async createLink(
    actor: Actor,
    nodeId: string,
    input: { permission: Permission; password?: string | null; expiresAt?: number | null },
  ): Promise<LinkView> {
    if (input.password != null && (input.password.length < 4 || input.password.length > 1024)) {
      throw invalidInput('A link password needs 4 to 1024 characters', { field: 'password' });
    }
    const passwordHash = input.password ? await this.opts.hasher.hash(input.password) : null;
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node } = await requireNode(tx, actor, nodeId, 'owner', now);
      if (node.parentId === null)
        throw invalidInput('Create links for folders inside your home folder, not the home folder itself');
      if (input.permission === 'edit' && node.kind !== 'folder')
        throw invalidInput('Upload links need a folder', { field: 'permission' });
      if (input.expiresAt != null && input.expiresAt <= now)
        throw invalidInput('The expiry date is in the past', { field: 'expiresAt' });
      const id = randomUUID();
      const token = randomBytes(18).toString('base64url');
      await tx.run(
        `INSERT INTO shares (id, node_id, kind, permission, token, password_hash, expires_at, created_by, created_at)
         VALUES ($id, $nodeId, 'link', $p, $token, $hash, $e, $by, $now)`,
        {
          id,
          nodeId,
          p: input.permission,
          token,
          hash: passwordHash,
          e: input.expiresAt ?? null,
          by: node.ownerId,
          now,
        },
      );
      await record(
        tx,
        actor,
        {
          ownerId: node.ownerId,
          action: 'link.created',
          nodeId,
          path: await pathOfNode(tx, nodeId),
          details: {
            permission: input.permission,
            password: passwordHash !== null,
            expiresAt: input.expiresAt ?? null,
          },
        },
        now,
      );
      const rows = await tx.all<RawShare>(`${SHARE_SELECT} WHERE s.id = $id`, { id });
      return toLink(rows[0]!);
    });
  }

  /**
   * Turns a link token into a link actor. Unknown, revoked and expired links are not_found.
   * A password link needs `password` (each guess counted before it is checked) or `unlocked` (a valid unlock cookie).
   */
  async openLink(
    token: string,
    auth: { password?: string | null; unlocked?: boolean },
    origin: Origin,
  ): Promise<{ actor: Actor; link: LinkView }> {
    const now = this.clock.now();
    const row = await this.db.get<RawShare>(
      `${SHARE_SELECT} WHERE s.kind = 'link' AND s.token = $token AND n.deleted_at IS NULL AND o.disabled = 0`,
      { token },
    );
    if (!row || (row.expires_at !== null && num(row.expires_at) <= now)) throw notFound('Link');
    const link = toLink(row);
    if (row.password_hash && !auth.unlocked) {
      if (!auth.password)
        throw new DomainError('unauthenticated', 'This link is protected by a password', { passwordRequired: true });
      const reservation = await reserveAttempt(
        this.db,
        [
          { key: linkKey(link.id), max: this.opts.maxFailures, onSuccess: 'clear' },
          { key: ipKey(origin.ip), max: this.opts.maxFailuresPerIp, onSuccess: 'refund' },
        ],
        this.opts.windowSeconds * 1000,
        now,
      );
      if (!(await this.opts.hasher.compare(auth.password, row.password_hash))) {
        throw new DomainError('unauthenticated', 'Wrong password for this link', { passwordRequired: true });
      }
      await this.db.tx((tx) => settleSuccess(tx, reservation));
    }
    const share: ShareRef = {
      id: link.id,
      nodeId: link.node.id,
      ownerId: link.node.ownerId,
      permission: link.permission,
    };
    return { actor: { kind: 'link', share, origin: { ...origin, via: 'link' } }, link };
  }

  /** A signed proof that the visitor gave this link's password: valid a day, or until the link expires. */
  unlockToken(link: LinkView): { value: string; expiresAt: number } {
    const day = this.clock.now() + LINK_COOKIE_TTL_MS;
    const expiresAt = link.expiresAt === null ? day : Math.min(day, link.expiresAt);
    const value = jwt.sign({ lid: link.id, exp: Math.floor(expiresAt / 1000) }, this.opts.secret, {
      algorithm: 'HS256',
    });
    return { value, expiresAt };
  }

  isUnlocked(value: string | undefined, linkId: string): boolean {
    if (!value) return false;
    try {
      const claims = jwt.verify(value, this.opts.secret, {
        algorithms: ['HS256'],
        clockTimestamp: Math.floor(this.clock.now() / 1000),
      });
      return typeof claims === 'object' && claims.lid === linkId;
    } catch {
      return false;
    }
  }

  /** The link behind a token, without checking its password (to name its unlock cookie). */
  async linkId(token: string): Promise<string | undefined> {
    return (
      await this.db.get<{ id: string }>("SELECT id FROM shares WHERE kind = 'link' AND token = $token", { token })
    )?.id;
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────

  private userOf(actor: Actor) {
    if (actor.kind !== 'user') throw unauthenticated();
    return actor.user;
  }

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
    const r = await q.get<RawShare>(`${SHARE_SELECT} WHERE s.id = $id AND s.kind = 'user'`, { id });
    return r && toUserShare(r);
  }

  /** A share or link of a live node the actor owns (or, with `granteeMayAct`, was granted); anything else is not_found. */
  private async ownedShare(
    q: Q,
    actor: Actor,
    id: string,
    kind: 'user' | 'link',
    granteeMayAct = false,
  ): Promise<UserShareView | LinkView> {
    const me = this.userOf(actor);
    const r = await q.get<RawShare>(`${SHARE_SELECT} WHERE s.id = $id AND s.kind = $kind`, { id, kind });
    const live = r ? await getLiveNode(q, r.id) : undefined;
    if (r && live && granteeMayAct && r.grantee_id === me.id) return toUserShare(r);
    if (!r || r.owner_id !== me.id || !live) {
      if (r && live && r.grantee_id === me.id) throw forbidden('Only the owner can change this share');
      throw notFound(kind === 'user' ? 'Share' : 'Link');
    }
    return kind === 'user' ? toUserShare(r) : toLink(r);
  }
}
