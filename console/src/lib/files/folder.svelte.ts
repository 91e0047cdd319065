/** The open folder's listing, breadcrumbs and WebDAV locks, loaded together and kept fresh. */
import { api, ApiError, children } from '$lib/api';
import { locksOn } from '$lib/locks';
import { session } from '$lib/session.svelte';
import type { IncomingShare, Lock, Node } from '$lib/types';
import type { Sort } from './types';

/** Folders first, then the server's order. */
function arrange(list: Node[]): Node[] {
  return [...list.filter((n) => n.kind === 'folder'), ...list.filter((n) => n.kind !== 'folder')];
}

const signature = (l: Node[]) => l.map((n) => `${n.id}:${n.etag}:${n.name}`).join('|');

export class FolderListing {
  items = $state<Node[]>([]);
  crumbs = $state<Node[]>([]);
  locks = $state<Lock[]>([]);
  /** A grantee's view starts at a share root: its name in "Shared with me" heads the breadcrumbs. */
  shareRootName = $state<string | null>(null);
  loading = $state(true);
  error = $state<ApiError | null>(null);
  private seq = 0;

  /** Loads a folder; `quiet` refreshes keep the same array when nothing changed (no flicker, focus kept) and never show an error. */
  async load(id: string, sort: Sort, order: 'asc' | 'desc', opts: { quiet?: boolean } = {}): Promise<void> {
    if (!id) return;
    const seq = ++this.seq;
    if (!opts.quiet) this.loading = true;
    try {
      const [list, path, held] = await Promise.all([
        children(id, sort, order),
        api.get<{ items: Node[] }>(`/api/nodes/${encodeURIComponent(id)}/path`),
        locksOn(id).catch(() => [] as Lock[]),
      ]);
      const top = path.items[0];
      const shared =
        top && top.id !== session.user?.rootId
          ? (
              await api
                .get<{ items: IncomingShare[] }>('/api/shares/incoming')
                .catch(() => ({ items: [] as IncomingShare[] }))
            ).items.find((s) => s.id === top.id)
          : undefined;
      if (seq !== this.seq) return;
      this.locks = held;
      this.shareRootName = shared?.shareName ?? null;
      const next = arrange(list.items);
      if (!opts.quiet || signature(next) !== signature(this.items)) this.items = next;
      this.crumbs = path.items;
      this.error = null;
    } catch (err) {
      if (seq !== this.seq) return;
      if (!opts.quiet) {
        this.error = err instanceof ApiError ? err : new ApiError(0, 'internal', (err as Error).message);
        this.items = [];
      }
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}
