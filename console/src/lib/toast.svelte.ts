/** Toasts: short messages at the bottom of the screen; errors carry the server's own message. */
import { ApiError } from './api';

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  text: string;
  action?: { label: string; run: () => void | Promise<void> };
}

export const toasts = $state<Toast[]>([]);
let next = 1;

export function toast(
  text: string,
  kind: Toast['kind'] = 'info',
  action?: Toast['action'],
  ms = kind === 'error' ? 8000 : 5000,
): number {
  const id = next++;
  toasts.push({ id, kind, text, action });
  setTimeout(() => dismiss(id), ms);
  return id;
}

export function dismiss(id: number) {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}

export function toastError(err: unknown, prefix = '') {
  if ((err as Error)?.name === 'AbortError') return;
  const msg = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  toast(prefix ? `${prefix}: ${msg}` : msg, 'error');
}
