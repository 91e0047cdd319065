/**
 * Content grants: short-lived signed tokens that let the separate content origin (CONTENT_ORIGIN)
 * serve one version of one file to whoever was allowed to read it on the main origin. The content
 * origin has no session (no cookie is ever set there), so the grant in the URL is the only key.
 *
 * A grant binds the node, its ETag and who asked (a user and their token_version, or a link by id),
 * and access is checked again when it is used: a revoked share or link, a password change, a
 * disabled user or a changed file ends it before it expires.
 */
import jwt from 'jsonwebtoken';
import { liveLinkById } from '../db/repos/links.js';
import type { Db } from '../db/index.js';
import type { Actor, Origin } from './actor.js';
import type { Clock } from './clock.js';
import type { Content, FileContent } from './content.js';
import { forbidden, notFound } from './errors.js';
import type { NodeView } from './types.js';
import { getUser } from './users.js';

/** Separates grants from session and link-unlock tokens signed with the same secret. */
const AUDIENCE = 'coffer-content';

interface GrantClaims {
  nid: string;
  et: string;
  uid?: string;
  tv?: number;
  link?: string;
}

export class ContentGrants {
  constructor(
    private readonly db: Db,
    private readonly content: Content,
    private readonly clock: Clock,
    private readonly secret: string,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  /**
   * A grant for `node` as `actor` sees it. Expiry is rounded to half the lifetime, so the same
   * request within a few minutes gets the same URL and the browser's cache (ETag, 304) still works.
   */
  issue(actor: Actor, node: NodeView): string {
    let who: Pick<GrantClaims, 'uid' | 'tv' | 'link'>;
    if (actor.kind === 'user') who = { uid: actor.user.id, tv: actor.user.tokenVersion };
    else if (actor.kind === 'link') who = { link: actor.share.id };
    else throw forbidden('Only a user or a link visitor can read a file');
    const step = Math.max(1000, Math.floor(this.ttlMs / 2));
    const exp = Math.floor((Math.floor(this.clock.now() / step) * step + this.ttlMs) / 1000);
    const claims: GrantClaims & { exp: number } = { nid: node.id, et: node.etag, ...who, exp };
    return jwt.sign(claims, this.secret, { algorithm: 'HS256', audience: AUDIENCE, noTimestamp: true });
  }

  /** The file a grant names, read again as its grantee; anything wrong, expired or changed is not_found. */
  async open(token: string, origin: Origin): Promise<FileContent & { actor: Actor }> {
    const claims = this.verify(token);
    const actor = await this.actorOf(claims, origin);
    const file = await this.content.openFile(actor, claims.nid);
    if (file.node.etag !== claims.et) throw notFound('File');
    return { ...file, actor };
  }

  private verify(token: string): GrantClaims {
    try {
      const c = jwt.verify(token, this.secret, {
        algorithms: ['HS256'],
        audience: AUDIENCE,
        clockTimestamp: Math.floor(this.clock.now() / 1000),
      });
      if (typeof c === 'object' && typeof c.exp === 'number' && typeof c.nid === 'string' && typeof c.et === 'string')
        return c as unknown as GrantClaims;
    } catch {
      // fall through: a bad grant looks exactly like a missing file
    }
    throw notFound('File');
  }

  private async actorOf(claims: GrantClaims, origin: Origin): Promise<Actor> {
    if (typeof claims.uid === 'string') {
      const user = await getUser(this.db, claims.uid);
      if (!user || user.disabled || user.tokenVersion !== claims.tv) throw notFound('File');
      return { kind: 'user', user, origin };
    }
    if (typeof claims.link === 'string') {
      const link = await liveLinkById(this.db, claims.link, this.clock.now());
      if (!link) throw notFound('File');
      return { kind: 'link', share: link, origin: { ...origin, via: 'link' } };
    }
    throw notFound('File');
  }
}
