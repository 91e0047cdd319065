/**
 * The house plan's layering (DESIGN.md §2), checked on the source: imports only go down.
 * Type-only imports count too: a layer that names another layer's types depends on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Import {
  from: string; // project-relative file, e.g. server/api/router.ts
  spec: string; // as written
  target: string; // project-relative path for relative imports, else the package name
  line: number;
}

function tsFiles(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return (fs.readdirSync(abs, { recursive: true }) as string[])
    .filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.split(path.sep).includes('node_modules'))
    .map((p) => path.join(dir, p).split(path.sep).join('/'));
}

// `import x from '…'`, `import type {…} from '…'`, `export * from '…'`, `import '…'`, `import('…')`, `require('…')`.
const IMPORT =
  /(?:^|[;\s}])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = fs
    .readFileSync(path.join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')) // keep line numbers
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    const line = text.slice(0, m.index).split('\n').length;
    const target = spec.startsWith('.')
      ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts')
      : spec.startsWith('node:')
        ? spec
        : spec
            .split('/')
            .slice(0, spec.startsWith('@') ? 2 : 1)
            .join('/');
    out.push({ from: file, spec, target, line });
  }
  return out;
}

const all = ['config', 'server', 'dav', 'storage'].flatMap(tsFiles).flatMap(importsOf);
const inside = (dir: string) => (p: string) => p === dir || p.startsWith(`${dir}/`);
const show = (bad: Import[]) => bad.map((i) => `${i.from}:${i.line} imports '${i.spec}'`);

describe('layering (imports only go down)', () => {
  it('finds the source files and their imports', () => {
    expect(all.length).to.be.greaterThan(50);
    expect(all.some((i) => i.from === 'server/app.ts' && i.target === 'server/api/router.ts')).to.equal(true);
    // The parser sees type-only and multi-line imports too.
    expect(all.some((i) => i.from.startsWith('server/api/') && i.target.startsWith('server/domain/'))).to.equal(true);
  });

  it('server/domain never imports koa, @koa/*, koa-body, webdav-server, server/api or dav/', () => {
    const bad = all.filter(
      (i) =>
        inside('server/domain')(i.from) &&
        (['koa', 'koa-body', 'webdav-server'].includes(i.target) ||
          i.target.startsWith('@koa/') ||
          inside('server/api')(i.target) ||
          inside('dav')(i.target) ||
          i.target === 'server/http.ts' ||
          i.target === 'server/app.ts'),
    );
    expect(show(bad)).to.deep.equal([]);
  });

  it('server/api and dav/ never import each other, server/db or storage/', () => {
    const edges = all.filter((i) => inside('server/api')(i.from) || inside('dav')(i.from));
    const bad = edges.filter(
      (i) =>
        (inside('server/api')(i.from) && inside('dav')(i.target)) ||
        (inside('dav')(i.from) && inside('server/api')(i.target)) ||
        inside('server/db')(i.target) ||
        inside('storage')(i.target),
    );
    expect(show(bad)).to.deep.equal([]);
  });

  it('storage/ imports nothing from server/ or dav/', () => {
    const bad = all.filter((i) => inside('storage')(i.from) && (inside('server')(i.target) || inside('dav')(i.target)));
    expect(show(bad)).to.deep.equal([]);
  });

  it('config/ imports nothing from the project', () => {
    const bad = all.filter((i) => inside('config')(i.from) && i.spec.startsWith('.') && !inside('config')(i.target));
    expect(show(bad)).to.deep.equal([]);
  });

  it('only config/ reads process.env', () => {
    const readers = ['server', 'dav', 'storage'].flatMap(tsFiles).filter((f) =>
      /process\.env\b/.test(
        fs
          .readFileSync(path.join(root, f), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|[^:])\/\/.*$/gm, '$1'),
      ),
    );
    expect(readers).to.deep.equal([]);
  });
});
