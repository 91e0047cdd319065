// `npm start` runs this first: compile the server when dist/ is missing or older than the sources.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const newest = (dir) => {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
};
const built = path.join(root, 'dist/server/main.js');
const sources = Math.max(
  ...['config', 'server', 'dav', 'storage'].map((d) =>
    fs.existsSync(path.join(root, d)) ? newest(path.join(root, d)) : 0,
  ),
);
if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < sources) {
  console.log('Building the server…');
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  fs.utimesSync(built, new Date(), new Date());
}

// The web console (SvelteKit static build in console/build): build it when missing or older than its sources.
const newestAny = (dir) => {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestAny(p) : fs.statSync(p).mtimeMs);
  }
  return t;
};
const consoleDir = path.join(root, 'console');
const consoleIndex = path.join(consoleDir, 'build', 'index.html');
const consoleSources = Math.max(
  ...['src', 'static'].map((d) => (fs.existsSync(path.join(consoleDir, d)) ? newestAny(path.join(consoleDir, d)) : 0)),
  ...['svelte.config.js', 'vite.config.ts'].map((f) =>
    fs.existsSync(path.join(consoleDir, f)) ? fs.statSync(path.join(consoleDir, f)).mtimeMs : 0,
  ),
);
// The console is built for BASE_PATH (svelte.config.js): a build for another base path is stale too.
const wantedBase = (process.env.BASE_PATH ?? '').replace(/\/+$/, '');
const builtBase = fs.existsSync(consoleIndex)
  ? (/\bbase: "([^"]*)"/.exec(fs.readFileSync(consoleIndex, 'utf8'))?.[1] ?? wantedBase)
  : null;
if (!fs.existsSync(consoleIndex) || fs.statSync(consoleIndex).mtimeMs < consoleSources || builtBase !== wantedBase) {
  console.log(`Building the web console${wantedBase ? ` for BASE_PATH=${wantedBase}` : ''}…`);
  // The build tool's own report (chunk sizes, plugin timings) is noise on a first start: shown only when it fails.
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], {
      cwd: consoleDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    process.stdout.write(err.stdout ?? '');
    process.stderr.write(err.stderr ?? '');
    console.error('Building the web console failed (output above).');
    process.exit(1);
  }
}
