/**
 * Content access: the bytes of files, of their versions and of ZIP selections, handed out as
 * streams once access is checked. The blob store and the inline bytes stay inside the domain
 * (blob-bytes.ts): transports get a node's metadata and a way to read its bytes, never the store
 * or a hash to open themselves.
 */
import type { Readable } from 'node:stream';
import type { Db } from '../db/index.js';
import { blobChecksums, blobChecksumsAndInlineBytes } from '../db/repos/blobs.js';
import { liveSubtree, relativePaths } from '../db/repos/nodes.js';
import { getVersion } from '../db/repos/versions.js';
import type { BlobStore } from '../../storage/index.js';
import { requireNode, requireViewable } from './access.js';
import type { Actor } from './actor.js';
import { BlobBytes, mayBeInline, type ByteRange } from './blob-bytes.js';
import { noteDownload } from './link-limits.js';
import type { Clock } from './clock.js';
import { invalidInput, notFound } from './errors.js';
import { nameKey, numberedName } from './names.js';
import type { NodeRow, NodeView } from './types.js';
import type { VersionView } from './versions.js';

export type { ByteRange } from './blob-bytes.js';

/**
 * Opens stored bytes (all, or a range), resolving once they can be streamed (a missing blob fails
 * here, before anything is answered); null for a file without content.
 */
export type Opener = ((range?: ByteRange) => Promise<Readable>) | null;

/**
 * A file as a caller may hand it to `openContent`: a node, and — when the query that read it also
 * read its inline bytes (LEFT JOIN inline_blobs) — those bytes (null: none, its bytes are in the
 * store), which saves `openContent` its query.
 */
export type NodeWithBytes = NodeRow & { inlineBytes?: Buffer | null };

export interface FileContent {
  node: NodeView;
  sha1: string | null;
  md5: string | null;
  open: Opener;
}

export interface ZipEntry {
  path: string;
  kind: 'file' | 'folder';
  size: number;
  modifiedAt: number;
  /** Opens the entry's bytes when the archive gets to it (null for folders and empty files). */
  open: (() => Promise<Readable>) | null;
}

export class Content {
  private readonly bytes: BlobBytes;

  constructor(
    private readonly db: Db,
    blobs: BlobStore,
    private readonly clock: Clock,
  ) {
    this.bytes = new BlobBytes(db, blobs);
  }

  /** A file the actor may view, its checksums and its bytes, for a download. */
  async openFile(actor: Actor, id: string): Promise<FileContent> {
    const { node, access } = await requireNode(this.db, actor, id, 'view', this.clock.now());
    if (node.kind !== 'file') throw invalidInput('This item is a folder; download it as a ZIP');
    const hash = node.contentHash;
    // A small file's bytes come with its checksums, in one query (a HEAD or a 304 reads them for
    // nothing: at most 64 KiB from the page cache, cheaper than a second query for every GET).
    const blob = !hash
      ? undefined
      : mayBeInline(node.size)
        ? await blobChecksumsAndInlineBytes(this.db, hash)
        : { ...(await blobChecksums(this.db, hash)), bytes: null };
    return {
      node: { ...node, permission: access },
      sha1: blob?.sha1 ?? null,
      md5: blob?.md5 ?? null,
      open: hash
        ? async (range) => {
            await noteDownload(this.db, actor, node, this.clock.now(), range?.start);
            return this.bytes.open({ hash, size: node.size }, range, blob?.bytes ?? null);
          }
        : null,
    };
  }

  /**
   * The bytes of a file (all, or `range`): by id, or a node this actor has just resolved through the
   * Namespace (its own nodes then cost no query, and the bytes are those the caller described).
   * A small file's bytes come back as a Buffer, a larger file's as a stream (BlobBytes.read).
   */
  async openContent(
    actor: Actor,
    file: string | NodeWithBytes,
    range?: ByteRange,
    /** `render`: read to make a thumbnail, not a download (not counted against a link's limit, not logged). */
    purpose: 'download' | 'render' = 'download',
  ): Promise<Buffer | Readable> {
    const now = this.clock.now();
    let node: NodeWithBytes;
    if (typeof file === 'string') node = (await requireNode(this.db, actor, file, 'view', now)).node;
    else await requireViewable(this.db, actor, (node = file), now);
    if (node.kind !== 'file') throw invalidInput('This item is a folder; download it as a ZIP');
    if (!node.contentHash) return Buffer.alloc(0);
    if (purpose === 'download') await noteDownload(this.db, actor, node, now, range?.start);
    return this.bytes.read({ hash: node.contentHash, size: node.size }, range, node.inlineBytes);
  }

  /** An earlier content of a file the actor may view; `open` streams it (a Range is given inclusive). */
  async openVersion(
    actor: Actor,
    nodeId: string,
    versionId: string,
  ): Promise<{ node: NodeRow; version: VersionView; open(range?: ByteRange): Promise<Readable> }> {
    const { node } = await requireNode(this.db, actor, nodeId, 'view', this.clock.now());
    if (node.kind !== 'file') throw invalidInput('Only files have versions');
    const version = await getVersion(this.db, nodeId, versionId);
    if (!version) throw notFound('Version');
    return {
      node,
      version: { ...version, etag: version.contentHash },
      open: (range) => this.bytes.open({ hash: version.contentHash, size: version.size }, range),
    };
  }

  /** Live files and folders under the given nodes, with relative paths and their bytes to open, for a ZIP download. */
  async zip(actor: Actor, ids: string[]): Promise<{ name: string; entries: ZipEntry[] }> {
    if (ids.length === 0) throw invalidInput('Nothing selected');
    const now = this.clock.now();
    const entries: ZipEntry[] = [];
    const roots: NodeRow[] = [];
    const taken = new Set<string>();
    for (const id of ids) {
      const { node } = await requireNode(this.db, actor, id, 'view', now);
      roots.push(node);
      const rows = await liveSubtree(this.db, id);
      const paths = relativePaths(rows);
      // Two selected items with the same name would collide in the archive: number the second.
      let prefix = node.name;
      for (let n = 1; taken.has(nameKey(prefix)); n++) prefix = numberedName(node.name, n, node.kind === 'file');
      taken.add(nameKey(prefix));
      for (const r of rows) {
        // The home folder has no name: its contents go at the top level (an empty entry name breaks archiver).
        if (node.parentId === null && r.id === node.id) continue;
        const rel = paths.get(r.id)!;
        const path = node.parentId === null ? rel.replace(/^\//, '') : prefix + rel.slice(node.name.length);
        const hash = r.kind === 'file' && r.size > 0 ? r.contentHash : null;
        entries.push({
          path,
          kind: r.kind,
          size: r.size,
          modifiedAt: r.modifiedAt,
          open: hash ? () => this.bytes.open({ hash, size: r.size }) : null,
        });
      }
    }
    if (actor.kind === 'link')
      await noteDownload(this.db, actor, { id: actor.share.nodeId, ownerId: actor.share.ownerId }, now);
    const name =
      roots.length === 1 && roots[0]!.parentId !== null ? roots[0]!.name : roots.length === 1 ? 'files' : 'selection';
    return { name, entries };
  }
}
