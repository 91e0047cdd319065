import http from 'node:http';
import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy } from '../support/store.js';

/** A request whose path is sent exactly as written (fetch would resolve `.`/`..` and `%2E` segments). */
function rawRequest(
  url: string,
  method: string,
  path: string,
  token: string,
  body = 'x',
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: { authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            /* leave as text */
          }
          resolve({ status: res.statusCode!, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const name255 = 'é'.repeat(126) + 'abc'; // 252 + 3
const emoji255 = '😀'.repeat(63) + 'xyz'; // 252 + 3

const GOOD = [
  '😀 party 🎉.txt',
  'with  spaces and trailing space .txt',
  ' leading space.txt',
  `quotes "double" and 'single'.txt`,
  '100% sure.txt',
  '#hashtag.txt',
  'what?.txt',
  'a&b=c+d;e,f.txt',
  'שלום עולם.txt',
  'مرحبا بالعالم.txt',
  '\u202Egnp.exe', // RTL override: allowed, shown as stored
  'back`tick~[brackets]{braces}.txt',
  '.hidden',
  '...dots',
  'ends with dot.',
  '日本語のファイル名.txt',
  name255,
  emoji255,
];

const BAD: [string, string][] = [
  ['empty', ''],
  ['dot', '.'],
  ['dot dot', '..'],
  ['slash', 'a/b'],
  ['backslash', 'a\\b'],
  ['NUL', 'a\u0000b'],
  ['newline', 'line\nbreak'],
  ['tab', 'tab\there'],
  ['escape', 'esc\u001b[31m'],
  ['DEL', 'del\u007f'],
  ['C1 control', 'c1\u0085'],
  ['256 bytes', 'é'.repeat(126) + 'abcd'],
  ['256 bytes of emoji', '😀'.repeat(64)],
  ['only spaces', '   '],
];

describe('names end to end', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  it('fixtures are what they claim to be', () => {
    expect(bytes(name255)).to.equal(255);
    expect(bytes(emoji255)).to.equal(255);
    expect(bytes(BAD.find(([w]) => w === '256 bytes')![1])).to.equal(256);
    expect(bytes(BAD.find(([w]) => w === '256 bytes of emoji')![1])).to.equal(256);
  });

  it('uploads, lists, downloads, renames and creates folders with awkward names', async () => {
    const dir = await a.mkdir(u.rootId, 'awkward');
    for (const [i, name] of GOOD.entries()) {
      const up = await a.put(`/api/folders/${dir.id}/files/${encodeURIComponent(name)}`, `content ${i}`);
      expect(up.status, `${JSON.stringify(name)}: ${await up.clone().text()}`).to.equal(201);
      const node = (await up.json()) as NodeJson;
      expect(node.name).to.equal(name);
      const res = await a.get(`/api/files/${node.id}/content?download=1`);
      expect(await res.text()).to.equal(`content ${i}`);
      const star = /filename\*=UTF-8''([^;\s]+)/.exec(res.headers.get('content-disposition') ?? '');
      expect(decodeURIComponent(star![1]!), 'Content-Disposition round-trips the name').to.equal(name);
    }
    const listed = (await a.children(dir.id)).map((n) => n.name);
    expect([...listed].sort()).to.deep.equal([...GOOD].sort());

    // Rename each to another awkward name (long ones keep their length: still ≤ 255 bytes).
    const items = await a.children(dir.id);
    for (const n of items) {
      const other = bytes(n.name) > 200 ? `x${Array.from(n.name).slice(1).join('')}` : `renamed ${n.name} ✓`;
      const r = await a.patch(`/api/nodes/${n.id}`, { name: other });
      expect(r.status, JSON.stringify(other)).to.equal(200);
      expect(((await r.json()) as NodeJson).name).to.equal(other);
      expect(((await a.json(a.get(`/api/nodes/${n.id}`))) as NodeJson).name).to.equal(other);
    }
    // Folders with the same names, and a path through them.
    let parent = u.rootId;
    for (const name of GOOD.slice(0, 6)) {
      const f = await a.mkdir(parent, name);
      expect(f.name).to.equal(name);
      parent = f.id;
    }
    const crumbs = (await a.json(a.get(`/api/nodes/${parent}/path`))).items as NodeJson[];
    expect(crumbs.slice(1).map((n) => n.name)).to.deep.equal(GOOD.slice(0, 6));
  });

  for (const [what, name] of BAD) {
    it(`refuses a name with ${what} with 400 invalid_name (upload, new folder, rename)`, async () => {
      const target = await a.upload(u.rootId, `target-${what}.txt`, 'x');
      const put = await rawRequest(
        srv.url,
        'PUT',
        `/api/folders/${u.rootId}/files/${encodeURIComponent(name)}`,
        u.token,
      );
      // An empty path segment does not even match the route: 404/405 is fine there, never 2xx or 5xx.
      if (name === '') expect(put.status).to.be.within(400, 499);
      else {
        expect(put.status, JSON.stringify(put.json)).to.equal(400);
        expect(put.json.error.code).to.equal('invalid_name');
      }
      const mk = await a.post('/api/folders', { parentId: u.rootId, name });
      expect(mk.status).to.equal(400);
      expect((await mk.json()).error.code).to.equal('invalid_name');
      const mv = await a.patch(`/api/nodes/${target.id}`, { name });
      expect(mv.status).to.equal(400);
      expect((await mv.json()).error.code).to.equal('invalid_name');
      const cp = await a.post(`/api/nodes/${target.id}/copy`, { parentId: u.rootId, name });
      expect(cp.status).to.equal(400);
    });
  }

  it('refuses half a surrogate pair (not valid Unicode) instead of storing U+FFFD', async () => {
    for (const name of ['bad\uD83D.txt', '\uDE00x']) {
      const mk = await a.post('/api/folders', { parentId: u.rootId, name });
      expect(mk.status).to.equal(400);
      expect((await mk.json()).error.code).to.equal('invalid_name');
    }
  });

  it('refuses raw "." and ".." path segments as upload names (not resolved as paths)', async () => {
    for (const seg of ['.', '..', '%2E', '%2e%2E']) {
      const res = await rawRequest(srv.url, 'PUT', `/api/folders/${u.rootId}/files/${seg}`, u.token);
      expect(res.status, seg).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_name');
    }
    const slash = await rawRequest(srv.url, 'PUT', `/api/folders/${u.rootId}/files/a%2Fb`, u.token);
    expect(slash.status).to.equal(400);
    expect(slash.json.error.code).to.equal('invalid_name');
    expect((await a.children(u.rootId)).some((n) => n.name === 'a/b' || n.name === '..')).to.equal(false);
  });

  it('treats names case-insensitively and NFD like NFC: a clash is 409', async () => {
    const dir = await a.mkdir(u.rootId, 'clashes');
    await a.upload(dir.id, 'A.txt', 'upper');
    const lower = await a.put(`/api/folders/${dir.id}/files/a.txt`, 'lower');
    expect(lower.status).to.equal(409);
    expect((await lower.json()).error.code).to.equal('already_exists');
    expect((await a.post('/api/folders', { parentId: dir.id, name: 'a.TXT' })).status).to.equal(409);
    const other = await a.upload(dir.id, 'other.txt', 'o');
    expect((await a.patch(`/api/nodes/${other.id}`, { name: 'a.txt' })).status).to.equal(409);
    // Unicode case folding beyond ASCII.
    await a.mkdir(dir.id, 'ÉCOLE');
    expect((await a.post('/api/folders', { parentId: dir.id, name: 'école' })).status).to.equal(409);
    // Renaming a file to a different case of its own name is allowed.
    const own = await a.json<NodeJson>(a.patch(`/api/nodes/${other.id}`, { name: 'OTHER.txt' }));
    expect(own.name).to.equal('OTHER.txt');

    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    const stored = await a.upload(dir.id, nfd, 'nfd');
    expect(stored.name).to.equal(nfc, 'names are stored NFC');
    const clash = await a.put(`/api/folders/${dir.id}/files/${encodeURIComponent(nfc)}`, 'nfc');
    expect(clash.status).to.equal(409);
    const over = await a.put(`/api/folders/${dir.id}/files/${encodeURIComponent(nfc)}?overwrite=true`, 'nfc!');
    expect(over.status).to.equal(200);
    expect(((await over.json()) as NodeJson).id).to.equal(stored.id);
    expect((await a.post('/api/folders', { parentId: dir.id, name: nfd })).status).to.equal(409);
  });
});
