/** Random secrets people may have to read off a screen and type: app passwords, recovery codes. */
import { randomInt } from 'node:crypto';

/** Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i): log2(31) ≈ 4.95 bits each. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** `groups` groups of `size` characters joined by "-", each character drawn without modulo bias. */
export function readableSecret(groups: number, size: number): string {
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    let group = '';
    for (let i = 0; i < size; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    out.push(group);
  }
  return out.join('-');
}
