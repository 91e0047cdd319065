/** HTTP details shared by the API and WebDAV doors (neither may import the other). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** One byte range (RFC 9110 §14); several ranges get the whole body, which the RFC allows. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' }; // invalid: ignore
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** Node's http server sends `100 Continue` only when we call this (see server/http.ts). */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  const r = req as IncomingMessage & { expectsContinue?: boolean };
  if (r.expectsContinue) {
    r.expectsContinue = false;
    res.writeContinue();
  }
}

/** A Host header value as an URL's `host` (lower-case, the scheme's default port left out); null when malformed. */
export function normalHost(raw: string | undefined, protocol: string): string | null {
  if (!raw || /[\s/?#@\\]/.test(raw)) return null;
  try {
    return new URL(`${protocol}//${raw}`).host;
  } catch {
    return null;
  }
}
