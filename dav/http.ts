/** HTTP helpers of the WebDAV layer: bodies, ranges, conditional requests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { DavError } from './errors.js';

export {
  answerUnreadBody,
  INERT_CSP,
  normalHost,
  parseRange,
  sendContinue,
  userContentHeaders,
  type RangeResult,
} from '../server/http-util.js';

/**
 * Request bodies other than PUT are small XML documents: read at most `limit` bytes (chunked or
 * not). Events rather than an async iterator, which costs a small PROPFIND a measurable share of
 * its CPU; past the limit the request is destroyed, as the iterator did.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new DavError(413, 'Request body too large'));
  if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (err: Error | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', settle);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      settle(new DavError(413, 'Request body too large'));
      req.destroy();
    };
    const onEnd = () => settle(null);
    const onClose = () => settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', settle);
    req.once('close', onClose);
  });
}

export function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || (req.headers['transfer-encoding'] ?? '') !== '';
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

/**
 * Streams `src` into the response and settles when the response is finished. Not stream.pipeline:
 * per call it builds an AbortController and, when done, aborts it with a DOMException (a stack
 * capture), a measurable share of a small GET. A failure before the first byte rejects with the
 * response intact (the caller answers 500); after it, the connection is cut.
 */
export function sendStream(src: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      src.off('error', done);
      res.off('finish', done);
      res.off('close', done);
      if (err === undefined && res.writableFinished) return resolve();
      src.unpipe(res);
      src.destroy();
      if (res.headersSent) res.destroy();
      reject(err ?? new DavError(499, 'Client went away'));
    };
    src.once('error', done);
    res.once('finish', done);
    res.once('close', done);
    src.pipe(res);
  });
}
