/**
 * The namespace: the tree addressed by paths, as path-addressed transports (WebDAV) see it — the
 * actor's home folder with "Shared with me" at its top (shared-folder.ts), children, subtrees,
 * dead properties and the actor's quota. Paths are resolved only through the node tree, so no
 * input can ever leave the actor's root.
 *
 * The lookup rule: a path segment names the child whose stored name equals it after Unicode NFC
 * normalisation (so NFD names from macOS still find NFC files), and nothing else. Names stay unique
 * per folder case-insensitively (name_key), but a segment that differs from the stored name in
 * case is *not found*: sync clients probe the new name before a case-only rename, and when
 * "README.txt" answered for "Readme.txt", rclone deleted the file it took for the target. The one
 * exception, a MOVE onto a case variant of its own source, is the write rule of Drive.move.
 */
import type { Db, Q } from '../db/index.js';
import { sharedStartAs, walkAs, type WalkAs } from '../db/repos/lookup.js';
import { checksummedChildren, checksummedSubtree, walkKeys, type ChecksummedSubtreeNode } from '../db/repos/paths.js';
import type { ChecksummedNode } from '../db/rows.js';
import { markReachedThroughShare, requireViewable } from './access.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { claimHolds, type Claim } from './credentials.js';
import { forbidden } from './errors.js';
import { keyPath } from './locks.js';
import { nameKey } from './names.js';
import { propertiesOf, type DeadProperty } from './properties.js';
import { asSharedRoot, SHARED_FOLDER_ID, SHARED_FOLDER_NAME, sharedFolderNode, sharedRoots } from './shared-folder.js';
import type { NodeRow, UserRow } from './types.js';

/**
 * A node as the namespace shows it: with its blob's SHA-1 and MD5 (what sync clients compare); the
 * target of a GET also carries its inline bytes (null: they are in the blob store).
 */
export type NamespaceNode = ChecksummedNode & { inlineBytes?: Buffer | null };
export type NamespaceSubtreeNode = ChecksummedSubtreeNode;

/** True when a path segment names this stored name: the same text after NFC, case included. */
export function namesMatch(stored: string, segment: string): boolean {
  return stored === segment.normalize('NFC');
}

/**
 * Walks `names` down from `rootId` in one query. Returns the chain of live nodes that exist, root
 * first: `chain.length === names.length + 1` when the whole path exists. The chain stops before the
 * first segment whose stored name is not exactly the segment (see above).
 */
export async function resolveChain(q: Q, rootId: string, names: string[]): Promise<NamespaceNode[]> {
  return exactly(await walkKeys(q, rootId, names.map(nameKey)), names);
}

/** A walk by name keys cut before the first node whose stored name is not exactly its segment. */
function exactly(chain: NamespaceNode[], names: string[]): NamespaceNode[] {
  const end = chain.findIndex((n, i) => i > 0 && !namesMatch(n.name, names[i - 1]!));
  return end < 0 ? chain : chain.slice(0, end);
}

/** What a path-addressed request starts from: who asks (read now) and what the path names. */
export interface Lookup {
  /** The user's row, read with the path: current role, quota and usage. */
  user: UserRow;
  /** The existing live nodes of the path, root first (as `resolve`). */
  chain: NamespaceNode[];
  /** With `details`, when the whole path exists: the target's dead properties. */
  properties?: DeadProperty[];
  /** With `details`, when the whole path exists: false when no lock can apply to it (its owner holds none). */
  ownerHasLocks?: boolean;
  /** With `details`, in the actor's own tree: the target's owner and lock path (locks.ts), known without a query. */
  lockPath?: { ownerId: string; path: string };
}

export class Namespace {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * A credential checked and a path resolved in one query (two through "Shared with me"): the
   * user row is read with the path and must still honour the claim (credentials.ts), else null —
   * the caller checks the credential again. With `details`, the target's dead properties and
   * whether any lock can apply to it come with it (what PROPFIND needs).
   */
  async lookup(claim: Claim, names: string[], opts: { details: boolean; bytes?: boolean }): Promise<Lookup | null> {
    const now = this.clock.now();
    const walk = (rootId: string, below: string[]) =>
      walkAs(this.db, {
        userId: claim.userId,
        rootId,
        nameKeys: below.map(nameKey),
        details: opts.details,
        bytes: opts.bytes,
        now,
      });
    const details = (w: WalkAs | undefined, chain: NamespaceNode[], whole: number) => {
      if (!w || chain.length !== whole) return {};
      // The target's inline bytes ride on its node to Content.openContent (NodeWithBytes), saving its query.
      if (w.inlineBytes !== undefined) chain[whole - 1]!.inlineBytes = w.inlineBytes;
      return opts.details
        ? { properties: w.properties.map(({ nodeId: _, ...p }) => p), ownerHasLocks: w.ownerLocked }
        : {};
    };

    if (names.length === 0 || !namesMatch(SHARED_FOLDER_NAME, names[0]!)) {
      const w = await walk(claim.rootId, names);
      if (!w || !claimHolds(w.user, claim)) return null;
      const chain = exactly(w.chain, names);
      const lockPath = opts.details ? { ownerId: w.user.id, path: keyPath(names) } : undefined;
      return { user: w.user, chain, lockPath, ...details(w, chain, names.length + 1) };
    }
    const start = await sharedStartAs(this.db, claim.userId, now);
    if (!start || !claimHolds(start.user, claim)) return null;
    const roots = start.received.map(asSharedRoot);
    const chain: NamespaceNode[] = [start.root, sharedFolderNode(start.user, roots)];
    const shareRoot = names.length > 1 ? roots.find((r) => namesMatch(r.name, names[1]!)) : undefined;
    if (!shareRoot) {
      const virtual = opts.details && names.length === 1 ? { properties: [], ownerHasLocks: false } : {};
      return { user: start.user, chain, ...virtual };
    }
    const w = await walk(shareRoot.id, names.slice(2));
    const below = w ? exactly(w.chain, names.slice(2)).slice(1) : [];
    for (const n of [shareRoot, ...below]) markReachedThroughShare(n, claim.userId);
    chain.push(shareRoot, ...below);
    return { user: start.user, chain, ...details(w, chain, names.length + 1) };
  }

