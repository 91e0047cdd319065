/**
 * Reads whose cost grows with the data — the administrator's totals over every node, a short search
 * term's LIKE over a drive's names, the collector's and fsck's sweeps (marked `SCAN` by their
 * repositories) — on a read-only connection in the database thread (db-thread.ts). Every other
 * statement runs on the event loop (connection.ts), where a read of a million rows would hold every
 * other request for its whole duration; there it holds only that thread.
 */
import type { Params } from '../types.js';
import { normalized, positionalValues } from './connection.js';
import type { DbThread } from './db-thread.js';

export class ScanReader {
  /** Statements run since opening. */
  statements = 0;

  constructor(private readonly thread: DbThread) {}

  async all<T>(sql: string, params?: Params): Promise<T[]> {
    const { text, values } = positionalValues(sql, params);
    this.statements++;
    let rows: Record<string, unknown>[];
    try {
      rows = (await this.thread.request({ op: 'scan', text, values })) as Record<string, unknown>[];
    } catch (err) {
      throw normalized(err, sql);
    }
    for (const row of rows) {
      for (const k in row) {
        const v = row[k];
        if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      }
    }
    return rows as T[];
  }
}
