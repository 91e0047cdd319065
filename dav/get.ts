/** GET and HEAD: strong ETag, Last-Modified, conditional requests, one Range by seeking into the blob. */
import type { DavContext } from './context.js';
import { DavError } from './errors.js';
import { etagList, header, httpDate, INERT_CSP, parseRange, sendStream, userContentHeaders } from './http.js';
import { encodeName } from './paths.js';
import { esc } from './xml.js';

export async function get(c: DavContext): Promise<void> {
  const { node } = await c.resolve();
  if (!node) throw new DavError(404, 'Not found');
  const res = c.res;
  const head = c.method === 'HEAD';
  const etag = `"${node.etag}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', httpDate(node.modifiedAt));

  const ifMatch = etagList(header(c.req, 'if-match'));
  if (ifMatch && !ifMatch.includes('*') && !ifMatch.includes(node.etag)) throw new DavError(412, 'If-Match failed');
  const ius = header(c.req, 'if-unmodified-since');
  if (!ifMatch && ius && Date.parse(ius) < Math.floor(node.modifiedAt / 1000) * 1000)
    throw new DavError(412, 'Modified since');
  const inm = etagList(header(c.req, 'if-none-match'));
  const ims = header(c.req, 'if-modified-since');
  const notModified = inm
    ? inm.includes('*') || inm.includes(node.etag)
    : !!ims && Date.parse(ims) >= Math.floor(node.modifiedAt / 1000) * 1000;
  if (notModified) {
    res.statusCode = 304;
    res.end();
    return;
  }

  if (node.kind === 'folder') {
    const items = await c.namespace.children(c.actor, node);
    const html =
      `<!doctype html><meta charset="utf-8"><title>${esc(node.name)}</title><ul>` +
      items
        .map(
          (i) =>
            `<li><a href="${encodeName(i.name)}${i.kind === 'folder' ? '/' : ''}">${esc(i.name)}${i.kind === 'folder' ? '/' : ''}</a></li>`,
        )
        .join('') +
      '</ul>\n';
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    // Our own page, but it shows names users chose: nothing in it may load or run.
    res.setHeader('Content-Security-Policy', INERT_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Length', Buffer.byteLength(html));
    res.end(head ? undefined : html);
    return;
  }

  res.setHeader('Content-Type', node.mime ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  // WebDAV clients ignore Content-Disposition; a browser following a link to /dav/x.html downloads it.
  for (const [name, value] of Object.entries(userContentHeaders(node))) res.setHeader(name, value);
  if (node.sha1 && node.md5) res.setHeader('OC-Checksum', `SHA1:${node.sha1}`);
  const size = node.size;
  const ifRange = header(c.req, 'if-range');
  const rangeHeader =
    ifRange && ifRange.trim() !== etag && ifRange.trim() !== httpDate(node.modifiedAt)
      ? undefined
      : header(c.req, 'range');
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : size - 1;
  if (range.kind === 'partial') {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  } else res.statusCode = 200;
  res.setHeader('Content-Length', end - start + 1);
  if (head || size === 0 || !node.contentHash) {
    res.end();
    return;
  }
  const body = await c.content.openContent(c.actor, node, { start, end });
  if (Buffer.isBuffer(body)) res.end(body);
  else await sendStream(body, res);
}
