/** How PostgreSQL values come back to the repositories: as SQLite's do. */
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const JSON_OIDS = [114, 3802];

/**
 * Type parsers for Coffer's own connections (never pg's global table): BIGINT and NUMERIC (COUNT,
 * SUM) as JS numbers like SQLite's (bytes and epoch milliseconds stay far below 2^53), and JSON
 * left as text: the repositories parse their JSON documents themselves, as on SQLite. BOOLEAN and
 * BYTEA keep pg's parsers (true/false, Buffer).
 */
export const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (JSON_OIDS.includes(oid)) return (v: string) => v;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as typeof pg.types.getTypeParser,
};
