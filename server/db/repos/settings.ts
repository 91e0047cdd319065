/** Install-wide settings (one row per key), shared by every instance on the database. */
import type { Q } from '../index.js';

export async function getSetting(q: Q, key: string): Promise<string | undefined> {
  return (await q.get<{ value: string }>('SELECT value FROM settings WHERE key = $key', { key }))?.value;
}

/**
 * Stores `value` under `key` unless a value is there already, and answers the value that holds:
 * instances starting at once all end up with the first one written.
 */
export async function settleSetting(q: Q, key: string, value: string): Promise<string> {
  await q.run('INSERT INTO settings (key, value) VALUES ($key, $value) ON CONFLICT (key) DO NOTHING', { key, value });
  return (await getSetting(q, key))!;
}
