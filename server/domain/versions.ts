/**
 * File versions: no overwrite destroys data. Replacing a file's content keeps the previous content
 * as a version of the same node (dedup makes it cheap), counted toward the owner's quota, listed,
 * downloaded, restored and deleted through the API, and thinned by a retention rule in the style of
 * Nextcloud's: every version for the first day, one per day for a month, one per week after that,
 * never more than a share of the owner's free space. Versions are never given up to make room for a
 * write: an overwrite that cannot fit beside the version it makes is refused (507), like any upload
 * over quota — otherwise an editor could fill the owner's quota and then overwrite history away.
 * Rapid saves by the same person through the same
 * door (a desktop app saving every few seconds) are coalesced into one version per window.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Q } from '../db/index.js';
import { contentAuthor, pathOfNode, replaceContent } from '../db/repos/nodes.js';
import {
  deleteVersions,
  getVersion,
  insertVersion,
  newestVersion,
  ownersWithVersions,
  versionBytesOfOwner,
  versionsOfNode,
  versionsOfOwner,
  type VersionRow,
} from '../db/repos/versions.js';
import { requireNode } from './access.js';
import { systemActor, type Actor } from './actor.js';
import { record } from './activity.js';
import { releaseBlobRefs } from '../db/repos/blobs.js';
import type { Clock } from './clock.js';
import { invalidInput, notFound } from './errors.js';
import { assertUnlocked } from './locks.js';
import { releaseBytes, usage } from './quota.js';
import type { NodeRow, NodeView } from './types.js';

export type { VersionRow } from '../db/repos/versions.js';

export interface VersionPolicy {
  /** Saves by the same actor through the same door within this window make one version. */
  coalesceMs: number;
  /** Every version younger than this is kept. */
  keepAllMs: number;
  /** Up to this age one version per day is kept; older ones, one per week. */
  keepDailyMs: number;
  /** Versions never take more than this share (0–1) of the owner's space not used by live files and the bin. */
  maxShareOfFree: number;
}

const DAY_MS = 24 * 3600 * 1000;
const WEEK_MS = 7 * DAY_MS;

/** Who writes content, as recorded on the node and later on the version made from it. */
export interface Author {
  id: string | null;
  name: string | null;
  via: string;
}

export function authorOf(actor: Actor): Author {
  if (actor.kind === 'user') return { id: actor.user.id, name: actor.user.username, via: actor.origin.via };
  return { id: null, name: actor.kind === 'link' ? 'link visitor' : 'system', via: actor.origin.via };
}

/**
 * What happens to a file's current content when new content replaces it: `keep` makes it a version;
 * `drop` releases it — when the bytes are identical (nothing is lost), or when it was an intermediate
 * save of a burst: written by the same user through the same door as the new save, while the newest
 * version is also theirs through that door and younger than the coalescing window. Saves by different
 * people or through different doors are never merged; link visitors are never merged (one link is
 * many people).
 */
export async function fateOfReplaced(
  q: Q,
  actor: Actor,
  current: NodeRow,
  newHash: string,
  now: number,
  policy: VersionPolicy,
): Promise<'keep' | 'drop'> {
  if (current.contentHash === newHash) return 'drop';
  // An empty file is nothing to go back to (and clients create one before writing the content).
  if (current.size === 0) return 'drop';
  const writer = authorOf(actor);
  if (writer.id === null || policy.coalesceMs <= 0) return 'keep';
  const made = await contentAuthor(q, current.id);
  if (made.by !== writer.id || made.via !== writer.via) return 'keep';
  const last = await newestVersion(q, current.id);
  const burst =
    !!last && last.authorId === writer.id && last.via === writer.via && now - last.createdAt < policy.coalesceMs;
  return burst ? 'drop' : 'keep';
}

/** Turns the node's current content into a version row (its blob reference and bytes move with it). */
export async function keepAsVersion(tx: Q, current: NodeRow, now: number): Promise<void> {
  const made = await contentAuthor(tx, current.id);
  await insertVersion(tx, {
    id: randomUUID(),
    nodeId: current.id,
    ownerId: current.ownerId,
    contentHash: current.contentHash!,
    size: current.size,
    modifiedAt: current.modifiedAt,
    authorId: made.by,
    authorName: made.byName,
    via: made.via,
    createdAt: now,
  });
}

/** Deletes version rows and releases their blobs and bytes. */
export async function dropVersions(tx: Q, versions: VersionRow[], now: number): Promise<void> {
  if (versions.length === 0) return;
  await deleteVersions(
    tx,
    versions.map((v) => v.id),
  );
  await releaseBlobRefs(
    tx,
    versions.map((v) => v.contentHash),
    now,
  );
  const byOwner = new Map<string, number>();
  for (const v of versions) byOwner.set(v.ownerId, (byOwner.get(v.ownerId) ?? 0) + v.size);
  for (const [ownerId, bytes] of byOwner) await releaseBytes(tx, ownerId, bytes);
}

/**
 * The retention rule over one owner's versions (oldest first): every version younger than
 * keepAll; then the newest of each day up to keepDaily; then the newest of each week. Then, while
 * the kept versions take more than `maxShareOfFree` of the owner's space not used by live files and
 * the bin, the oldest go. Returns the versions to delete.
 */
