/** Drive operations shared by the browser, search and shared pages. */
import { api } from './api';
import { refreshMe } from './session.svelte';
import { toast, toastError } from './toast.svelte';
import type { Node } from './types';

let meTimer: ReturnType<typeof setTimeout> | undefined;
/** Refreshes the quota bar soon (coalesces bursts of changes). */
export function quotaChanged() {
  clearTimeout(meTimer);
  meTimer = setTimeout(() => void refreshMe().catch(() => {}), 300);
}

/** Moves nodes to the bin; the toast offers Undo (restore from the bin). */
export async function trashNodes(nodes: Node[], after: () => void) {
  if (!nodes.length) return;
  try {
    await api.post('/api/nodes/bulk', { action: 'trash', ids: nodes.map((n) => n.id) });
  } catch (err) {
    toastError(err, 'Could not delete');
    return;
  }
  after();
  quotaChanged();
  const what = nodes.length === 1 ? `“${nodes[0]!.name}”` : `${nodes.length} items`;
  toast(
    `Moved ${what} to the recycle bin`,
    'success',
    {
      label: 'Undo',
      run: async () => {
        try {
          for (const n of nodes) await api.post(`/api/trash/${encodeURIComponent(n.id)}/restore`);
          toast(`Restored ${what}`, 'success');
        } catch (err) {
          toastError(err, 'Could not restore');
        }
        after();
        quotaChanged();
      },
    },
    8000,
  );
}

export function iconFor(n: Pick<Node, 'kind' | 'name' | 'mime'>): string {
  if (n.kind === 'folder') return 'folder';
  const m = n.mime ?? '';
  if (m.startsWith('image/')) return 'image';
  if (m.startsWith('video/')) return 'video';
  if (m.startsWith('audio/')) return 'audio';
  if (m === 'application/pdf') return 'pdf';
  if (m === 'application/zip' || /\.(zip|tar|gz|7z|rar)$/i.test(n.name)) return 'zip';
  if (m.startsWith('text/') || m.includes('json') || m.includes('javascript')) return 'text';
  return 'file';
}

export function iconColor(icon: string): string {
  return (
    {
      folder: 'text-blue-500',
      image: 'text-purple-500',
      video: 'text-pink-500',
      audio: 'text-amber-500',
      pdf: 'text-red-500',
      zip: 'text-yellow-600',
      text: 'text-slate-500',
    }[icon] ?? 'text-slate-400'
  );
}
