/**
 * The client's address, decided once for both doors (the API and WebDAV): it keys sign-in
 * throttling and is written into the activity log.
 *
 * Without TRUST_PROXY it is the socket's peer. With it, X-Forwarded-For is read only when the peer
 * itself is a trusted proxy, and from the right: each proxy appends the address it received the
 * request from, so the right-most entries are the ones our own proxies wrote, and the first entry
 * (walking leftwards) that is not a trusted proxy is the client. Everything left of it was written by
 * the client and proves nothing (Koa's `ctx.ip` takes the left-most entry, which a client sets itself).
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Config } from '../config/index.js';

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`; anything that is not an IP → null. */
export function normalizeIp(raw: string | undefined): string | null {
  if (!raw) return null;
  let ip = raw.trim();
  // X-Forwarded-For may carry "[v6]:port" or "v4:port" (some proxies add the port).
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) ip = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const family = net.isIP(ip);
  return family === 0 ? null : family === 6 ? ip.toLowerCase() : ip;
}

const lists = new WeakMap<readonly string[], net.BlockList>();

function trustedList(config: Config): net.BlockList {
  let list = lists.get(config.trustedProxies);
  if (!list) {
    list = new net.BlockList();
    for (const entry of config.trustedProxies) {
      const [addr, prefix] = entry.split('/');
      const ip = normalizeIp(addr)!;
      const type = net.isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(ip, type);
      else list.addSubnet(ip, Number(prefix), type);
    }
    lists.set(config.trustedProxies, list);
  }
  return list;
}

function isTrusted(list: net.BlockList, ip: string): boolean {
  return list.check(ip, net.isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

export function clientAddress(req: IncomingMessage, config: Config): string | null {
  const peer = normalizeIp(req.socket.remoteAddress);
  if (!config.trustProxy || !peer) return peer;
  const list = trustedList(config);
  if (!isTrusted(list, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  let candidate = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizeIp(hops[i]);
    // A malformed entry was not written by a proxy we trust: stop at the last hop that was.
    if (!ip) break;
    candidate = ip;
    if (!isTrusted(list, ip)) return ip;
  }
  return candidate;
}