  /** Resolves names under the actor's home folder: the existing live nodes of the path, root first. */
  async resolve(actor: Actor, names: string[]): Promise<NamespaceNode[]> {
    // A link's visitors (/public-dav/<token>/) address names under the link's node: nothing above it exists for them.
    if (actor.kind === 'link' && actor.share.permission !== 'upload')
      return resolveChain(this.db, actor.share.nodeId, names);
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user has a drive');
    if (names.length === 0 || !namesMatch(SHARED_FOLDER_NAME, names[0]!))
      return resolveChain(this.db, actor.user.rootId, names);
    // Through "Shared with me": the virtual folder, a share root by its display name, then the owner's real tree.
    const [root] = await resolveChain(this.db, actor.user.rootId, []);
    const roots = await sharedRoots(this.db, actor.user.id, this.clock.now());
    const chain: NamespaceNode[] = [root!, sharedFolderNode(actor.user, roots)];
    if (names.length === 1) return chain;
    const shareRoot = roots.find((r) => namesMatch(r.name, names[1]!));
    if (!shareRoot) return chain;
    const below = (await resolveChain(this.db, shareRoot.id, names.slice(2))).slice(1);
    for (const n of [shareRoot, ...below]) markReachedThroughShare(n, actor.user.id);
    return [...chain, shareRoot, ...below];
  }

  /** Children of a folder with their checksums, in one query ("Shared with me" at the top of the home folder). */
  async children(actor: Actor, folder: NodeRow): Promise<NamespaceNode[]> {
    if (actor.kind === 'user' && folder.id === SHARED_FOLDER_ID)
      return sharedRoots(this.db, actor.user.id, this.clock.now());
    await requireViewable(this.db, actor, folder, this.clock.now());
    const children = await checksummedChildren(this.db, folder.id);
    if (actor.kind === 'user' && folder.id === actor.user.rootId) {
      const virtual = sharedFolderNode(actor.user, await sharedRoots(this.db, actor.user.id, this.clock.now()));
      const at = children.findIndex((c) => c.name > virtual.name);
      children.splice(at < 0 ? children.length : at, 0, virtual);
    }
    return children;
  }

  /** The subtree under a node (inclusive), at most `limit` rows, parents first. */
  async subtree(actor: Actor, node: NodeRow, limit: number): Promise<NamespaceSubtreeNode[]> {
    const own =
      node.id === SHARED_FOLDER_ID
        ? []
        : (await requireViewable(this.db, actor, node, this.clock.now()),
          await checksummedSubtree(this.db, node.id, limit));
    const throughShares = actor.kind === 'user' && (node.id === SHARED_FOLDER_ID || node.id === actor.user.rootId);
    if (!throughShares) return own;
    // The virtual folder and the shared trees below it, with parent links that follow the virtual path.
    const roots = await sharedRoots(this.db, actor.user.id, this.clock.now());
    const virtual = sharedFolderNode(actor.user, roots);
    const out: NamespaceSubtreeNode[] =
      node.id === SHARED_FOLDER_ID ? [{ ...virtual, depth: 0 }] : [...own, { ...virtual, depth: 1 }];
    const base = out[out.length - 1]!.depth;
    for (const r of roots) {
      if (out.length >= limit) break;
      const tree = await checksummedSubtree(this.db, r.id, limit - out.length);
      out.push(
        ...tree.map((t, i) =>
          i === 0
            ? { ...t, name: r.name, parentId: SHARED_FOLDER_ID, depth: base + 1 }
            : { ...t, depth: base + 1 + t.depth },
        ),
      );
    }
    return out.slice(0, limit);
  }

  /** Dead properties of nodes the actor has already resolved. */
  async properties(actor: Actor, nodes: NodeRow[]): Promise<Map<string, DeadProperty[]>> {
    for (const n of nodes.slice(0, 1)) await requireViewable(this.db, actor, n, this.clock.now());
    return propertiesOf(
      this.db,
      nodes.map((n) => n.id),
    );
  }

  /**
   * The actor's own usage and the room left (RFC 4331 quota properties), from the user row read for
   * this request (`lookup` reads it with the path); null for anyone but a signed-in user.
   */
  quota(actor: Actor): { used: number; available: number } | null {
    // A link visitor is not told its owner's usage (the properties are then absent, RFC 4331 §3).
    if (actor.kind !== 'user') return null;
    const { quotaBytes, usedBytes } = actor.user;
    return { used: usedBytes, available: Math.max(0, quotaBytes - usedBytes) };
  }
}
