/** What every WebDAV handler gets: the raw request/response, the actor, and path resolution. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import type { Actor } from '../server/domain/actor.js';
import type { Content } from '../server/domain/content.js';
import type { Drive } from '../server/domain/drive.js';
import type { Locks } from '../server/domain/locks.js';
import type { Namespace, NamespaceNode } from '../server/domain/namespace.js';
import type { Sharing } from '../server/domain/sharing.js';
import type { Log } from '../server/log.js';

export interface Resolved {
  names: string[];
  /** Existing nodes along the path, root first. */
  chain: NamespaceNode[];
  /** The target, when it exists. */
  node: NamespaceNode | null;
  /** The target's parent, when it exists (null for the root). */
  parent: NamespaceNode | null;
}

export interface DavDeps {
  config: Config;
  drive: Drive;
  namespace: Namespace;
  content: Content;
  locks: Locks;
  sharing: Sharing;
  log: Log;
}

export interface DavContext extends DavDeps {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  actor: Actor;
  /** The request path as names under the user's root. */
  names: string[];
  resolve(names?: string[]): Promise<Resolved>;
}

/** Non-PUT request bodies (XML) larger than this are refused with 413 before anything else. */
export const MAX_XML_BODY = 1024 * 1024;

export function makeResolver(
  namespace: Namespace,
  actor: Actor,
  own: string[],
): (names?: string[]) => Promise<Resolved> {
  let cached: Promise<Resolved> | undefined;
  const run = async (names: string[]): Promise<Resolved> => {
    const chain = await namespace.resolve(actor, names);
    const node = chain.length === names.length + 1 ? chain[chain.length - 1]! : null;
    const parent = names.length > 0 && chain.length >= names.length ? chain[names.length - 1]! : null;
    return { names, chain, node, parent };
  };
  return (names?: string[]) => {
    if (names && names !== own) return run(names);
    cached ??= run(own);
    return cached;
  };
}
