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

/** Source text without comments (line numbers kept), so a rule about code is not tripped by prose. */
function code(file: string): string {
  return fs
    .readFileSync(path.join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Every import cycle among project files, each as the path that closes it (a → b → … → a). */
function cycles(edges: { from: string; target: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) (next.get(e.from) ?? next.set(e.from, []).get(e.from)!).push(e.target);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...next.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

// The lead's checklist: a statement's shape, wherever it is written (template, quotes, concatenation).
const SQL = /\b(SELECT .* FROM|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET)\b/;

/** Lines of `files` that hold SQL. */
function sqlLines(files: string[]): string[] {
  return files.flatMap((f) =>
    code(f)
      .split('\n')
      .flatMap((line, i) => (SQL.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
  );
}

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

  it('server/db imports nothing from server/domain (row types live in server/db)', () => {
    const bad = all.filter((i) => inside('server/db')(i.from) && inside('server/domain')(i.target));
    expect(show(bad)).to.deep.equal([]);
  });

  it('has no import cycles in config/, server/, dav/ or storage/ (type-only imports included)', () => {
    // The detector itself finds a planted cycle, and not a diamond.
    expect(
      cycles([
        { from: 'a', target: 'b' },
        { from: 'b', target: 'c' },
        { from: 'c', target: 'a' },
      ]),
    ).to.deep.equal([['a', 'b', 'c', 'a']]);
    expect(
      cycles([
        { from: 'a', target: 'b' },
        { from: 'a', target: 'c' },
        { from: 'b', target: 'd' },
        { from: 'c', target: 'd' },
      ]),
    ).to.deep.equal([]);
    const project = all.filter((i) => i.spec.startsWith('.'));
    expect(cycles(project).map((c) => c.join(' → '))).to.deep.equal([]);
  });

  it('only server/domain touches the blob store: transports get content streams from the domain', () => {
    const files = ['config', 'server', 'dav', 'storage'].flatMap(tsFiles).filter((f) => !inside('server/domain')(f));
    const bad = files.filter((f) => /\.blobs\./.test(code(f)));
    expect(bad).to.deep.equal([]);
  });

  it('SQL is written only in server/db (the domain, the transports and app.ts call repositories)', () => {
    expect(SQL.test("q.run('DELETE FROM locks WHERE token = $t')")).to.equal(true);
    expect(SQL.test('`SELECT n.id FROM nodes n`')).to.equal(true);
    expect(SQL.test('select the rows from a list')).to.equal(false);
    const files = ['server/domain', 'server/api', 'dav'].flatMap(tsFiles).concat('server/app.ts');
    expect(files.length).to.be.greaterThan(40);
    expect(sqlLines(files)).to.deep.equal([]);
  });
});
