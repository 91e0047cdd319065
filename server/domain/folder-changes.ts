/**
 * Folder changes the database announces (PostgreSQL's LISTEN/NOTIFY: a trigger names every folder
 * whose contents changed, through any door, on any instance), handed to the live-update streams
 * watching each folder. Without announcements (SQLite) nothing arrives here and the streams poll
 * the folder's ETag; with them the streams still poll, slowly, as a fallback.
 */
export class FolderChanges {
  private readonly watchers = new Map<string, Set<() => void>>();

  /** `live`: announcements arrive (the database has a channel for them). */
  constructor(readonly live: boolean) {}

  /** Calls `fn` when the folder may have changed; returns the function that stops watching. */
  watch(folderId: string, fn: () => void): () => void {
    let set = this.watchers.get(folderId);
    if (!set) this.watchers.set(folderId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(folderId);
    };
  }

  /** The database announced a change to this folder. */
  changed(folderId: string): void {
    for (const fn of this.watchers.get(folderId) ?? []) fn();
  }

  /** Announcements may have been missed (the channel was reconnected): every watcher checks. */
  resync(): void {
    for (const set of this.watchers.values()) for (const fn of set) fn();
  }
}
