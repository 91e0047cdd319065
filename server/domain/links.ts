/**
 * Public links: a folder or file opened by anyone holding a token of 144 random bits, with the
 * link's permission inside its subtree only. Only the owner creates or revokes one. Link passwords
 * are bcrypt hashes, and guesses are throttled like sign-ins (per link and per IP, counted before
 * bcrypt); a visitor who gave the password gets a signed unlock token for a day.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { SMALL_TX, type Db } from '../db/index.js';
import { insertLink, linkIdByToken } from '../db/repos/links.js';
import { listLocks } from '../db/repos/locks.js';
import { deleteShare } from '../db/repos/shares.js';
import { linkByToken, shareById } from '../db/repos/share-rows.js';
import { linkLockHolder, type Actor, type LinkPermission, type Origin, type ShareRef } from './actor.js';
import { recordOn, recordVisit } from './activity.js';
import { requireNode } from './access.js';
import type { Clock } from './clock.js';
import { checkLimits, downloadsExhausted } from './link-limits.js';
import { removeLock } from './lock-breaking.js';
import { DomainError, invalidInput, notFound } from './errors.js';
import type { PasswordHasher } from './hasher.js';
import { VerifiedLinkPasswords } from './link-passwords.js';
import { ownedShare, toLink, type LinkView } from './share-views.js';
import { ipKey, linkKey, reserveAttempt, settleSuccess } from './throttle.js';

const LINK_COOKIE_TTL_MS = 24 * 3600 * 1000;

export class Links {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: {
      hasher: PasswordHasher;
      maxFailures: number;
      maxFailuresPerIp: number;
      windowSeconds: number;
      secret: string;
      /** How long a good link password is taken without bcrypt (link-passwords.ts); 0: never. */
      verifiedTtlMs?: number;
    },
  ) {
    this.verified = new VerifiedLinkPasswords(opts.verifiedTtlMs ?? 0);
  }

  private readonly verified: VerifiedLinkPasswords;

  async create(
    actor: Actor,
    nodeId: string,
    input: {
      permission: LinkPermission;
      password?: string | null;
      expiresAt?: number | null;
      maxUploadBytes?: number | null;
      maxDownloads?: number | null;
    },
  ): Promise<LinkView> {
    checkLimits(input);
    if (input.password != null && (input.password.length < 4 || input.password.length > 1024)) {
      throw invalidInput('A link password needs 4 to 1024 characters', { field: 'password' });
    }
    const passwordHash = input.password ? await this.opts.hasher.hash(input.password) : null;
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node } = await requireNode(tx, actor, nodeId, 'owner', now);
      if (node.parentId === null)
        throw invalidInput('Create links for folders inside your home folder, not the home folder itself');
      if (input.permission !== 'view' && node.kind !== 'folder')
        throw invalidInput('Upload links need a folder', { field: 'permission' });
      if (input.expiresAt != null && input.expiresAt <= now)
        throw invalidInput('The expiry date is in the past', { field: 'expiresAt' });
      const id = randomUUID();
      await insertLink(tx, {
        id,
        nodeId,
        permission: input.permission,
        token: randomBytes(18).toString('base64url'),
        passwordHash,
        expiresAt: input.expiresAt ?? null,
        createdBy: node.ownerId,
        now,
        maxUploadBytes: input.maxUploadBytes ?? null,
        maxDownloads: input.maxDownloads ?? null,
      });
      await recordOn(tx, actor, node, 'link.created', now, {
        permission: input.permission,
        password: passwordHash !== null,
        expiresAt: input.expiresAt ?? null,
        ...(input.maxUploadBytes != null ? { maxUploadBytes: input.maxUploadBytes } : {}),
        ...(input.maxDownloads != null ? { maxDownloads: input.maxDownloads } : {}),
      });
      return toLink((await shareById(tx, id, 'link'))!);
    });
  }

  /** Revokes a link (its owner only). */
  async revoke(actor: Actor, linkId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const link = await ownedShare(tx, actor, linkId, 'link');
      await deleteShare(tx, linkId);
      // Locks its visitors took over /public-dav/ end with it (they name the link as holder).
      for (const l of await listLocks(tx, { holderId: linkLockHolder(linkId) }, now))
        await removeLock(tx, actor, l, 'share_revoked', now);
      await recordOn(tx, actor, link.node, 'link.revoked', now, {
        link: linkId,
      });
    });
  }

  /**
   * Turns a link token into a link actor. Unknown, revoked and expired links are not_found.
   * A password link needs `password` (each guess counted before it is checked) or `unlocked` (a valid unlock cookie).
   */
  async open(
    token: string,
    auth: { password?: string | null; unlocked?: boolean; visit?: boolean },
    origin: Origin,
  ): Promise<{ actor: Actor; link: LinkView }> {
    const now = this.clock.now();
    const row = await linkByToken(this.db, token);
    if (!row || (row.expiresAt !== null && row.expiresAt <= now)) throw notFound('Link');
    if (row.maxDownloads !== null && row.downloadCount >= row.maxDownloads) throw downloadsExhausted();
    const link = toLink(row);
    const recent =
      !!auth.password && !!row.passwordHash && this.verified.holds(row.id, auth.password, row.passwordHash, now);
    if (row.passwordHash && !auth.unlocked && !recent) {
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
      if (!(await this.opts.hasher.compare(auth.password, row.passwordHash))) {
        // The owner sees guesses at their link's password (each one already counted by the throttle).
        const guesser = linkActor(link, origin);
        await this.db.tx((tx) =>
          recordOn(tx, guesser, link.node, 'link.password_failed', this.clock.now(), { link: link.id }),
        );
        throw new DomainError('unauthenticated', 'Wrong password for this link', { passwordRequired: true });
      }
      await this.db.tx((tx) => settleSuccess(tx, reservation));
      this.verified.remember(row.id, auth.password, row.passwordHash, now);
    }
    const actor = linkActor(link, origin);
    // `visit`: the visitor opened the link's page (not each request it makes): a coalesced row for the owner.
    if (auth.visit) await this.db.tx((tx) => recordVisit(tx, actor, link.node, 'link.viewed', now), SMALL_TX);
    return { actor, link };
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
  async idOf(token: string): Promise<string | undefined> {
    return linkIdByToken(this.db, token);
  }
}

/** What a link actor carries of its link. */
function toShareRef(link: LinkView): ShareRef {
  return {
    id: link.id,
    nodeId: link.node.id,
    ownerId: link.node.ownerId,
    permission: link.permission,
    maxUploadBytes: link.maxUploadBytes,
    maxDownloads: link.maxDownloads,
  };
}

function linkActor(link: LinkView, origin: Origin): Actor & { kind: 'link' } {
  return { kind: 'link', share: toShareRef(link), origin: { ...origin, via: 'link' } };
}
