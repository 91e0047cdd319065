/**
 * Indexes the search backlog (021-search-backlog.ts): once a second, the names added since are put
 * into the FTS5 index in batches of `BATCH_ROWS`, each one write transaction and one index segment,
 * where every upload used to write a segment of its own. Between batches the event loop serves
 * requests (a batch of 500 names took 1.5–5 ms here, with 64,000 names indexed; one that also merges
 * segments, as FTS5 does now and then, ~25 ms — a merge an upload used to pay inside its own
 * transaction). Searches never wait for this: until a name is indexed, search.ts reads it from the
 * backlog. Nothing to do on PostgreSQL.
 *
 * Every process on the database runs one (WORKERS, other instances): a batch reads the mark inside
 * its write transaction, so two never index the same rows.
 */
import type { Db } from './types.js';
import { hasSearchBacklog, indexSearchBacklog } from './repos/search.js';

const INTERVAL_MS = 1000;
const BATCH_ROWS = 500;

/**
 * Indexes the whole backlog now, `batchRows` names per transaction: before the index is checked
 * against its table, or a seeded benchmark store is measured.
 */
export async function indexWholeBacklog(db: Db, batchRows = BATCH_ROWS): Promise<void> {
  while ((await db.tx((tx) => indexSearchBacklog(tx, batchRows))) === batchRows);
}

export class SearchBacklog {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** `onError` hears a batch that failed (it is tried again at the next tick). */
  static start(db: Db, onError: (err: unknown) => void): SearchBacklog {
    const b = new SearchBacklog(db, onError);
    if (db.dialect === 'sqlite') {
      b.timer = setInterval(() => b.tick(), INTERVAL_MS);
      b.timer.unref();
    }
    return b;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.drain()
      .catch((err: unknown) => {
        if (!this.closed) this.onError(err);
      })
      .finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    if (!(await hasSearchBacklog(this.db))) return;
    while (!this.closed && (await this.db.tx((tx) => indexSearchBacklog(tx, BATCH_ROWS))) === BATCH_ROWS) {
      // Let the requests that arrived meanwhile run before the next batch.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
