/**
 * What a checked credential vouches for, and the one rule that says whether it still holds.
 *
 * Checking a password (bcrypt) or a token signature proves who someone was when it was checked; it
 * stays good only while the user exists, is enabled and has the token_version it was checked under
 * (a password change, "sign out everywhere" and a disable all move token_version). Both doors check
 * that against the user row read in the request's first query — the WebDAV path query, the API's
 * session query — never against a copy in process memory, so a change made through any instance
 * ends the credential on every instance at its next request.
 *
 * A claim cached for WebDAV also carries credentials_version, which moves when a credential other
 * than a session stops being good: an app password deleted, two-factor sign-in turned on (the main
 * password no longer opens WebDAV) or reset. Why a version rather than the app password's id looked
 * up in the request's first query: the version rides on the user row that query reads already, so
 * revocation costs no SQL on the hot path and no change to the path queries; the price is that
 * deleting one app password makes the user's other cached credentials check again once — one
 * indexed query for an app password, one bcrypt for a main password — which deletions, being rare,
 * can afford. Sessions (JWTs) do not carry it: deleting an app password signs no one out.
 */
import type { UserRow } from './types.js';

export interface Claim {
  userId: string;
  tokenVersion: number;
  /** The user's home folder, where their paths start (users.root_id never changes). */
  rootId: string;
  /** users.credentials_version when the credential was checked (WebDAV claims). */
  credentialsVersion?: number;
  /** An app password's scope (`read`: no write method); absent for a main password or a session. */
  scope?: 'full' | 'read';
  /** The app password the credential was, if it was one (its uses are noted). */
  appPasswordId?: string;
}

export function claimOf(user: UserRow, appPassword?: { id: string; scope: 'full' | 'read' }): Claim {
  return {
    userId: user.id,
    tokenVersion: user.tokenVersion,
    rootId: user.rootId,
    credentialsVersion: user.credentialsVersion,
    ...(appPassword ? { scope: appPassword.scope, appPasswordId: appPassword.id } : {}),
  };
}

/** True when the user row read for this request still honours the claim. */
export function claimHolds(
  user: UserRow | undefined,
  claim: Pick<Claim, 'userId' | 'tokenVersion' | 'credentialsVersion'>,
): user is UserRow {
  return (
    user !== undefined &&
    user.id === claim.userId &&
    !user.disabled &&
    user.tokenVersion === claim.tokenVersion &&
    (claim.credentialsVersion === undefined || user.credentialsVersion === claim.credentialsVersion)
  );
}
