/**
 * Named parameters (`$name`) are the portable form of every SQL text in server/db: SQLite binds
 * them by name, PostgreSQL wants `$1…` (see `numberParams`). The scan skips string literals,
 * quoted identifiers and comments, so `json_extract(x, '$.a')` or `'$5'` are not parameters.
 */
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

interface Occurrence {
  name: string;
  start: number; // index of the `$`
  end: number; // index after the name
}

function scan(sql: string): Occurrence[] {
  const out: Occurrence[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = sql.indexOf(c, i + 1);
      if (i < 0) break;
      i++; // a doubled quote ('it''s') is two adjacent literals to this scan: same result
    } else if (c === '[') {
      i = sql.indexOf(']', i + 1);
      if (i < 0) break;
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      i = sql.indexOf('\n', i);
      if (i < 0) break;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = sql.indexOf('*/', i + 2);
      if (i < 0) break;
      i += 2;
    } else if (c === '$' && NAME_START.test(sql[i + 1] ?? '')) {
      let j = i + 2;
      while (j < sql.length && NAME_CHAR.test(sql[j]!)) j++;
      out.push({ name: sql.slice(i + 1, j), start: i, end: j });
      i = j;
    } else i++;
  }
  return out;
}

/** The distinct parameter names of a SQL text, in order of first appearance. */
export function paramNames(sql: string): string[] {
  return [...new Set(scan(sql).map((o) => o.name))];
}

/**
 * For drivers with numbered placeholders: `$a … $b … $a` → `$1 … $2 … $1` (PostgreSQL), or with
 * `marker` '?' → `?1 … ?2 … ?1` (SQLite), names = [a, b].
 */
export function numberParams(sql: string, marker: '$' | '?' = '$'): { text: string; names: string[] } {
  const names: string[] = [];
  let text = '';
  let from = 0;
  for (const o of scan(sql)) {
    let n = names.indexOf(o.name);
    if (n < 0) n = names.push(o.name) - 1;
    text += `${sql.slice(from, o.start)}${marker}${n + 1}`;
    from = o.end;
  }
  return { text: text + sql.slice(from), names };
}

/** A parameter the SQL names but the caller left undefined is a bug, never a silent NULL. */
export function paramValue(params: Record<string, unknown> | undefined, name: string, sql: string): unknown {
  const v = params?.[name];
  if (v === undefined) throw new Error(`SQL parameter $${name} has no value: ${sql.slice(0, 120)}`);
  // A bigint goes as its decimal string: exact, and both engines store it as an integer in an integer column.
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * For drivers that bind plain `?` placeholders in order (better-sqlite3 refuses an array for `?1`):
 * `$a … $b … $a` → `? … ? … ?`, names = [a, b, a] (one value per occurrence).
 */
export function positionalParams(sql: string): { text: string; names: string[] } {
  const names: string[] = [];
  let text = '';
  let from = 0;
  for (const o of scan(sql)) {
    names.push(o.name);
    text += `${sql.slice(from, o.start)}?`;
    from = o.end;
  }
  return { text: text + sql.slice(from), names };
}
