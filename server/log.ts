/** A small structured logger: one JSON line per event on stdout, secrets never logged. */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** An error as logged: with what caused it (a domain error wrapping an object store's failure). */
function errorFields(e: Error): object {
  const cause = e.cause instanceof Error ? { cause: errorFields(e.cause) } : {};
  return { name: e.name, message: e.message, stack: e.stack, ...cause };
}

function serialise(obj: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (/password|authorization|token|secret/i.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = errorFields(v);
    else out[k] = v;
  }
  return out;
}

export function createLog(level: Level, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Log {
  const at = (lvl: Exclude<Level, 'silent'>) => (obj: object, msg: string) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...serialise(obj) }));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
