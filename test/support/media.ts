/** Media fixtures made on the fly (no binary fixtures in the repository), and the process's peak RSS. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import sharp from 'sharp';

export const hasFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** An image of one colour, to encode in any format (`.png()`, `.jpeg()`…). */
export const solid = (width: number, height: number, background = '#3a7') =>
  sharp({ create: { width, height, channels: 3, background } });

/** Two 80 × 40 frames, red then blue. */
export async function animatedGif(): Promise<Buffer> {
  const frames = await Promise.all(['#f00', '#00f'].map((c) => solid(80, 40, c).png().toBuffer()));
  return sharp(frames, { join: { animated: true } })
    .gif()
    .toBuffer();
}

/** A two-second 320 × 240 test-pattern MP4 at `file` (needs ffmpeg). */
export function writeVideo(file: string): void {
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '2'],
    ...['-pix_fmt', 'yuv420p', '-y', file],
  ]);
}

/** Peak RSS of this process since the last reset (Linux: VmHWM); null where /proc does not say. */
export function peakRss(): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

/** Resets the peak to the current RSS (Linux ≥ 4.0); false where that is not allowed. */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
