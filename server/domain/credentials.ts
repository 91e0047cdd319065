/**
 * What a checked credential vouches for, and the one rule that says whether it still holds.
 *
 * Checking a password (bcrypt) or a token signature proves who someone was when it was checked; it
 * stays good only while the user exists, is enabled and has the token_version it was checked under
 * (a password change, "sign out everywhere" and a disable all move token_version). Both doors check
 * that against the user row read in the request's first query — the WebDAV path query, the API's
 * session query — never against a copy in process memory, so a change made through any instance
 * ends the credential on every instance at its next request.
 */
import type { UserRow } from './types.js';

export interface Claim {
  userId: string;
  tokenVersion: number;
  /** The user's home folder, where their paths start (users.root_id never changes). */
  rootId: string;
}

export function claimOf(user: UserRow): Claim {
  return { userId: user.id, tokenVersion: user.tokenVersion, rootId: user.rootId };
}

/** True when the user row read for this request still honours the claim. */
export function claimHolds(user: UserRow | undefined, claim: Pick<Claim, 'userId' | 'tokenVersion'>): user is UserRow {
  return user !== undefined && user.id === claim.userId && !user.disabled && user.tokenVersion === claim.tokenVersion;
}
