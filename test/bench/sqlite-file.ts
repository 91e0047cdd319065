/**
 * A bare node-sqlite3 connection for benchmark scripts that measure or seed a database file
 * directly (never the server's own data layer, which other code is free to change).
 */
import sqlite3 from 'sqlite3';

export interface SqliteFile {
  exec(sql: string): Promise<void>;
  run(sql: string, params?: unknown[]): Promise<number>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openSqliteFile(file: string): Promise<SqliteFile> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  db.configure('busyTimeout', 10_000);
  return {
    exec: (sql) => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
    run: (sql, params = []) =>
      new Promise((resolve, reject) =>
        db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve(this.changes);
        }),
      ),
    all: <T>(sql: string, params: unknown[] = []) =>
      new Promise<T[]>((resolve, reject) =>
        db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))),
      ),
    close: () => new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve()))),
  };
}
