/** HTTP helpers of the WebDAV layer: bodies, ranges, conditional requests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DavError } from './errors.js';

/** Request bodies other than PUT are small XML documents: read at most `limit` bytes (chunked or not). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new DavError(413, 'Request body too large');
  if (!hasBody(req)) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new DavError(413, 'Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || (req.headers['transfer-encoding'] ?? '') !== '';
}

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

/** Entity tags of an If-Match / If-None-Match list, without quotes; ['*'] for the wildcard. */
export function etagList(header: string | undefined): string[] | null {
  if (header === undefined) return null;
  const h = header.trim();
  if (h === '*') return ['*'];
  const tags: string[] = [];
  for (const m of h.matchAll(/(?:W\/)?"([^"]*)"|([^\s,]+)/g)) tags.push(m[1] ?? m[2]!);
  return tags;
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Node's http server sends `100 Continue` only when we call this (see server/http.ts). */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  const r = req as IncomingMessage & { expectsContinue?: boolean };
  if (r.expectsContinue) {
    r.expectsContinue = false;
    res.writeContinue();
  }
}

/** Writes a chunk and waits for the socket to drain when its buffer is full (streamed responses). */
export async function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) throw new DavError(499, 'Client went away');
  if (!res.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

/** A request header as one string (repeated headers joined with ", "). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
