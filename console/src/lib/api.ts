/** The JSON API client: same origin, session cookie, CSRF header on every unsafe method. */
import { goto } from '$app/navigation';
import type { Node } from './types';
import { appPath } from '$lib/paths';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const CSRF = { 'X-Requested-With': 'coffer' } as const;

/**
 * The sign-in page with the way back. `ended`: a session the user had has just been refused (the
 * page then says so); a first visit, with no session at all, is not told that its session ended.
 */
export function signInPath(here: string, ended: boolean): string {
  return appPath(`/login?next=${encodeURIComponent(here)}${ended ? '&ended=1' : ''}`);
}

/**
 * Counts this tab's sign-ins and sign-outs. An answer to a request sent before the latest one is about
 * a session that is over: its 401 must not send the newly signed-in user back to sign-in, nor may
 * refreshMe let it sign them out (the bin page asks for the quota 300 ms after it opens, and that
 * request, sent without a session, can land after the sign-in that follows).
 */
let sessionEpoch = 0;
export function sessionChanged(): void {
  sessionEpoch++;
}
export function currentSessionEpoch(): number {
  return sessionEpoch;
}

/** Where a 401 from a call made in a session sends the user. Public pages opt out. */
let onUnauthenticated: (() => void) | null = () => {
  const here = location.pathname + location.search;
  if (!here.startsWith(appPath('/login'))) void goto(signInPath(here, true), { replaceState: true });
};
export function setUnauthenticatedHandler(fn: (() => void) | null) {
  onUnauthenticated = fn;
}

export async function errorFrom(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      details = body.error.details;
    }
  } catch {
    /* not JSON */
  }
  if (res.status === 413 && code.startsWith('http_')) message = 'The file is too large for the server';
  return new ApiError(res.status, code, message, details);
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Don't bounce to the sign-in page on 401 (e.g. the sign-in form itself). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (method !== 'GET' && method !== 'HEAD') Object.assign(headers, CSRF);
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const epoch = sessionEpoch;
  let res: Response;
  try {
    res = await fetch(appPath(path), { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
  }
  if (res.status === 401 && !opts.quiet401 && onUnauthenticated && epoch === sessionEpoch) onUnauthenticated();
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const api = {
  get: <T = unknown>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T = unknown>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('POST', path, { ...opts, body }),
  patch: <T = unknown>(path: string, body?: unknown, opts?: RequestOptions) =>
    request<T>('PATCH', path, { ...opts, body }),
  put: <T = unknown>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }),
  del: <T = unknown>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};

export const contentUrl = (id: string, download = false) =>
  appPath(`/api/files/${encodeURIComponent(id)}/content${download ? '?download=1' : ''}`);
export const zipUrl = (ids: string[]) =>
  appPath(
    ids.length === 1
      ? `/api/nodes/${encodeURIComponent(ids[0]!)}/zip`
      : `/api/zip?ids=${ids.map(encodeURIComponent).join(',')}`,
  );

export const children = (id: string, sort: string, order: string) =>
  api.get<{ items: Node[]; total: number }>(
    `/api/nodes/${encodeURIComponent(id)}/children?sort=${sort}&order=${order}&limit=5000`,
  );

/** Starts a browser download of a URL without leaving the page. */
export function download(url: string) {
  const a = document.createElement('a');
  a.href = url;
  a.download = '';
  document.body.appendChild(a);
  a.click();
  a.remove();
}
