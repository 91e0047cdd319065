/**
 * Drag and drop on the files page: files from the desktop upload into the open folder (or the
 * folder row they are dropped on); items dragged within the list move (or, with Ctrl/Alt, copy)
 * into a folder row or a breadcrumb.
 */
import { toastError } from '$lib/toast.svelte';
import type { Node } from '$lib/types';
import { enqueue, entriesFromDrop } from '$lib/uploads.svelte';
import type { Selection } from './selection.svelte';

const INTERNAL = 'application/x-coffer-ids';
const hasFiles = (e: DragEvent) => !!e.dataTransfer?.types.includes('Files');
const hasInternal = (e: DragEvent) => !!e.dataTransfer?.types.includes(INTERNAL);

export class DragDrop {
  /** Files from outside are over the page. */
  active = $state(false);
  /** The folder under the pointer, if any. */
  folder = $state<string | null>(null);

  constructor(
    private readonly opts: {
      sel: Selection;
      items: () => Node[];
      folderId: () => string;
      canEdit: () => boolean;
      transfer: (mode: 'move' | 'copy', nodes: Node[], target: Node) => void;
    },
  ) {}

  start(e: DragEvent, i: number): void {
    const { sel, items } = this.opts;
    if (!sel.has(items()[i]!.id)) sel.only(i);
    e.dataTransfer?.setData(INTERNAL, JSON.stringify([...sel.ids]));
    e.dataTransfer!.effectAllowed = 'copyMove';
  }

  pageOver(e: DragEvent): void {
    if (!hasFiles(e) || !this.opts.canEdit()) return;
    e.preventDefault();
    this.active = true;
  }

  pageLeave(e: DragEvent): void {
    if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as globalThis.Node | null)) this.active = false;
  }

  async pageDrop(e: DragEvent): Promise<void> {
    if (!hasFiles(e)) return;
    e.preventDefault();
    this.active = false;
    const target = this.folder ?? this.opts.folderId();
    this.folder = null;
    try {
      await enqueue(await entriesFromDrop(e.dataTransfer!), target);
    } catch (err) {
      toastError(err, 'Upload failed');
    }
  }

  folderOver(e: DragEvent, n: Node): void {
    if (n.kind !== 'folder' || (!hasFiles(e) && !hasInternal(e))) return;
    if (hasInternal(e) && this.opts.sel.has(n.id)) return;
    e.preventDefault();
    this.folder = n.id;
    if (e.dataTransfer) e.dataTransfer.dropEffect = e.ctrlKey || e.altKey ? 'copy' : 'move';
  }

  folderLeave(n: Node): void {
    if (this.folder === n.id) this.folder = null;
  }

  /** Items from the list land here; files from the desktop bubble up to pageDrop with `folder` set. */
  folderDrop(e: DragEvent, n: Node): void {
    if (!hasInternal(e)) return;
    e.preventDefault();
    e.stopPropagation();
    this.folder = null;
    this.active = false;
    const ids = JSON.parse(e.dataTransfer!.getData(INTERNAL) || '[]') as string[];
    const nodes = this.opts.items().filter((x) => ids.includes(x.id) && x.id !== n.id);
    if (nodes.length) this.opts.transfer(e.ctrlKey || e.altKey ? 'copy' : 'move', nodes, n);
  }
}
