import { toast } from './toast.svelte';

/**
 * Copies `text` and says so in a toast. Where the browser refuses (no permission, a page served over
 * plain HTTP), shows `fallback` in a toast that stays `ms` long, to be copied by hand.
 */
export async function copyText(text: string, { copied = 'Copied', fallback = text, ms = 12000 } = {}): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast(copied, 'success');
  } catch {
    toast(fallback, 'info', undefined, ms);
  }
}
