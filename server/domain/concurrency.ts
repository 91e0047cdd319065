/**
 * A cap on long-lived requests held open at once per key (a user), such as live-update streams:
 * each holds a connection and polls the database, so one account must not open hundreds.
 * Counted in memory, per process: what it protects is this process's connections and event loop.
 */
import { rateLimited } from './errors.js';

export class ConcurrencyLimit {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max: number,
    /** What is limited, for the error message ("live-update streams"). */
    private readonly what: string,
    private readonly retryAfterSeconds: number,
  ) {}

  /** Takes a slot for `key`, or throws rate_limited (429 with Retry-After); returns its release (idempotent). */
  acquire(key: string): () => void {
    const n = this.open.get(key) ?? 0;
    if (n >= this.max)
      throw rateLimited(
        this.retryAfterSeconds,
        `Too many open ${this.what} (at most ${this.max}); close one and try again`,
      );
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }
}
