/**
 * Link passwords recently checked, so that a WebDAV client (/public-dav/), which sends the password
 * with every request, pays bcrypt once per few minutes rather than per request. An entry is kept
 * under a salted hash of link and password (never the password) and holds only while the link's
 * stored hash is the one it was checked against; the link row itself is read on every request, so
 * a revoked or expired link ends at once. Wrong passwords are never kept: each is counted and checked.
 * Per process by design, like the WebDAV credential cache (dav/auth.ts).
 */
import { hash, randomBytes } from 'node:crypto';

const MAX_ENTRIES = 10_000;

export class VerifiedLinkPasswords {
  private readonly salt = randomBytes(32).toString('base64');
  private readonly entries = new Map<string, { passwordHash: string; expiresAt: number }>();

  constructor(private readonly ttlMs: number) {}

  private key(linkId: string, password: string): string {
    return hash('sha256', `${this.salt}\u0000${linkId}\u0000${password}`, 'base64');
  }

  /** True when this password was checked good against the link's current hash within the TTL. */
  holds(linkId: string, password: string, passwordHash: string, now: number): boolean {
    const e = this.entries.get(this.key(linkId, password));
    return e !== undefined && e.expiresAt > now && e.passwordHash === passwordHash;
  }

  remember(linkId: string, password: string, passwordHash: string, now: number): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(this.key(linkId, password), { passwordHash, expiresAt: now + this.ttlMs });
  }
}
