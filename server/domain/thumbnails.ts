/**
 * Thumbnails of files: who may see one (whoever may read the file: the access rules of content.ts),
 * which files have one (images, PDFs, videos; none above the input limit), and where they come from
 * (the disk cache, keyed by content hash, else made once under the work queue's bounds). The
 * rendering itself is injected (server/thumbnails/): the domain names what it needs of it.
 */
import type { Readable } from 'node:stream';
import type { Db } from '../db/index.js';
import { existingBlobs } from '../db/repos/blobs.js';
import type { ThumbnailCache } from '../../storage/index.js';
import { requireNode } from './access.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import type { Content } from './content.js';
import { noThumbnail } from './errors.js';
import type { NodeRow } from './types.js';
import { WorkQueue } from './work-queue.js';

/** The sizes offered (longer side, pixels): grid tiles, the preview strip and a large preview. */
export const THUMBNAIL_SIZES = [64, 256, 1024] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

type SourceKind = 'image' | 'pdf' | 'video';

export interface ThumbnailRenderer {
  render(
    kind: SourceKind,
    input: Buffer | Readable,
    size: number,
  ): Promise<{ image: Buffer } | { unrenderable: string }>;
}

export interface ThumbnailSettings {
  maxInputBytes: number;
  concurrency: number;
  queue: number;
}

export interface Thumbnail {
  /** Strong: the source's content hash, the size and the recipe that made it. */
  etag: string;
  type: string;
  /** The image; null when the caller's `ifNoneMatch` matched the ETag (nothing was read). */
  bytes: Buffer | null;
}

/** Which renderer a file's type calls for; null when there is none (SVG is not rasterised: it is a document). */
function sourceKind(node: NodeRow): SourceKind | null {
  const mime = (node.mime ?? '').toLowerCase();
  if (mime === 'application/pdf') return 'pdf';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('image/') && !mime.includes('svg')) return 'image';
  return null;
}

/** How long a source that could not be rendered is not tried again, and how many such answers are kept. */
const FAILURE_TTL_MS = 3600_000;
const FAILURES_KEPT = 10_000;

export class Thumbnails {
  private readonly queue: WorkQueue;
  /**
   * Sources that could not be rendered (corrupt, unsupported, a renderer missing or too slow), by
   * hash and size: the grid asks again on every visit, and reading a large video anew each time to
   * fail again would cost more than all the thumbnails that work. Per process; forgotten after an hour.
   */
  private readonly failures = new Map<string, { reason: string; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly content: Content,
    private readonly cache: ThumbnailCache,
    private readonly renderer: ThumbnailRenderer,
    private readonly recipe: { id: string; type: string },
    private readonly settings: ThumbnailSettings,
  ) {
    this.queue = new WorkQueue(settings.concurrency, settings.queue, 'thumbnails');
  }

  /** A file's thumbnail at `size`, for an actor who may read the file. */
  async get(
    actor: Actor,
    id: string,
    size: ThumbnailSize,
    opts: { ifNoneMatch?: (etag: string) => boolean } = {},
  ): Promise<Thumbnail> {
    const { node } = await requireNode(this.db, actor, id, 'view', this.clock.now());
    const kind = node.kind === 'file' ? sourceKind(node) : null;
    const hash = node.contentHash;
    if (!kind || !hash || node.size === 0) throw noThumbnail('This kind of file has no thumbnail');
    if (node.size > this.settings.maxInputBytes)
      throw noThumbnail(`Files over ${this.settings.maxInputBytes} bytes get no thumbnail`);
    const etag = `thumb-${this.recipe.id}-${size}-${hash}`;
    const type = this.recipe.type;
    if (opts.ifNoneMatch?.(etag)) return { etag, type, bytes: null };
    const cached = await this.cache.read(hash, size);
    if (cached) return { etag, type, bytes: cached };
    const key = `${hash}-${size}`;
    const failed = this.failures.get(key);
    if (failed && this.clock.now() - failed.at < FAILURE_TTL_MS) throw noThumbnail(failed.reason);
    const bytes = await this.queue.run(key, () => this.make(actor, node, kind, size));
    return { etag, type, bytes };
  }

  private async make(actor: Actor, node: NodeRow, kind: SourceKind, size: number): Promise<Buffer> {
    const hash = node.contentHash!;
    // Another request may have made it while this one waited for a slot.
    const cached = await this.cache.read(hash, size);
    if (cached) return cached;
    const input = await this.content.openContent(actor, node, undefined, 'render');
    const result = await this.renderer.render(kind, input, size);
    if ('unrenderable' in result) {
      const key = `${hash}-${size}`;
      this.failures.delete(key);
      this.failures.set(key, { reason: result.unrenderable, at: this.clock.now() });
      // A Map iterates in insertion order: the first key is the oldest answer.
      if (this.failures.size > FAILURES_KEPT) this.failures.delete(this.failures.keys().next().value!);
      throw noThumbnail(result.unrenderable);
    }
    await this.cache.write(hash, size, result.image);
    return result.image;
  }

  /** Drops the thumbnails of blobs that are gone (the blob GC calls this with the rows it deleted). */
  forget(hashes: string[]): Promise<number> {
    return this.cache.remove(hashes);
  }

  /** Removes thumbnails whose blob has no row any more, those of older recipes, and stale temp files. */
  sweep(tempCutoffMs: number): Promise<number> {
    return this.cache.sweep((hashes) => existingBlobs(this.db, hashes), tempCutoffMs);
  }
}