export function versionsToExpire(
  versions: VersionRow[],
  owner: { quota: number; used: number },
  now: number,
  policy: VersionPolicy,
): VersionRow[] {
  const seen = new Set<string>();
  const kept: VersionRow[] = [];
  const expired: VersionRow[] = [];
  for (const v of [...versions].sort((a, b) => b.createdAt - a.createdAt)) {
    const age = now - v.createdAt;
    const bucket =
      age < policy.keepAllMs
        ? `all:${v.id}`
        : age < policy.keepDailyMs
          ? `d${Math.floor(age / DAY_MS)}`
          : `w${Math.floor(age / WEEK_MS)}`;
    const key = `${v.nodeId}:${bucket}`;
    if (seen.has(key)) expired.push(v);
    else {
      seen.add(key);
      kept.push(v);
    }
  }
  const versionBytes = versions.reduce((s, v) => s + v.size, 0);
  const freeForVersions = Math.max(0, owner.quota - (owner.used - versionBytes));
  let keptBytes = kept.reduce((s, v) => s + v.size, 0);
  for (const v of kept.reverse()) {
    if (keptBytes <= policy.maxShareOfFree * freeForVersions) break;
    expired.push(v);
    keptBytes -= v.size;
  }
  return expired;
}

export interface VersionView extends VersionRow {
  etag: string;
}

export class Versions {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly policy: VersionPolicy,
  ) {}

  /** Bytes the actor's own versions take (shown beside the quota). */
  async bytesOf(actor: Actor): Promise<number> {
    return actor.kind === 'user' ? versionBytesOfOwner(this.db, actor.user.id) : 0;
  }

  /** Earlier contents of a file the actor may view, newest first. */
  async list(actor: Actor, nodeId: string): Promise<VersionView[]> {
    await this.file(this.db, actor, nodeId, 'view');
    return (await versionsOfNode(this.db, nodeId)).map((v) => ({ ...v, etag: v.contentHash }));
  }

  /** Makes a version the current content; the content it replaces becomes a version itself (never coalesced). */
  async restore(actor: Actor, nodeId: string, versionId: string): Promise<NodeView> {
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const { node, access } = await requireNode(tx, actor, nodeId, 'edit', now);
      if (node.kind !== 'file') throw invalidInput('Only files have versions');
      const version = await getVersion(tx, nodeId, versionId);
      if (!version) throw notFound('Version');
      await assertUnlocked(tx, actor, node.ownerId, [{ nodeId }], now);
      // The version's blob reference and bytes become the node's, and the node's become a version's: usage is unchanged.
      await keepAsVersion(tx, node, now);
      await deleteVersions(tx, [version.id]);
      const author = authorOf(actor);
      await replaceContent(tx, {
        id: nodeId,
        size: version.size,
        hash: version.contentHash,
        mime: node.mime,
        modifiedAt: now,
        author,
      });
      const restored: NodeRow = {
        ...node,
        size: version.size,
        contentHash: version.contentHash,
        etag: version.contentHash,
        modifiedAt: now,
      };
      await record(
        tx,
        actor,
        {
          ownerId: node.ownerId,
          action: 'version.restored',
          nodeId,
          path: await pathOfNode(tx, nodeId),
          details: { version: version.id, versionModifiedAt: version.modifiedAt, size: version.size },
        },
        now,
      );
      return { ...restored, permission: access };
    });
  }

  /** Deletes one version forever (the owner only: an editor must not be able to erase history). */
  async remove(actor: Actor, nodeId: string, versionId: string): Promise<void> {
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      const node = await this.file(tx, actor, nodeId, 'owner');
      const version = await getVersion(tx, nodeId, versionId);
      if (!version) throw notFound('Version');
      await dropVersions(tx, [version], now);
      await record(
        tx,
        actor,
        {
          ownerId: node.ownerId,
          action: 'version.deleted',
          nodeId,
          path: await pathOfNode(tx, nodeId),
          details: { version: version.id, versionModifiedAt: version.modifiedAt, size: version.size },
        },
        now,
      );
    });
  }

  /** The retention job: applies the rule to every owner's versions (one transaction per owner). */
  async prune(now = this.clock.now()): Promise<{ versions: number; bytes: number }> {
    const total = { versions: 0, bytes: 0 };
    for (const ownerId of await ownersWithVersions(this.db)) {
      await this.db.tx(async (tx) => {
        const expired = versionsToExpire(
          await versionsOfOwner(tx, ownerId),
          await usage(tx, ownerId),
          now,
          this.policy,
        );
        if (expired.length === 0) return;
        await dropVersions(tx, expired, now);
        const bytes = expired.reduce((s, v) => s + v.size, 0);
        await record(
          tx,
          systemActor,
          { ownerId, action: 'version.pruned', details: { versions: expired.length, bytes, reason: 'retention' } },
          now,
        );
        total.versions += expired.length;
        total.bytes += bytes;
      });
    }
    return total;
  }

  private async file(q: Q, actor: Actor, nodeId: string, need: 'view' | 'edit' | 'owner'): Promise<NodeRow> {
    const { node } = await requireNode(q, actor, nodeId, need, this.clock.now());
    if (node.kind !== 'file') throw invalidInput('Only files have versions');
    return node;
  }
}
