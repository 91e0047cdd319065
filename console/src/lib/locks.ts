/** WebDAV locks in the console: what is locked in a folder, and breaking a lock (holder, owner, admin). */
import { api } from './api';
import type { Lock } from './types';

/** Locks on a node, on a folder above it (depth infinity), or inside it. */
export const locksOn = (nodeId: string) =>
  api.get<{ items: Lock[] }>(`/api/nodes/${encodeURIComponent(nodeId)}/locks`).then((r) => r.items);

/** Locks on your files (admins: `owner` = a user id or "all"). */
export const myLocks = (owner?: string) =>
  api.get<{ items: Lock[] }>(`/api/locks${owner ? `?owner=${encodeURIComponent(owner)}` : ''}`).then((r) => r.items);

export const breakLock = (token: string) => api.del(`/api/locks/${encodeURIComponent(token)}`);

/** "Locked by bob (WebDAV) until 14:05" */
export function lockTitle(l: Lock): string {
  const until = new Date(l.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `Locked by ${l.holder.username} (WebDAV${l.depth === 'infinity' ? ', with everything inside' : ''}) until ${until}`;
}
