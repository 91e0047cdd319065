import { DomainError } from './errors.js';

const MAX_NAME_BYTES = 255;
// C0 and C1 control characters, DEL; '/' and '\' separate paths on some client.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]/;
// Half of a UTF-16 surrogate pair is not text: SQLite would silently store it as U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The one validator for file and folder names, used by every transport.
 * Returns the NFC form. Throws invalid_name for empty, ".", "..", separators, NUL/control
 * characters, or more than 255 UTF-8 bytes.
 */
export function validateName(raw: unknown): string {
  if (typeof raw !== 'string') throw new DomainError('invalid_name', 'A name must be a string');
  const name = raw.normalize('NFC');
  if (name.length === 0) throw new DomainError('invalid_name', 'A name cannot be empty');
  if (name === '.' || name === '..') throw new DomainError('invalid_name', `"${name}" is not allowed as a name`);
  if (FORBIDDEN.test(name))
    throw new DomainError('invalid_name', 'A name cannot contain "/", "\\" or control characters');
  if (LONE_SURROGATE.test(name)) throw new DomainError('invalid_name', 'A name must be valid Unicode text');
  if (name.trim().length === 0) throw new DomainError('invalid_name', 'A name cannot be only spaces');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) {
    throw new DomainError('invalid_name', `A name can have at most ${MAX_NAME_BYTES} bytes (this one has ${bytes})`, {
      bytes,
    });
  }
  return name;
}

/** The case- and normalization-insensitive key that makes live names unique per folder (NFC, full Unicode lower case). */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * The key a folder's listing sorts by name with: "natural" order, as file managers sort (f2 before
 * f10, "IMG_9" before "IMG_10"). The name key with every run of digits written as its length (three
 * digits) and then its value without leading zeros, so that plain string comparison — in SQLite's
 * binary collation and in PostgreSQL's, where digits sort as digits too — compares numbers by value.
 * "f2" → "f0012", "f10" → "f00210". Equal keys ("f02" and "f2") fall back to the name key.
 */
export function sortKey(name: string): string {
  return nameKey(name).replace(/\d+/g, (run) => {
    const digits = run.replace(/^0+(?=\d)/, '');
    return String(digits.length).padStart(3, '0') + digits;
  });
}

/** Both keys a node row stores for its name. */
export function nameKeys(name: string): { nameKey: string; sortKey: string } {
  return { nameKey: nameKey(name), sortKey: sortKey(name) };
}

/** "report.pdf" → "report (1).pdf"; folders and dotfiles keep the whole name as the stem. */
export function numberedName(name: string, n: number, isFile = true): string {
  const dot = isFile ? name.lastIndexOf('.') : -1;
  if (dot <= 0) return `${name} (${n})`;
  return `${name.slice(0, dot)} (${n})${name.slice(dot)}`;
}
