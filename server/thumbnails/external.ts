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

/** How to run one renderer: its program (null: turned off) and how long it may take. */
export interface Tool {
  program: string | null;
  timeoutMs: number;
}

/** Demuxers ffmpeg may pick for an input: containers of video only, never playlists (hls, concat) or text (tty). */
const VIDEO_FORMATS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg,asf';

/**
 * The address space a renderer may take (ulimit -v): a PDF or video crafted to allocate without end
 * then fails in its own process, instead of waking the kernel's OOM killer, which may pick the server.
 * 1 GiB covers a 4K H.264 frame decoded single-threaded and any page at 1024 pixels, with room to spare.
 */
const TOOL_ADDRESS_SPACE_KIB = 1024 * 1024;

/** Programs found missing, so later requests do not spawn them again (installing one needs a restart). */
const missing = new Set<string>();

function run(tool: Tool, args: string[], timeoutMs = tool.timeoutMs): Promise<ToolOutcome> {
  const program = tool.program;
  if (!program) return Promise.resolve({ ok: false, reason: 'This server makes no thumbnails of this kind' });
  if (missing.has(program)) return Promise.resolve({ ok: false, reason: `${program} is not installed` });
  return new Promise((resolve) => {
    // The shell sets the limit, then becomes the program ($0, its arguments "$@": nothing is parsed).
    const limited = [`ulimit -v ${TOOL_ADDRESS_SPACE_KIB} && exec "$0" "$@"`, program, ...args];
    execFile(
      '/bin/sh',
      ['-c', ...limited],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true },
      (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const e = err as Error & { code?: number | string; killed?: boolean };
        // 127: the shell found no such program.
        if (e.code === 127 || e.code === 'ENOENT') {
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
async function produced(outcome: ToolOutcome, file: string, tool: Tool): Promise<ToolOutcome> {
  if (!outcome.ok) return outcome;
  const st = await fsp.stat(file).catch(() => null);
  return st && st.size > 0 ? outcome : { ok: false, reason: `${tool.program} produced no image` };
}

/** The first page of `pdf` as a PNG at `out`, its longer side `size` pixels. */
export async function pdfFirstPage(pdftoppm: Tool, pdf: string, out: string, size: number): Promise<ToolOutcome> {
  // -singlefile writes `<prefix>.png` exactly; -scale-to bounds the raster whatever the page size says.
  const prefix = out.replace(/\.png$/, '');
  const args = ['-f', '1', '-l', '1', '-singlefile', '-png', '-scale-to', String(size), pdf, prefix];
  return produced(await run(pdftoppm, args), out, pdftoppm);
}

/** A frame of `video` as a PNG at `out`, fitting in `size`: one second in, or the first frame of a shorter one. */
export async function videoPoster(ffmpeg: Tool, video: string, out: string, size: number): Promise<ToolOutcome> {
  const deadline = Date.now() + ffmpeg.timeoutMs;
  let last: ToolOutcome = { ok: false, reason: `${ffmpeg.program} produced no image` };
  for (const at of ['1', '0']) {
    const args = [
      ...['-v', 'error', '-nostdin', '-protocol_whitelist', 'file', '-format_whitelist', VIDEO_FORMATS],
      ...['-threads', '1', '-ss', at, '-i', video, '-frames:v', '1', '-an', '-sn'],
      ...['-vf', `scale=w=${size}:h=${size}:force_original_aspect_ratio=decrease`],
      ...['-f', 'image2', '-c:v', 'png', '-y', out],
    ];
    last = await produced(await run(ffmpeg, args, Math.max(1, deadline - Date.now())), out, ffmpeg);
    if (last.ok || /no thumbnails|not installed|longer than/.test(last.reason)) return last;
  }
  return last;
}
