/**
 * A bare SQLite connection (better-sqlite3, as the server uses) for benchmark scripts that measure
 * or seed a database file directly (never the server's own data layer, which other code is free to
 * change).
 */
import Database from 'better-sqlite3';

export interface SqliteFile {
  exec(sql: string): Promise<void>;
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openSqliteFile(file: string): Promise<SqliteFile> {
  const db = new Database(file, { timeout: 10_000 });
  return {
    exec: async (sql) => void db.exec(sql),
    run: async (sql, params = []) => db.prepare(sql).run(params).changes,
    all: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(params) as T[],
    close: async () => void db.close(),
  };
}
