/**
 * A consistent copy of a PostgreSQL database while Coffer runs (`npm run backup`): pg_dump in its
 * custom format (restored with pg_restore) reads a snapshot exported by a REPEATABLE READ
 * transaction, and `read` runs in that same transaction — so what it reads (the blob list the
 * backup copies) is exactly what the dump holds. SQLite's twin is VACUUM INTO (repos/snapshot.ts).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { numberParams, paramValue } from '../sql-params.js';
import type { Params, Q } from '../types.js';
import { types } from './types.js';

/**
 * Runs pg_dump. The password goes in a passfile of our own (0600, removed after), named by the
 * URL's `passfile` parameter: on the command line `ps` would show it to every local user.
 */
async function pgDump(url: string, snapshot: string, file: string): Promise<void> {
  const target = new URL(url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-pgdump-'));
  try {
    if (target.password) {
      const escaped = decodeURIComponent(target.password).replace(/[\\:]/g, '\\$&');
      fs.writeFileSync(path.join(dir, 'pgpass'), `*:*:*:*:${escaped}\n`, { mode: 0o600 });
      target.password = '';
      target.searchParams.set('passfile', path.join(dir, 'pgpass'));
    }
    const args = ['--format=custom', '--no-owner', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${target}`];
    await new Promise<void>((resolve, reject) => {
      execFile('pg_dump', args, (err, _out, stderr) => {
        if (!err) return resolve();
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new Error(
            missing
              ? 'pg_dump was not found: install the PostgreSQL client (postgresql-client)'
              : `pg_dump failed: ${stderr.trim()}`,
          ),
        );
      });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function dumpPostgres<T>(url: string, file: string, read: (q: Q) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, types });
  client.on('error', () => {}); // a lost connection fails the query in progress, which reports it
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    await pgDump(url, rows[0]!.id, file);
    const all = async <R>(sql: string, params?: Params): Promise<R[]> => {
      const { text, names } = numberParams(sql);
      const values = names.map((n) => paramValue(params, n, sql));
      return (await client.query<R & pg.QueryResultRow>(text, values)).rows;
    };
    const q: Q & { dialect: 'postgres' } = {
      dialect: 'postgres',
      all,
      get: async <R>(sql: string, params?: Params) => (await all<R>(sql, params))[0],
      run: () => Promise.reject(new Error('a database snapshot is read-only')),
    };
    const result = await read(q);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end();
  }
}
