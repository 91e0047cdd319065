import { expect } from 'chai';
import yauzl from 'yauzl';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { INLINE_MAX_BYTES } from '../../server/domain/blob-bytes.js';
import { bytesPlace, hideStoredBlob, patternChunk, expectHealthy, sha256 } from '../support/store.js';

/** Every entry of a ZIP: name → bytes (folders map to null). */
async function unzip(buf: Buffer): Promise<Map<string, Buffer | null>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, z) =>
      err ? reject(err) : resolve(z!),
    ),
  );
  const out = new Map<string, Buffer | null>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (out.has(entry.fileName)) return reject(new Error(`duplicate entry ${entry.fileName}`));
      if (entry.fileName.endsWith('/')) {
        out.set(entry.fileName, null);
        return zip.readEntry();
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream!.on('data', (c: Buffer) => chunks.push(c));
        stream!.on('error', reject);
        stream!.on('end', () => {
          out.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}

describe('ZIP downloads', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  let project: NodeJson;
  let loose: NodeJson;
  const files: Record<string, Buffer> = {
    'Project/readme.md': Buffer.from('# Project\n'),
    'Project/src/main.ts': Buffer.from('console.log("hi")\n'),
    'Project/src/lib/util.ts': Buffer.from('export const x = 1;\n'),
    'Project/data/big.bin': patternChunk(5, 3 * 1024 * 1024 + 17),
    'Project/data/at-limit.bin': patternChunk(6, INLINE_MAX_BYTES), // the largest inline blob
    'Project/data/past-limit.bin': patternChunk(7, INLINE_MAX_BYTES + 1), // the smallest blob file
    'Project/data/empty.txt': Buffer.alloc(0),
    'Project/ünïcødé 😀/naïve #1.txt': Buffer.from('unicode'),
  };

  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
    project = await a.mkdir(u.rootId, 'Project');
    const folders = new Map<string, string>([['Project', project.id]]);
    const ensure = async (dir: string): Promise<string> => {
      if (folders.has(dir)) return folders.get(dir)!;
      const parent = await ensure(dir.slice(0, dir.lastIndexOf('/')));
      const f = await a.mkdir(parent, dir.slice(dir.lastIndexOf('/') + 1));
      folders.set(dir, f.id);
      return f.id;
    };
    for (const [p, content] of Object.entries(files)) {
      const dir = p.slice(0, p.lastIndexOf('/'));
      await a.upload(await ensure(dir), p.slice(p.lastIndexOf('/') + 1), content);
    }
    await ensure('Project/empty folder');
    // Trashed things must not appear: a file, and a folder with a file inside.
    const gone = await a.upload(project.id, 'deleted.txt', 'gone');
    await a.delete(`/api/nodes/${gone.id}`);
    const goneDir = await a.mkdir(await ensure('Project/src'), 'old');
    await a.upload(goneDir.id, 'old.ts', 'old');
    await a.delete(`/api/nodes/${goneDir.id}`);
    loose = await a.upload(u.rootId, 'loose.txt', 'loose file');
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const fetchZip = async (path: string) => {
    const res = await a.get(path);
    expect(
      res.status,
      await res
        .clone()
        .text()
        .catch(() => ''),
    ).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/zip');
    return { res, entries: await unzip(Buffer.from(await res.arrayBuffer())) };
  };

  it('contains exactly the live files of a folder, with relative paths and contents, and empty folders', async () => {
    // The folder holds both kinds of blob: small ones inline in the database, larger ones in files.
    for (const [name, content] of Object.entries(files)) {
      const want = content.length <= INLINE_MAX_BYTES ? 'inline' : 'file';
      if (content.length > 0) expect(await bytesPlace(srv, sha256(content)), name).to.equal(want);
    }
    const { res, entries } = await fetchZip(`/api/nodes/${project.id}/zip`);
    expect(res.headers.get('content-disposition')).to.match(/^attachment;.*filename\*=UTF-8''Project\.zip/);
    const fileNames = [...entries]
      .filter(([, v]) => v !== null)
      .map(([k]) => k)
      .sort();
    expect(fileNames).to.deep.equal(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) {
      expect(entries.get(name)!.equals(content), `${name} content`).to.equal(true);
    }
    expect(entries.has('Project/empty folder/')).to.equal(true);
    expect(entries.get('Project/empty folder/')).to.equal(null);
    for (const name of entries.keys()) {
      expect(name).to.not.match(/deleted\.txt|\/old\//);
      expect(name.startsWith('Project/')).to.equal(true);
      expect(name).to.not.match(/(^|\/)\.\.?(\/|$)|^\//);
    }
  });

  it('zips a selection (?ids=a,b): each item at the top level', async () => {
    const src = (await a.children(project.id)).find((n) => n.name === 'src')!;
    const readme = (await a.children(project.id)).find((n) => n.name === 'readme.md')!;
    const { entries } = await fetchZip(`/api/zip?ids=${src.id},${readme.id},${loose.id}`);
    const fileNames = [...entries]
      .filter(([, v]) => v !== null)
      .map(([k]) => k)
      .sort();
    expect(fileNames).to.deep.equal(['loose.txt', 'readme.md', 'src/lib/util.ts', 'src/main.ts']);
    expect(entries.get('src/main.ts')!.toString()).to.equal('console.log("hi")\n');
    expect(entries.get('loose.txt')!.toString()).to.equal('loose file');
  });

  it('zips a single file and an empty folder', async () => {
    const single = await fetchZip(`/api/nodes/${loose.id}/zip`);
    expect([...single.entries.keys()]).to.deep.equal(['loose.txt']);
    const empty = await a.mkdir(u.rootId, 'nothing here');
    const e = await fetchZip(`/api/nodes/${empty.id}/zip`);
    expect([...e.entries.keys()]).to.deep.equal(['nothing here/']);
  });

  it('numbers two selected items with the same name instead of colliding', async () => {
    const d1 = await a.mkdir(u.rootId, 'twin-1');
    const d2 = await a.mkdir(u.rootId, 'twin-2');
    const t1 = await a.upload(d1.id, 'same.txt', 'one');
    const t2 = await a.upload(d2.id, 'same.txt', 'two');
    const { entries } = await fetchZip(`/api/zip?ids=${t1.id},${t2.id}`);
    expect(entries.size).to.equal(2);
    expect([...entries.values()].map((b) => b!.toString()).sort()).to.deep.equal(['one', 'two']);
  });

  it('cuts the ZIP off (no crash, no complete 200) when a blob file has gone missing', async () => {
    const d = await a.mkdir(u.rootId, 'damaged');
    const lost = await a.upload(d.id, 'lost.txt', patternChunk(8, 100 * 1024)); // a blob file, not inline
    await a.upload(d.id, 'kept.txt', 'still here');
    const putBack = await hideStoredBlob(srv, lost.etag);
    try {
      const res = await a.get(`/api/nodes/${d.id}/zip`);
      let complete = true;
      try {
        await unzip(Buffer.from(await res.arrayBuffer()));
      } catch {
        complete = false;
      }
      expect(res.status === 200 && complete, 'a damaged archive must not look complete').to.equal(false);
      expect((await a.get('/api/health')).status).to.equal(200);
    } finally {
      await putBack();
    }
  });

  it('refuses a trashed node and the root is zipped as "files"', async () => {
    const gone = await a.upload(u.rootId, 'soon-gone.txt', 'x');
    await a.delete(`/api/nodes/${gone.id}`);
    expect((await a.get(`/api/nodes/${gone.id}/zip`)).status).to.equal(404);
    const root = await fetchZip(`/api/nodes/${u.rootId}/zip`);
    expect(root.res.headers.get('content-disposition')).to.match(/files\.zip/);
    // The home folder has no name of its own: its contents are at the top level.
    expect(root.entries.get('Project/readme.md')!.toString()).to.equal('# Project\n');
    expect(root.entries.get('loose.txt')!.toString()).to.equal('loose file');
    expect([...root.entries.keys()].filter((k) => k.startsWith('/') || k === '')).to.deep.equal([]);
    expect([...root.entries.keys()].some((k) => k.includes('soon-gone'))).to.equal(false);
  });
});
