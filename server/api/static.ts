/**
 * Serves the built web console (console/build, a SvelteKit static build) from the Koa app:
 * `/_app/immutable/*` with a one-year immutable cache, other files revalidated, and index.html for any
 * other GET path that is not /api or /dav (the console's router takes it from there).
 * Without a build it answers 503 in plain text, saying how to build it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Next } from 'koa';
import mime from 'mime-types';

/** The project root: the nearest folder above this file with a package.json (works from server/ and dist/server/). */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const CONSOLE_BUILD_DIR = path.join(projectRoot(), 'console', 'build');

const IMMUTABLE = 'public, max-age=31536000, immutable';

async function statFile(p: string): Promise<fs.Stats | null> {
  try {
    const st = await fs.promises.stat(p);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

/**
 * The base path a console build was made for (SvelteKit writes it into index.html's start-up
 * script: `base: "/coffer"`), or null when the file does not say.
 */
export function builtForBase(indexHtml: string): string | null {
  const m = /\bbase: "([^"]*)"/.exec(indexHtml);
  return m ? m[1]! : null;
}

/**
 * `basePath`: BASE_PATH. A build made for another base would load its scripts from paths this
 * server does not serve (a blank page): it is refused, saying how to rebuild.
 */
export function serveConsole(root = CONSOLE_BUILD_DIR, basePath = '') {
  const rootWithSep = root.endsWith(path.sep) ? root : root + path.sep;
  let checked: { mtimeMs: number; mismatch: string | null } | undefined;
  const mismatch = async (index: string, st: fs.Stats): Promise<string | null> => {
    if (checked?.mtimeMs !== st.mtimeMs) {
      const built = builtForBase(await fs.promises.readFile(index, 'utf8'));
      checked = {
        mtimeMs: st.mtimeMs,
        mismatch:
          built === null || built === basePath
            ? null
            : `The web console was built for ${built ? `BASE_PATH=${built}` : 'the root (no BASE_PATH)'}, ` +
              `but Coffer runs with ${basePath ? `BASE_PATH=${basePath}` : 'no BASE_PATH'}: ` +
              `rebuild it with ${basePath ? `BASE_PATH=${basePath} ` : ''}npm run build\n`,
      };
    }
    return checked.mismatch;
  };

  return async (ctx: Context, _next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.type = 'text/plain';
      ctx.body = 'Method not allowed';
      return;
    }
    const index = path.join(root, 'index.html');
    const indexStat = await statFile(index);
    const refusal = indexStat ? await mismatch(index, indexStat) : 'The web console is not built: run npm run build\n';
    if (refusal) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = refusal;
      return;
    }

    let rel: string;
    try {
      rel = decodeURIComponent(ctx.path);
    } catch {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = 'Bad request path';
      return;
    }
    const isAsset = rel.startsWith('/_app/');
    let file = path.normalize(path.join(root, rel));
    let st = !rel.includes('\0') && file.startsWith(rootWithSep) ? await statFile(file) : null;
    if (!st) {
      if (isAsset) {
        ctx.status = 404;
        ctx.type = 'text/plain';
        ctx.body = 'Not found';
        return;
      }
      file = index; // SPA fallback: the console routes the path itself
      st = (await statFile(index))!;
    }

    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    ctx.set('ETag', etag);
    ctx.set('Last-Modified', st.mtime.toUTCString());
    ctx.set('Cache-Control', rel.startsWith('/_app/immutable/') ? IMMUTABLE : 'no-cache');
    if (file === index) {
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Content-Security-Policy', "frame-ancestors 'none'");
    }
    ctx.type = mime.contentType(path.extname(file)) || 'application/octet-stream';
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.length = st.size;
    ctx.body = ctx.method === 'HEAD' ? null : fs.createReadStream(file);
  };
}
