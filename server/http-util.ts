/** HTTP details shared by the API and WebDAV doors (neither may import the other). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type RangeResult =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

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

/** RFC 6266 / 5987: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback =
    name
      .normalize('NFKD')
      .replace(/[^\x20-\x7e]/g, '')
      .replace(/["\\%;]/g, '_')
      .trim() || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * Types a browser runs (or renders with script: HTML, SVG, any XML through an XSLT stylesheet,
 * MHTML archives, Flash) when shown inline. An unknown type counts as active.
 */
const ACTIVE =
  /^\s*(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z0-9.+-]+\/[a-z0-9.+-]*\+xml|text\/xsl|text\/(x-)?(java|ecma)script|application\/(x-)?(java|ecma)script|application\/x-shockwave-flash|multipart\/related|message\/rfc822|application\/x-mimearchive)\s*(;|$)/i;
export function isActiveContent(mime: string | null): boolean {
  return !mime || ACTIVE.test(mime);
}

/** For a download, a listing or anything else: nothing loads, nothing runs. */
export const INERT_CSP = "default-src 'none'; sandbox";

/**
 * For a file shown inline: an image or media document may load itself (and the browser's own
 * inline styles apply); nothing else loads (an SVG or HTML page on the content origin not even an
 * image), nothing runs.
 */
function inlineCsp(mime: string | null): string {
  const self = isActiveContent(mime)
    ? ''
    : /^image\//i.test(mime ?? '')
      ? "img-src 'self' data:; "
      : /^(video|audio)\//i.test(mime ?? '')
        ? "media-src 'self'; "
        : '';
  return `default-src 'none'; ${self}style-src 'unsafe-inline'; sandbox`;
}

/**
 * The one policy for user bytes on every door (WebDAV GET/HEAD, API download and preview, public
 * links, ZIP, the content origin): never sniffed, sandboxed (no script, no same-origin access even
 * if a browser renders it), and active types always downloaded — unless `sandboxedInline`, which
 * only the separate CONTENT_ORIGIN may ask for, since there a rendered page can reach nothing of ours.
 */
export function userContentHeaders(
  file: { name: string; mime: string | null },
  opts: { download?: boolean; sandboxedInline?: boolean } = {},
): Record<string, string> {
  const attachment = !opts.sandboxedInline && (opts.download === true || isActiveContent(file.mime));
  return {
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': attachment ? INERT_CSP : inlineCsp(file.mime),
    'Content-Disposition': contentDisposition(attachment ? 'attachment' : 'inline', file.name),
  };
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

/**
 * Whether a request was addressed to `target` (a configured origin). The Host header is compared,
 * never X-Forwarded-Host, which anyone can send: a proxy in front must pass Host through.
 */
export function addressedTo(req: IncomingMessage, target: { origin: string; host: string }): boolean {
  return normalHost(req.headers.host, new URL(target.origin).protocol) === target.host;
}

/** How long a connection whose request body we did not read stays open to drain it (see answerUnreadBody). */
const LINGER_IDLE_MS = 2_000;
const LINGER_MAX_MS = 30_000;

/**
 * Sends a complete response to a request whose body was not read to the end — refused up front, or
 * cut off (quota, full disk) — then closes the connection once the client has stopped sending
 * (at most LINGER_MAX_MS, or LINGER_IDLE_MS without data), discarding what still arrives.
 * Closing at once would leave unread bytes in the socket, and the kernel then answers with a
 * reset that can destroy the response before the client reads it: this is the "lingering close"
 * of Apache and nginx. A client that asked for `100 Continue` and did not get it sends no body
 * (RFC 9110 §10.1.1), so its connection closes at once.
 */
export function answerUnreadBody(req: IncomingMessage, res: ServerResponse, body: string): void {
  res.setHeader('Connection', 'close');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  const noBodyComing = (req as IncomingMessage & { expectsContinue?: boolean }).expectsContinue === true;
  if (noBodyComing || req.complete || req.destroyed) return void res.end(body);
  res.write(body); // the status, headers and whole body go out now: the client has its answer
  let idle: NodeJS.Timeout | undefined;
  const done = () => {
    clearTimeout(idle);
    clearTimeout(cap);
    req.off('data', bump).off('end', done).off('close', done).off('error', done);
    if (!res.writableEnded) res.end();
  };
  const bump = () => {
    clearTimeout(idle);
    idle = setTimeout(done, LINGER_IDLE_MS).unref();
  };
  const cap = setTimeout(done, LINGER_MAX_MS).unref();
  req.on('data', bump).once('end', done).once('close', done).once('error', done);
  bump();
  req.resume();
}
