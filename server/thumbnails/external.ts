/**
 * The external renderers: poppler's `pdftoppm` (first page of a PDF) and `ffmpeg` (a poster frame of
 * a video), each run as a child process on a spooled copy of the file, with a timeout that kills it.
 * Why programs rather than libraries: poppler and ffmpeg are the decoders every Linux desktop already
 * trusts for these formats, Debian patches them, and a crash or a runaway file costs a child
 * process, never the server. Neither is required: a missing program means no thumbnail (the icon).
 */
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';

export type ToolOutcome = { ok: true } | { ok: false; reason: string };

/** Demuxers ffmpeg may pick for an input: containers of video only, never playlists (hls, concat) or text (tty). */
const VIDEO_FORMATS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg,asf';

/** Programs found missing, so later requests do not spawn them again (installing one needs a restart). */
const missing = new Set<string>();

function run(program: string, args: string[], timeoutMs: number): Promise<ToolOutcome> {
  if (missing.has(program)) return Promise.resolve({ ok: false, reason: `${program} is not installed` });
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true },
      (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          missing.add(program);
          return resolve({ ok: false, reason: `${program} is not installed` });
        }
        if (e.killed) return resolve({ ok: false, reason: `${program} took longer than ${timeoutMs} ms` });
        const detail = String(stderr).trim().split('\n').pop()?.slice(0, 200);
        resolve({ ok: false, reason: `${program} could not read the file${detail ? `: ${detail}` : ''}` });
      },
    );
  });
}

/** A non-empty output file, or why there is none. */
async function produced(outcome: ToolOutcome, file: string, program: string): Promise<ToolOutcome> {
  if (!outcome.ok) return outcome;
  const st = await fsp.stat(file).catch(() => null);
  return st && st.size > 0 ? outcome : { ok: false, reason: `${program} produced no image` };
}

/** The first page of `pdf` as a PNG at `out`, its longer side `size` pixels. */
export async function pdfFirstPage(pdf: string, out: string, size: number, timeoutMs: number): Promise<ToolOutcome> {
  // -singlefile writes `<prefix>.png` exactly; -scale-to bounds the raster whatever the page size says.
  const prefix = out.replace(/\.png$/, '');
  const args = ['-f', '1', '-l', '1', '-singlefile', '-png', '-scale-to', String(size), pdf, prefix];
  return produced(await run('pdftoppm', args, timeoutMs), out, 'pdftoppm');
}

/** A frame of `video` as a PNG at `out`, fitting in `size`: one second in, or the first frame of a shorter one. */
export async function videoPoster(video: string, out: string, size: number, timeoutMs: number): Promise<ToolOutcome> {
  const deadline = Date.now() + timeoutMs;
  let last: ToolOutcome = { ok: false, reason: 'ffmpeg produced no image' };
  for (const at of ['1', '0']) {
    const args = [
      ...['-v', 'error', '-nostdin', '-protocol_whitelist', 'file', '-format_whitelist', VIDEO_FORMATS],
      ...['-ss', at, '-i', video, '-frames:v', '1', '-an', '-sn'],
      ...['-vf', `scale=w=${size}:h=${size}:force_original_aspect_ratio=decrease`],
      ...['-f', 'image2', '-c:v', 'png', '-y', out],
    ];
    last = await produced(await run('ffmpeg', args, Math.max(1, deadline - Date.now())), out, 'ffmpeg');
    if (last.ok || /not installed|longer than/.test(last.reason)) return last;
  }
  return last;
}
