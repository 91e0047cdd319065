/**
 * Makes a thumbnail: the source's bytes in, a WebP at most `size` pixels on its longer side out,
 * EXIF orientation applied and every metadata block (EXIF, XMP, ICC, GPS) left behind — sharp
 * writes none unless asked. Images are decoded by sharp (libvips), PDFs and videos rasterised first
 * by pdftoppm and ffmpeg (external.ts).
 *
 * Memory stays bounded whatever the image: a source that is not already in memory (a small blob
 * read inline from the database) is spooled to a temp file, which libvips reads sequentially,
 * shrinking on load where the format allows it (JPEG, WebP), and images over `maxPixels` are
 * refused from their header before anything is decoded. Measured on a 100-megapixel PNG: about
 * 50 MiB of peak RSS (test/api/thumbnails.test.ts checks it).
 */
import fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type Sharp from 'sharp';
import { pdfFirstPage, videoPoster } from './external.js';

export type SourceKind = 'image' | 'pdf' | 'video';
export type RenderResult = { image: Buffer } | { unrenderable: string };

export interface RenderLimits {
  maxPixels: number;
  timeoutMs: number;
  /** The PDF and video renderers (null: turned off). */
  pdftoppm: string | null;
  ffmpeg: string | null;
}

/**
 * Bump when the output changes (size rules, quality, format): it is part of every thumbnail's file
 * name and ETag, so browsers and the disk cache drop what an older recipe made.
 */
export const RECIPE = 'w1';
export const THUMBNAIL_TYPE = 'image/webp';

let sharpModule: Promise<typeof Sharp> | undefined;
/**
 * sharp (libvips) is loaded on the first thumbnail: it costs ~19 MiB of RSS that a server used only
 * through WebDAV never needs. Its operation cache is off: thumbnails are made once and kept on disk.
 */
function loadSharp(): Promise<typeof Sharp> {
  return (sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  }));
}

/** Raster formats by their first bytes; anything else (SVG, PostScript, a mislabelled file) is not decoded. */
function isRasterImage(head: Buffer): boolean {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  return (
    (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) || // JPEG
    ascii(0, 8) === '\x89PNG\r\n\x1a\n' ||
    ascii(0, 4) === 'GIF8' ||
    (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') ||
    ascii(0, 4) === 'II*\0' ||
    ascii(0, 4) === 'MM\0*' || // TIFF
    (ascii(4, 8) === 'ftyp' && /^(heic|heix|hevc|hevx|heim|heis|mif1|msf1|avif|avis)$/.test(ascii(8, 12))) // HEIF, AVIF
  );
}

async function headOf(file: string): Promise<Buffer> {
  const h = await fsp.open(file, 'r');
  try {
    const { buffer, bytesRead } = await h.read(Buffer.alloc(16), 0, 16, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

export class ThumbnailRenderer {
  constructor(
    /** A fresh temp file path in a directory that exists. */
    private readonly tempPath: (what: string) => Promise<string>,
    private readonly limits: RenderLimits,
  ) {}

  async render(kind: SourceKind, input: Buffer | Readable, size: number): Promise<RenderResult> {
    const temps: string[] = [];
    const temp = async (what: string) => {
      const p = await this.tempPath(what);
      temps.push(p);
      return p;
    };
    try {
      if (kind === 'image' && Buffer.isBuffer(input)) return await this.image(input, input.subarray(0, 16), size);
      const source = await temp('src');
      if (Buffer.isBuffer(input)) await fsp.writeFile(source, input);
      else await pipeline(input, fs.createWriteStream(source));
      if (kind === 'image') return await this.image(source, await headOf(source), size);
      const raster = (await temp(kind)) + '.png';
      temps.push(raster);
      const { timeoutMs } = this.limits;
      const made =
        kind === 'pdf'
          ? await pdfFirstPage({ program: this.limits.pdftoppm, timeoutMs }, source, raster, size)
          : await videoPoster({ program: this.limits.ffmpeg, timeoutMs }, source, raster, size);
      if (!made.ok) return { unrenderable: made.reason };
      return await this.image(raster, await headOf(raster), size);
    } finally {
      if (!Buffer.isBuffer(input)) input.destroy();
      await Promise.all(temps.map((p) => fsp.rm(p, { force: true })));
    }
  }

  private async image(source: Buffer | string, head: Buffer, size: number): Promise<RenderResult> {
    if (!isRasterImage(head)) return { unrenderable: 'The file is not an image format thumbnails are made of' };
    const sharp = await loadSharp();
    try {
      const image = await sharp(source, {
        limitInputPixels: this.limits.maxPixels,
        sequentialRead: true,
        failOn: 'error',
      })
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 78 })
        .toBuffer();
      return { image };
    } catch (err) {
      // libvips' message names the decoder's complaint (corrupt data, too many pixels, unsupported codec).
      const detail = (err as Error).message.split('\n')[0]!.slice(0, 200);
      return { unrenderable: `The image could not be decoded: ${detail}` };
    }
  }
}
