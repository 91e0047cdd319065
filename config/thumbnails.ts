/** Thumbnails: how large an input may be and how much generation may run at once (config/index.ts reads them). */
import { z } from 'zod';
import { bytes, ConfigError, int, KiB, seconds } from './values.js';

const ThumbnailEnv = z.object({
  /** Files larger than this get no thumbnail (the console shows the icon): reading them costs more than a preview is worth. */
  THUMBNAIL_MAX_INPUT_BYTES: bytes.default(512 * KiB ** 2),
  /** Images with more pixels than this (width × height, in megapixels) are refused before they are decoded. */
  THUMBNAIL_MAX_MEGAPIXELS: int(1, 10_000).default(250),
  /** Thumbnails generated at once, per process; each may take a CPU and up to ~100 MiB. */
  THUMBNAIL_CONCURRENCY: int(1, 64).default(2),
  /** Generations waiting for a slot; past this the server answers 503 (the console shows the icon). */
  THUMBNAIL_QUEUE: int(0, 10_000).default(64),
  /** Longest a PDF or video renderer (pdftoppm, ffmpeg) may run before it is killed. */
  THUMBNAIL_TIMEOUT: seconds.default(20),
  /** The programs that render PDFs and videos (a name on PATH or a path); `off`: no thumbnails of that kind. */
  THUMBNAIL_PDFTOPPM: z.string().min(1).default('pdftoppm'),
  THUMBNAIL_FFMPEG: z.string().min(1).default('ffmpeg'),
});

export interface ThumbnailSettings {
  readonly maxInputBytes: number;
  readonly maxPixels: number;
  readonly concurrency: number;
  readonly queue: number;
  readonly timeoutMs: number;
  /** The PDF and video renderers; null when turned off. */
  readonly pdftoppm: string | null;
  readonly ffmpeg: string | null;
}

export function thumbnailSettings(env: Record<string, string | undefined>): ThumbnailSettings {
  const parsed = ThumbnailEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    maxInputBytes: e.THUMBNAIL_MAX_INPUT_BYTES,
    maxPixels: e.THUMBNAIL_MAX_MEGAPIXELS * 1_000_000,
    concurrency: e.THUMBNAIL_CONCURRENCY,
    queue: e.THUMBNAIL_QUEUE,
    timeoutMs: Math.max(1, e.THUMBNAIL_TIMEOUT) * 1000,
    pdftoppm: e.THUMBNAIL_PDFTOPPM === 'off' ? null : e.THUMBNAIL_PDFTOPPM,
    ffmpeg: e.THUMBNAIL_FFMPEG === 'off' ? null : e.THUMBNAIL_FFMPEG,
  });
}
