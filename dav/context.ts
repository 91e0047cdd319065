/** What every WebDAV handler gets: the raw request/response, the actor, and path resolution. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import type { Actor, Origin } from '../server/domain/actor.js';
import type { Content } from '../server/domain/content.js';
import type { Drive } from '../server/domain/drive.js';
import type { Locks } from '../server/domain/locks.js';
import type { Lookup, Namespace, NamespaceNode } from '../server/domain/namespace.js';
import type { DeadProperty } from '../server/domain/properties.js';
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
  /** The request's own path, for PROPFIND: the target's dead properties (read with the path). */
  properties?: DeadProperty[];
  /** The request's own path, for PROPFIND: false when no lock can apply to the target. */
  ownerHasLocks?: boolean;
  /** The request's own path in the actor's own tree: the target's lock path, known without a query. */
  lockPath?: { ownerId: string; path: string };
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
  /** The request path as names under the mount's root. */
  names: string[];
  /** Where the names start: /dav (the user's root) or /public-dav/<token> (a link's node), without BASE_PATH. */
  mount: string;
  resolve(names?: string[]): Promise<Resolved>;
}

/**
 * A request's context, made once per request: the deps copied into fields of one class, so that
 * every request's context has the same shape (a `{ ...deps, req, res }` literal cost a small GET
 * ~20 µs here: its copy, and the handlers' property reads on objects of varying shape). `actor`,
 * `names`, `mount` and `resolve` are set once the request is authenticated, before any handler runs.
 */
export class DavExchange implements DavContext {
  readonly config: Config;
  readonly drive: Drive;
  readonly namespace: Namespace;
  readonly content: Content;
  readonly locks: Locks;
  readonly sharing: Sharing;
  readonly log: Log;
  actor!: Actor;
  names: string[] = [];
  mount = '';
  resolve!: (names?: string[]) => Promise<Resolved>;

  constructor(
    deps: DavDeps,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly method: string,
    readonly origin: Origin,
  ) {
    this.config = deps.config;
    this.drive = deps.drive;
    this.namespace = deps.namespace;
    this.content = deps.content;
    this.locks = deps.locks;
    this.sharing = deps.sharing;
    this.log = deps.log;
  }
}

/** Non-PUT request bodies (XML) larger than this are refused with 413 before anything else. */
export const MAX_XML_BODY = 1024 * 1024;

/** The request's own path comes from the lookup that authenticated it; other paths (Destination, `If:`) are resolved on demand. */
/** A path's existing nodes shaped as a Resolved (target and parent, when they exist). */
function shape(names: string[], chain: NamespaceNode[]): Resolved {
  const node = chain.length === names.length + 1 ? chain[chain.length - 1]! : null;
  const parent = names.length > 0 && chain.length >= names.length ? chain[names.length - 1]! : null;
  // Every field named here, so that every Resolved has one shape (a request's hot path reads them).
  return { names, chain, node, parent, properties: undefined, ownerHasLocks: undefined, lockPath: undefined };
}

/** Every path resolved through the Namespace, the request's own once (a link visitor: no credential lookup to ride on). */
export function makePlainResolver(
  namespace: Namespace,
  actor: Actor,
  own: string[],
): (names?: string[]) => Promise<Resolved> {
  let mine: Promise<Resolved> | undefined;
  return (names?: string[]) => {
    if (names && names !== own) return namespace.resolve(actor, names).then((chain) => shape(names, chain));
    return (mine ??= namespace.resolve(actor, own).then((chain) => shape(own, chain)));
  };
}

export function makeResolver(
  namespace: Namespace,
  actor: Actor,
  own: string[],
  lookup: Lookup,
): (names?: string[]) => Promise<Resolved> {
  const resolved = shape(own, lookup.chain);
  resolved.properties = lookup.properties;
  resolved.ownerHasLocks = lookup.ownerHasLocks;
  resolved.lockPath = lookup.lockPath;
  const mine = Promise.resolve(resolved);
  return (names?: string[]) =>
    !names || names === own ? mine : namespace.resolve(actor, names).then((chain) => shape(names, chain));
}
