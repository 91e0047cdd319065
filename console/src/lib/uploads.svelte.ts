/**
 * The upload queue: raw PUT /api/folders/:id/files/:name through XMLHttpRequest (progress and abort),
 * two at a time, with folder trees recreated and a replace / keep both / skip choice on a name clash.
 * Large files (RESUMABLE_MIN_BYTES and up) go through tus instead (resumable.ts): they survive a
 * dropped connection and a page reload.
 */
import { api, ApiError, CSRF, errorFrom, signInPath } from './api';
import { freeName } from './format';
import type { Node } from './types';
import { appPath } from '$lib/paths';
import { RESUMABLE_MIN_BYTES, ResumableError, uploadResumable, type ResumableUpload } from './resumable';

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'error' | 'cancelled' | 'skipped';

export interface Upload {
  id: number;
  name: string;
  size: number;
  loaded: number;
  speed: number;
  status: UploadStatus;
  error?: string;
  folderId: string;
  overwrite: boolean;
  file: File;
  xhr?: XMLHttpRequest;
  resumable?: ResumableUpload;
  /** Where a resumable upload picked up again (fraction of the size), once it has. */
  resumedAt?: number;
  /** A resumable upload waiting for the network to come back. */
  waiting?: boolean;
}

export type ClashChoice = 'replace' | 'keep' | 'skip';
export interface ClashPrompt {
  name: string;
  remaining: number;
  resolve: (r: { choice: ClashChoice; all: boolean }) => void;
}

export const uploads = $state<{ items: Upload[]; prompt: ClashPrompt | null; open: boolean }>({
  items: [],
  prompt: null,
  open: false,
});

const PARALLEL = 2;
let nextId = 1;
const listeners = new Set<(folderId: string) => void>();

