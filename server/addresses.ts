/**
 * Where people can open Coffer, printed once it listens. The log line's URL is loopback (what a
 * health check on this machine uses); a person setting Coffer up wants the address that works from
 * their laptop or phone: PUBLIC_URL when it is set, else every address of this machine's network
 * interfaces when it listens on all of them.
 */
import os from 'node:os';
import type { Config } from '../config/index.js';

export function reachableUrls(config: Config, listeningUrl: string): string[] {
  if (config.publicUrl) return [config.publicUrl.origin + config.basePath + '/'];
  const url = new URL(listeningUrl);
  const scheme = url.protocol.replace(':', '');
  const at = (host: string) => `${scheme}://${host}:${url.port}${config.basePath}/`;
  if (config.host !== '0.0.0.0' && config.host !== '::') return [at(url.hostname)];
  const external = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && (a.family === 'IPv4' || config.host === '::'))
    .map((a) => (a!.family === 'IPv6' ? `[${a!.address}]` : a!.address));
  return [at('localhost'), ...external.map(at)];
}

/** The lines a person reads on the terminal (the log line stays for machines). */
export function printReachableUrls(config: Config, listeningUrl: string): void {
  const urls = reachableUrls(config, listeningUrl);
  console.log(`\n  Coffer is running. Open it at:\n${urls.map((u) => `    ${u}`).join('\n')}\n`);
}
