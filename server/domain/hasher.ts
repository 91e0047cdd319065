/**
 * The slow one-way function behind every password (accounts, link passwords). The domain only
 * names it; the composition root injects an implementation that runs off the event loop
 * (server/passwords/), because one bcrypt at cost 12 takes ~250 ms of CPU and a burst of sign-ins
 * must not stall every other request.
 */
export interface PasswordHasher {
  /** A bcrypt hash of `secret` at the configured cost. */
  hash(secret: string): Promise<string>;
  /** True when `secret` matches `hash`. */
  compare(secret: string, hash: string): Promise<boolean>;
}