/** Called with the folder id each time a file lands (the browser refreshes if it shows that folder). */
export function onUploaded(fn: (folderId: string) => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export interface Entry {
  file: File;
  /** Path relative to the drop target, "a/b/c.txt" for folder uploads, or just the name. */
  relPath: string;
}

export const active = () => uploads.items.filter((u) => u.status === 'queued' || u.status === 'uploading');

async function childrenOf(folderId: string): Promise<Node[]> {
  const r = await api.get<{ items: Node[] }>(`/api/nodes/${encodeURIComponent(folderId)}/children?limit=5000`);
  return r.items;
}

/** Ensures the folder path `parts` exists below `rootId`; returns the deepest folder's id. */
async function ensureFolders(rootId: string, parts: string[], cache: Map<string, string>): Promise<string> {
  let parent = rootId;
  let key = '';
  for (const part of parts) {
    key += '/' + part;
    const known = cache.get(key);
    if (known) {
      parent = known;
      continue;
    }
    try {
      const created = await api.post<Node>('/api/folders', { parentId: parent, name: part });
      parent = created.id;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      const existing = (await childrenOf(parent)).find((n) => n.name.toLowerCase() === part.toLowerCase());
      if (!existing || existing.kind !== 'folder') throw err;
      parent = existing.id;
    }
    cache.set(key, parent);
  }
  return parent;
}

function ask(name: string, remaining: number): Promise<{ choice: ClashChoice; all: boolean }> {
  return new Promise((resolve) => {
    uploads.prompt = {
      name,
      remaining,
      resolve: (r) => {
        uploads.prompt = null;
        resolve(r);
      },
    };
  });
}

/** A row of the queue: `file`, to be stored as `name` in `folderId`; nothing sent yet. */
function newUpload(to: Pick<Upload, 'file' | 'name' | 'folderId' | 'overwrite'>, status: 'queued' | 'skipped'): Upload {
  return { id: nextId++, ...to, size: to.file.size, loaded: 0, speed: 0, status };
}

/** Names clash when they differ only in case (or Unicode form), as on the server. */
const nameKey = (name: string) => name.normalize('NFC').toLowerCase();

/** Adds files to the queue below `parentId`; resolves once every name clash has been decided. */
export async function enqueue(entries: Entry[], parentId: string): Promise<void> {
  if (!entries.length) return;
  uploads.open = true;
  const folderCache = new Map<string, string>();
  const namesCache = new Map<string, Map<string, string>>(); // folder → name key → the name as stored
  let decision: ClashChoice | null = null;
  for (let i = 0; i < entries.length; i++) {
    const { file, relPath } = entries[i]!;
    const parts = relPath.split('/').filter(Boolean);
    let name = parts.pop() ?? file.name;
    const folderId = parts.length ? await ensureFolders(parentId, parts, folderCache) : parentId;
    let names = namesCache.get(folderId);
    if (!names) {
      names = new Map((await childrenOf(folderId)).map((n) => [nameKey(n.name), n.name]));
      namesCache.set(folderId, names);
    }
    let overwrite = false;
    const existing = names.get(nameKey(name));
    if (existing !== undefined) {
      let choice = decision;
      if (!choice) {
        const r = await ask(existing, entries.length - i - 1);
        choice = r.choice;
        if (r.all) decision = r.choice;
      }
      if (choice === 'skip') {
        uploads.items.push(newUpload({ file, name, folderId, overwrite }, 'skipped'));
        continue;
      }
      // The server replaces only the file of exactly that name (a name differing in case is a 409
      // there), so replacing writes to the existing name: the file keeps the name it has.
      if (choice === 'replace') {
        overwrite = true;
        name = existing;
      } else name = freeName(name, new Set(names.keys()));
    }
    names.set(nameKey(name), name);
    uploads.items.push(newUpload({ file, name, folderId, overwrite }, 'queued'));
    pump();
  }
}

function pump() {
  const running = uploads.items.filter((u) => u.status === 'uploading').length;
  const waiting = uploads.items.filter((u) => u.status === 'queued');
  for (const u of waiting.slice(0, Math.max(0, PARALLEL - running))) start(u);
}

function start(item: Upload) {
  // Work on the reactive proxy so the progress bar updates.
  const u = uploads.items.find((x) => x.id === item.id)!;
  u.status = 'uploading';
  if (u.file.size >= RESUMABLE_MIN_BYTES) return startResumable(u);
  const xhr = new XMLHttpRequest();
  u.xhr = xhr;
  const url = appPath(
    `/api/folders/${encodeURIComponent(u.folderId)}/files/${encodeURIComponent(u.name)}${u.overwrite ? '?overwrite=true' : ''}`,
  );
  xhr.open('PUT', url);
  xhr.setRequestHeader('X-Requested-With', CSRF['X-Requested-With']);
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  let lastT = performance.now();
  let lastB = 0;
  xhr.upload.onprogress = (e) => {
    u.loaded = e.loaded;
    const t = performance.now();
    if (t - lastT >= 400) {
      const inst = ((e.loaded - lastB) * 1000) / (t - lastT);
      u.speed = u.speed ? u.speed * 0.6 + inst * 0.4 : inst;
      lastT = t;
      lastB = e.loaded;
    }
  };
  const finish = (status: UploadStatus, error?: string) => finished(u, status, error);
  xhr.onload = async () => {
    if (xhr.status >= 200 && xhr.status < 300) return finish('done');
    const res = new Response(xhr.responseText, {
      status: xhr.status,
      headers: { 'content-type': xhr.getResponseHeader('content-type') ?? '' },
    });
    const err = await errorFrom(res);
    if (xhr.status === 401) location.assign(signInPath(location.pathname + location.search, true));
    void finish('error', err.message);
  };
  xhr.onerror = () =>
    void finish('error', 'The upload was interrupted (network error or the server closed the connection)');
  xhr.onabort = () => void finish('cancelled');
  xhr.send(u.file);
}

function finished(u: Upload, status: UploadStatus, error?: string) {
  u.status = status;
  u.error = error;
  u.xhr = undefined;
  u.resumable = undefined;
  u.waiting = false;
  if (status === 'done') {
    u.loaded = u.size;
    for (const fn of listeners) fn(u.folderId);
  }
  pump();
}

function startResumable(u: Upload) {
  let lastT = performance.now();
  let lastB = 0;
  u.resumable = uploadResumable(
    u.file,
    '/api/uploads',
    { parentId: u.folderId, name: u.name, overwrite: String(u.overwrite) },
    {
      onProgress: (loaded) => {
        u.loaded = loaded;
        const t = performance.now();
        if (t - lastT >= 400) {
          const inst = (Math.max(0, loaded - lastB) * 1000) / (t - lastT);
          u.speed = u.speed ? u.speed * 0.6 + inst * 0.4 : inst;
          lastT = t;
          lastB = loaded;
        }
      },
      onResumed: (offset) => {
        u.resumedAt = u.size ? offset / u.size : 0;
        u.loaded = lastB = offset;
      },
      onWaiting: (waiting) => (u.waiting = waiting),
    },
  );
  u.resumable.done.then(
    () => finished(u, 'done'),
    (err: Error) => {
      if (err.name === 'AbortError') return finished(u, 'cancelled');
      if (err instanceof ResumableError && err.status === 401)
        location.assign(signInPath(location.pathname + location.search, true));
      finished(u, 'error', err.message);
    },
  );
}

export function cancel(id: number) {
  const u = uploads.items.find((x) => x.id === id);
  if (!u) return;
  if (u.status === 'uploading') {
    u.xhr?.abort();
    void u.resumable?.cancel();
  } else if (u.status === 'queued') u.status = 'cancelled';
}

export function cancelAll() {
  for (const u of uploads.items) cancel(u.id);
}

export function clearFinished() {
  for (let i = uploads.items.length - 1; i >= 0; i--) {
    const s = uploads.items[i]!.status;
    if (s !== 'queued' && s !== 'uploading') uploads.items.splice(i, 1);
  }
  if (!uploads.items.length) uploads.open = false;
}

/** Reads a drop's DataTransfer, walking dropped folders (webkitGetAsEntry) into relative paths. */
export async function entriesFromDrop(dt: DataTransfer): Promise<Entry[]> {
  const roots: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) roots.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (!roots.length) return (loose.length ? loose : Array.from(dt.files)).map((file) => ({ file, relPath: file.name }));
  const out: Entry[] = loose.map((file) => ({ file, relPath: file.name }));
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, relPath: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, prefix + entry.name + '/');
      }
    }
  };
  for (const r of roots) await walk(r, '');
  return out;
}

export function entriesFromInput(files: FileList | null): Entry[] {
  return Array.from(files ?? []).map((file) => ({ file, relPath: file.webkitRelativePath || file.name }));
}
