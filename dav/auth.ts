/**
 * WebDAV authentication: Basic (username or email + password) and Bearer (the API's JWT).
 * Clients send credentials on every request and bcrypt is slow, so a successful Basic check is
 * cached under an HMAC of the header (never the password) for `authCacheTtlSeconds`; every hit
 * re-reads the user (one query), so a password change (token_version) or a disable ends it at once.
 * Failed attempts always go through Accounts.verifyCredentials, which throttles them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Origin } from '../server/domain/actor.js';
import type { Accounts } from '../server/domain/auth.js';
import { unauthenticated } from '../server/domain/errors.js';
import type { UserRow } from '../server/domain/types.js';

interface Entry {
  userId: string;
  tokenVersion: number;
  expiresAt: number;
}

const MAX_ENTRIES = 10_000;

export class DavAuth {
  private readonly key = randomBytes(32);
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly accounts: Accounts,
    private readonly ttlMs: number,
  ) {}

  /** The user behind an Authorization header; throws unauthenticated (401) or rate_limited (429). */
  async authenticate(header: string | undefined, origin: Origin): Promise<UserRow> {
    if (!header) throw unauthenticated();
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer' && value) return (await this.accounts.verifyToken(value)).user;
    if (scheme !== 'basic' || !value) throw unauthenticated();

    const digest = createHmac('sha256', this.key).update(value).digest('base64');
    const hit = this.cache.get(digest);
    if (hit && hit.expiresAt > Date.now()) {
      const user = await this.accounts.currentUser(hit.userId);
      if (user && !user.disabled && user.tokenVersion === hit.tokenVersion) return user;
    }
    if (hit) this.cache.delete(digest);

    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw unauthenticated('Malformed Basic credentials');
    const user = await this.accounts.verifyCredentials(decoded.slice(0, colon), decoded.slice(colon + 1), origin);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { userId: user.id, tokenVersion: user.tokenVersion, expiresAt: Date.now() + this.ttlMs });
    return user;
  }
}
