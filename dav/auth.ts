/**
 * WebDAV authentication: Basic (username or email + password) and Bearer (the API's JWT).
 * Clients send credentials on every request and bcrypt is slow, so a successful Basic check is
 * cached under a salted hash of the header (never the password) for `authCacheTtlSeconds`. What the cache
 * keeps is a claim (user, token_version: credentials.ts), not the user: each request's first query
 * reads the user row with the path and checks the claim against it, so a password change, a disable
 * or a role change made through any instance shows on the very next request, at no query of its own.
 * Failed attempts always go through Accounts.verifyCredentials, which throttles them. When a cached
 * credential is not cached (first use, or expired), the requests that bring it meanwhile share one
 * check: a client keeps 8 requests in flight, and 8 bcrypt checks at once held some of them past
 * 2 s (bench:dav, a wrk timeout), or a first burst of 40 counted 40 attempts against the sign-in
 * throttle (429). Only success is shared: after a failed check each request is checked on its own,
 * so guesses are each still counted.
 *
 * App passwords go through the same check (Accounts.verifyCredentials with `dav`: counted, then
 * matched by hash before any bcrypt). Their claim also carries credentials_version, so deleting
 * one ends it at its next request even from the cache, and its scope, which the caller enforces.
 * A cached app password notes its use at most once a minute (NOTE_USE_EVERY_MS).
 */
import { hash, randomBytes } from 'node:crypto';
import type { Origin } from '../server/domain/actor.js';
import { NOTE_USE_EVERY_MS, type AppPasswords } from '../server/domain/app-passwords.js';
import type { Accounts } from '../server/domain/auth.js';
import { claimOf, type Claim } from '../server/domain/credentials.js';
import { unauthenticated } from '../server/domain/errors.js';

interface Entry {
  claim: Claim;
  expiresAt: number;
  /** When an app password's use was last noted. */
  notedAt: number;
}

const MAX_ENTRIES = 10_000;

/** Reads what the request needs with the claim checked against the user row; null when the claim no longer holds. */
export type ReadAs<T> = (claim: Claim) => Promise<T | null>;

export class DavAuth {
  /** Random per process: a cache key says nothing about a password outside this process. */
  private readonly salt = randomBytes(32).toString('base64');
  private readonly cache = new Map<string, Entry>();
  /** Full checks in progress, by digest, for the requests with the same credentials that arrive meanwhile. */
  private readonly checks = new Map<string, Promise<Claim>>();

  constructor(
    private readonly accounts: Accounts,
    private readonly ttlMs: number,
    private readonly appPasswords: AppPasswords,
  ) {}

  /**
   * Checks the Authorization header and runs `read` as its user: from the cache when the claim
   * there still holds, else after a full check. Throws unauthenticated (401) or rate_limited (429).
   */
  async authenticate<T>(header: string | undefined, origin: Origin, read: ReadAs<T>): Promise<T> {
    if (!header) throw unauthenticated();
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer' && value) return this.readAs(claimOf((await this.accounts.verifyToken(value)).user), read);
    if (scheme !== 'basic' || !value) throw unauthenticated();

    // One-shot sha256 of salt + header: a third of an HMAC object's cost, and as good a cache key.
    const digest = hash('sha256', this.salt + value, 'base64');
    const hit = this.cache.get(digest);
    if (hit && hit.expiresAt > Date.now()) {
      const found = await read(hit.claim);
      if (found !== null) {
        if (hit.claim.appPasswordId && Date.now() - hit.notedAt >= NOTE_USE_EVERY_MS) {
          hit.notedAt = Date.now();
          await this.appPasswords.noteCachedUse(hit.claim.appPasswordId, origin);
        }
        return found;
      }
    }
    const pending = this.checks.get(digest);
    if (pending) {
      // Another request is checking the same credentials: a good one is checked once for all of
      // them; a failure is not shared, each request is checked (and counted) as a guess of its own.
      const claim = await pending.catch(() => null);
      return this.readAs(claim ?? (await this.check(digest, value, origin)), read);
    }
    if (hit) this.cache.delete(digest);
    const check = this.check(digest, value, origin).finally(() => this.checks.delete(digest));
    this.checks.set(digest, check);
    return this.readAs(await check, read);
  }

  /** The full check of Basic credentials (bcrypt, throttled); caches the claim when they are good. */
  private async check(digest: string, value: string, origin: Origin): Promise<Claim> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw unauthenticated('Malformed Basic credentials');
    const user = await this.accounts.verifyCredentials(decoded.slice(0, colon), decoded.slice(colon + 1), origin, {
      dav: true,
    });
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    const claim = claimOf(user, user.appPassword);
    this.cache.set(digest, { claim, expiresAt: Date.now() + this.ttlMs, notedAt: Date.now() });
    return claim;
  }

  /** `read` for a claim just checked in full (a change in between is a failed check). */
  private async readAs<T>(claim: Claim, read: ReadAs<T>): Promise<T> {
    const found = await read(claim);
    if (found === null) throw unauthenticated('Your credentials changed; sign in again');
    return found;
  }
}
