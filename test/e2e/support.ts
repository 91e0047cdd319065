/** Shared pieces of the browser tests: a fresh console build, Debian's Chromium, and a page that records its own errors. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test/artifacts');
const CONSOLE = path.resolve('console');

const newest = (dir: string): number => {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
};

/** Builds the console when console/build is missing or older than console/src (about 20 s). */
export function ensureConsoleBuilt() {
  const index = path.join(CONSOLE, 'build', 'index.html');
  const sources = Math.max(
    newest(path.join(CONSOLE, 'src')),
    ...['svelte.config.js', 'vite.config.ts'].map((f) => fs.statSync(path.join(CONSOLE, f)).mtimeMs),
  );
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.resolve('node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: CONSOLE,
    stdio: 'inherit',
  });
}

export async function launch(): Promise<Browser | null> {
  if (!fs.existsSync(CHROMIUM)) return null;
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** For a suite's `before`: skips it (saying why) without Chromium, else builds the console and launches the browser. */
export async function consoleBrowser(ctx: Mocha.Context): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
    ctx.skip();
  }
  ctx.timeout(180_000);
  ensureConsoleBuilt();
  return (await launch())!;
}

export interface Watched {
  page: Page;
  /** Uncaught exceptions, console errors, failed requests, unexpected 4xx/5xx and requests to other hosts. */
  problems: string[];
  /** Statuses a test provokes on purpose, as "STATUS METHOD path-prefix". */
  expect(status: number, pathPrefix: string): void;
}

export async function watchedPage(context: BrowserContext, origin: string): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  const allowed: { status: number; prefix: string }[] = [{ status: 401, prefix: '/api/auth/me' }];
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium logs every 4xx response as a console error too; those are judged by the response hook.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    problems.push(`console: ${text}`);
  });
  page.on('request', (req) => {
    // Only the network counts: data:, blob:, about:, chrome: and chrome-extension: (Chromium's built-in
    // PDF viewer) never leave the machine.
    const u = new URL(req.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && u.origin !== origin)
      problems.push(`foreign request: ${req.url()}`);
  });
  page.on('requestfailed', (req) => {
    const f = req.failure()?.errorText ?? '';
    // Aborted media/preview fetches (closing a preview, leaving a page) are not failures of the app.
    if (f.includes('ERR_ABORTED')) return;
    problems.push(`failed: ${req.method()} ${req.url()} ${f}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const u = new URL(res.url());
    if (allowed.some((a) => a.status === res.status() && u.pathname.startsWith(a.prefix))) return;
    problems.push(`${res.status()} ${res.request().method()} ${u.pathname}`);
  });
  return { page, problems, expect: (status, prefix) => void allowed.push({ status, prefix }) };
}

/** Signs in through the console's sign-in page and waits for the file browser. */
export async function signIn(page: Page, url: string, user: { username: string; password: string }): Promise<void> {
  await page.goto(`${url}/login`);
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/files/);
}

export async function shot(page: Page, name: string) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** A small valid PNG (a gradient) and a one-page PDF. */
export function samplePng(w = 64, h = 48): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows: number[] = [];
  for (let y = 0; y < h; y++) {
    rows.push(0);
    for (let x = 0; x < w; x++) rows.push((x * 4) & 255, (y * 5) & 255, 200);
  }
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function samplePdf(): Buffer {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = 'BT /F1 24 Tf 40 100 Td (Hello from Coffer) Tj ET';
  objs[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
