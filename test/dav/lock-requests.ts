/** LOCK, and reading what a lock shows, as the lock tests send them. */
import type { Dav } from './support.js';

const LOCKINFO = (scope: 'exclusive' | 'shared', owner = '<D:href>tester</D:href>') =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

export async function lock(
  dav: Dav,
  p: string,
  headers: Record<string, string> = {},
  scope: 'exclusive' | 'shared' = 'exclusive',
): Promise<{ status: number; token: string; body: string }> {
  const res = await dav.request('LOCK', p, {
    headers: { 'content-type': 'text/xml; charset="utf-8"', ...headers },
    body: LOCKINFO(scope),
  });
  const body = await res.text();
  const h = res.headers.get('lock-token') ?? '';
  return { status: res.status, token: h.replace(/^<|>$/g, ''), body };
}

export async function status(p: Promise<Response>): Promise<number> {
  const res = await p;
  await res.arrayBuffer();
  return res.status;
}

export async function lockdiscovery(dav: Dav, p: string): Promise<string> {
  const res = await dav.propfind(
    p,
    '0',
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
  );
  return res.text();
}
