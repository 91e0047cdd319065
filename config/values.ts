/** Parsers of configuration values (sizes, durations, booleans, numbers) and the error a bad one raises. */
import { z } from 'zod';

export class ConfigError extends Error {}

export const KiB = 1024;
const UNITS: Record<string, number> = {
  b: 1,
  k: KiB,
  kb: 1000,
  kib: KiB,
  m: KiB ** 2,
  mb: 1e6,
  mib: KiB ** 2,
  g: KiB ** 3,
  gb: 1e9,
  gib: KiB ** 3,
  t: KiB ** 4,
  tb: 1e12,
  tib: KiB ** 4,
};

/** "10GiB", "512 MiB", "1048576" → bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) throw new Error(`"${text}" is not a size (examples: 1048576, 512MiB, 10GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** "24h", "15m", "3600" → seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (examples: 3600, 15m, 24h, 30d)`);
  return Number(m[1]) * DURATION[(m[2] || 's').toLowerCase()]!;
}

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A setting parsed by `parse`, whose error message becomes the setting's. */
const parsedBy = <T>(parse: (v: string) => T) =>
  z.string().transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
export const bytes = parsedBy(parseBytes);
export const seconds = parsedBy(parseDuration);
