/** What the files page does to items through the API, with the toast that tells the user how it went. */
import { api, contentUrl, download, zipUrl } from '$lib/api';
import { quotaChanged } from '$lib/actions';
import { breakLock } from '$lib/locks';
import { toast, toastError } from '$lib/toast.svelte';
import type { Lock, Node } from '$lib/types';

export async function createFolder(parentId: string, name: string): Promise<Node | null> {
  try {
    return await api.post<Node>('/api/folders', { parentId, name });
  } catch (err) {
    toastError(err, 'Could not create the folder');
    return null;
  }
}

export async function renameNode(n: Node, name: string): Promise<Node | null> {
  try {
    return await api.patch<Node>(`/api/nodes/${encodeURIComponent(n.id)}`, { name });
  } catch (err) {
    toastError(err, 'Could not rename');
    return null;
  }
}

/** Moves or copies items into a folder (all or nothing); true when it worked. */
export async function moveOrCopy(
  mode: 'move' | 'copy',
  nodes: Node[],
  target: { id: string; name: string },
): Promise<boolean> {
  try {
    await api.post('/api/nodes/bulk', { action: mode, ids: nodes.map((n) => n.id), parentId: target.id });
    toast(
      `${mode === 'move' ? 'Moved' : 'Copied'} ${nodes.length === 1 ? `“${nodes[0]!.name}”` : `${nodes.length} items`} to “${target.name || 'My files'}”`, // the home folder has no name
      'success',
    );
    quotaChanged();
    return true;
  } catch (err) {
    toastError(err, `Could not ${mode}`);
    return false;
  }
}

/** One file downloads as itself; a folder or several items as a ZIP. */
export function downloadNodes(nodes: Node[]): void {
  if (nodes.length === 1 && nodes[0]!.kind === 'file') download(contentUrl(nodes[0]!.id, true));
  else download(zipUrl(nodes.map((n) => n.id)));
}

/** Breaks a WebDAV lock (its holder, the item's owner or an admin): the client holding it loses it. */
export async function breakItemLock(l: Lock): Promise<boolean> {
  try {
    await breakLock(l.token);
    toast(`${l.holder.username}'s lock is broken`, 'success');
    return true;
  } catch (err) {
    toastError(err);
    return false;
  }
}

/** Focuses the rename field with the name selected up to its extension (as desktop file managers do). */
export function focusRenameInput(n: Node): void {
  queueMicrotask(() => {
    const input = document.querySelector<HTMLInputElement>('[data-testid="rename-input"]');
    if (!input) return;
    input.focus();
    const dot = n.kind === 'file' ? n.name.lastIndexOf('.') : -1;
    input.setSelectionRange(0, dot > 0 ? dot : n.name.length);
  });
}
