import net from 'node:net';
import http from 'node:http';
import { expect } from 'chai';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectHealthy } from '../support/store.js';

interface Answer {
  status: number;
  text: string;
  json: { error?: { code?: string; message?: string } } | undefined;
}

/** A request sent byte for byte as written (no URL normalisation, any header, any body). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let json: Answer['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function toAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** A 4xx JSON error with a code and a message, and nothing that looks like a stack trace. */
function expectClientError(r: Answer, what: string, status?: number, code?: string): void {
  const info = `${what}: ${r.status} ${r.text.slice(0, 300)}`;
  expect(r.status, info).to.be.within(400, 499);
  if (status) expect(r.status, info).to.equal(status);
  expect(r.json?.error, info).to.be.an('object');
  expect(r.json!.error!.code, info).to.be.a('string');
  expect(r.json!.error!.message, info).to.be.a('string').and.not.equal('');
  if (code) expect(r.json!.error!.code, info).to.equal(code);
  expect(r.text, info).to.not.match(/\bat .+\.(ts|js):\d+|node_modules|Error:/);
}

describe('bad input gets a clear 4xx, never a 500', function () {
  this.timeout(30_000);
  let srv: TestServer;
  let u: TestUser;
  let a: Api;
  let folder: NodeJson;
  let file: NodeJson;
  let auth: Record<string, string>;
  before(async () => {
    srv = await startTestServer();
    u = await createUser(srv);
    a = api(srv.url).as(u);
    folder = await a.mkdir(u.rootId, 'f');
    file = await a.upload(u.rootId, 'file.txt', 'x');
    auth = { authorization: `Bearer ${u.token}` };
  });
  after(async () => {
    await expectHealthy(srv);
    await srv.close();
  });

  const json = (method: string, path: string, body: string) =>
    raw(
      srv.url,
      method,
      path,
      { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      body,
    );

  it('invalid JSON', async () => {
    for (const body of [
      '{',
      '{"parentId": }',
      "{'a': 1}",
      'null',
      '"just a string"',
      '[1,2]',
      '{"a":1}{"b":2}',
      '\u0000',
    ]) {
      const r = await json('POST', '/api/folders', body);
      expectClientError(r, `POST /api/folders ${JSON.stringify(body)}`, 400);
    }
    expectClientError(
      await json('PATCH', `/api/nodes/${file.id}`, '{"name": "x",}'),
      'trailing comma',
      400,
      'invalid_input',
    );
    expectClientError(await json('POST', '/api/auth/login', '{"username":'), 'login', 400, 'invalid_input');
  });

  it('wrong types and missing fields', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/folders', {}],
      ['POST', '/api/folders', { parentId: u.rootId }],
      ['POST', '/api/folders', { name: 'x' }],
      ['POST', '/api/folders', { parentId: 42, name: 'x' }],
      ['POST', '/api/folders', { parentId: u.rootId, name: 42 }],
      ['POST', '/api/folders', { parentId: u.rootId, name: null }],
      ['POST', '/api/folders', { parentId: u.rootId, name: ['a'] }],
      ['POST', '/api/folders', { parentId: [u.rootId], name: 'x' }],
      ['PATCH', `/api/nodes/${file.id}`, {}],
      ['PATCH', `/api/nodes/${file.id}`, { name: 5 }],
      ['PATCH', `/api/nodes/${file.id}`, { parentId: true }],
      ['POST', `/api/nodes/${file.id}/copy`, {}],
      ['POST', `/api/nodes/${file.id}/copy`, { parentId: u.rootId, name: {} }],
      ['POST', '/api/nodes/bulk', {}],
      ['POST', '/api/nodes/bulk', { action: 'explode', ids: [file.id] }],
      ['POST', '/api/nodes/bulk', { action: 'trash', ids: file.id }],
      ['POST', '/api/nodes/bulk', { action: 'trash', ids: [] }],
      ['POST', '/api/nodes/bulk', { action: 'trash', ids: [42] }],
      ['POST', '/api/nodes/bulk', { action: 'copy', ids: [file.id] }],
      ['POST', '/api/nodes/bulk', { action: 'trash', ids: Array.from({ length: 1001 }, () => file.id) }],
      ['POST', '/api/auth/login', { username: 5, password: 'x' }],
      ['POST', '/api/auth/login', {}],
      ['POST', '/api/auth/password', { currentPassword: 1 }],
    ];
    for (const [method, path, body] of cases) {
      const r = await toAnswer(await a.request(method, path, body as Record<string, unknown>));
      expectClientError(r, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}`, 400);
    }
    // Nothing was created or changed by any of them.
    expect((await a.children(u.rootId)).map((n) => n.name)).to.deep.equal(['f', 'file.txt']);
  });

  it('a JSON body over 1 MiB is 413', async () => {
    const big = JSON.stringify({ parentId: u.rootId, name: 'x', pad: 'p'.repeat(1024 * 1024 + 10) });
    expectClientError(await json('POST', '/api/folders', big), 'huge JSON', 413, 'payload_too_large');
    expectClientError(await json('POST', '/api/auth/login', big), 'huge JSON at login', 413, 'payload_too_large');
  });

  it('a JSON route with another content type', async () => {
    const r = await raw(
      srv.url,
      'POST',
      '/api/folders',
      { ...auth, 'content-type': 'text/plain', 'content-length': 2 },
      'hi',
    );
    expectClientError(r, 'text/plain body', 400, 'invalid_input');
    const none = await raw(srv.url, 'POST', '/api/folders', { ...auth, 'content-length': 0 });
    expectClientError(none, 'no body', 400, 'invalid_input');
  });

  it('bad UUIDs in paths, queries and bodies', async () => {
    for (const bad of [
      'not-a-uuid',
      '123',
      "1'%20OR%20'1'='1",
      '%00',
      'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
      `${file.id}x`,
    ]) {
      for (const [method, path] of [
        ['GET', `/api/nodes/${bad}`],
        ['GET', `/api/nodes/${bad}/children`],
        ['GET', `/api/nodes/${bad}/path`],
        ['GET', `/api/files/${bad}/content`],
        ['GET', `/api/nodes/${bad}/zip`],
        ['GET', `/api/zip?ids=${bad}`],
        ['DELETE', `/api/nodes/${bad}`],
        ['PUT', `/api/folders/${bad}/files/x.txt`],
      ] as const) {
        const r = await raw(
          srv.url,
          method,
          path,
          { ...auth, 'content-length': method === 'PUT' ? 1 : 0 },
          method === 'PUT' ? 'x' : undefined,
        );
        expectClientError(r, `${method} ${path}`, 400, 'invalid_input');
      }
    }
    expectClientError(
      await toAnswer(await a.post('/api/folders', { parentId: 'nope', name: 'x' })),
      'parentId',
      400,
      'invalid_input',
    );
    expectClientError(
      await toAnswer(await a.patch(`/api/nodes/${file.id}`, { parentId: 'nope' })),
      'move parentId',
      400,
      'invalid_input',
    );
    expectClientError(
      await toAnswer(await a.post('/api/nodes/bulk', { action: 'trash', ids: ['nope'] })),
      'bulk ids',
      400,
      'invalid_input',
    );
    expectClientError(await toAnswer(await a.get('/api/zip')), 'zip without ids', 400, 'invalid_input');
    expectClientError(await toAnswer(await a.get('/api/zip?ids=,,,')), 'zip with empty ids', 400, 'invalid_input');
  });

  it('malformed %-escapes in an upload name', async () => {
    for (const name of ['%', '%E0%A4%A', 'a%zz', '%C3%28', '%FF%FE', '%ED%A0%80']) {
      const r = await raw(
        srv.url,
        'PUT',
        `/api/folders/${u.rootId}/files/${name}`,
        { ...auth, 'content-length': 1 },
        'x',
      );
      expectClientError(r, `PUT name ${name}`, 400);
    }
    expect((await a.children(u.rootId)).map((n) => n.name)).to.deep.equal(['f', 'file.txt']);
  });

  it('malformed multipart bodies', async () => {
    const path = `/api/folders/${folder.id}/upload`;
    const cases: [Record<string, string>, string][] = [
      [{ 'content-type': 'multipart/form-data' }, 'no boundary at all'],
      [{ 'content-type': 'multipart/form-data; boundary=abc' }, 'garbage without any boundary line'],
      [
        { 'content-type': 'multipart/form-data; boundary=abc' },
        '--abc\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\nunterminated',
      ],
      [
        { 'content-type': 'multipart/form-data; boundary=abc' },
        '--abc\r\nContent-Disposition: form-data; name="field"\r\n\r\nno file here\r\n--abc--\r\n',
      ],
      [
        { 'content-type': 'multipart/form-data; boundary=abc' },
        '--abc\r\nContent-Disposition: form-data; name="f"; filename="../../etc/passwd"\r\n\r\nx\r\n--abc--\r\n',
      ],
    ];
    for (const [headers, body] of cases) {
      const r = await raw(
        srv.url,
        'POST',
        path,
        { ...auth, ...headers, 'content-length': Buffer.byteLength(body) },
        body,
      );
      if (r.status === 201) {
        // A filename with a path is reduced to its last segment, never a path.
        const items = (r.json as unknown as { items: NodeJson[] }).items;
        expect(
          items.map((n) => n.name),
          body,
        ).to.deep.equal(['passwd']);
        continue;
      }
      expectClientError(r, `multipart: ${body.slice(0, 60)}`);
    }
    expect((await a.children(folder.id)).every((n) => !n.name.includes('/'))).to.equal(true);
  });

  it('bad query values', async () => {
    for (const q of ['?overwrite=maybe', '?overwrite=true&overwrite=false']) {
      const r = await toAnswer(await a.put(`/api/folders/${u.rootId}/files/q.txt${q}`, 'x'));
      expectClientError(r, `upload ${q}`, 400, 'invalid_input');
    }
    for (const q of ['?limit=1e999', '?limit=-1', '?offset=x', '?sort=size&sort=name', '?limit=99999999']) {
      expectClientError(
        await toAnswer(await a.get(`/api/nodes/${folder.id}/children${q}`)),
        `children ${q}`,
        400,
        'invalid_input',
      );
    }
    expectClientError(await toAnswer(await a.get('/api/activity?cursor=abc')), 'activity cursor', 400, 'invalid_input');
    expectClientError(await toAnswer(await a.get('/api/activity?format=xml')), 'activity format', 400, 'invalid_input');
  });

  it('unknown routes and methods', async () => {
    for (const [method, path] of [
      ['GET', '/api/nope'],
      ['GET', '/api'],
      ['GET', '/api/'],
      ['POST', '/api/nodes'],
      ['GET', '/api/nodes'],
      ['DELETE', '/api/folders'],
      ['PUT', `/api/nodes/${file.id}`],
      ['GET', `/api/folders/${u.rootId}/files/x`],
      ['POST', '/api/health'],
      ['GET', '/api/nodes/../../etc/passwd'],
    ] as const) {
      const r = await raw(srv.url, method, path, { ...auth, 'content-length': 0 });
      expectClientError(r, `${method} ${path}`);
      expect([404, 405, 400, 501]).to.include(r.status);
    }
  });

  it('no or broken credentials: 401 JSON', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer x.y.z' },
      { authorization: 'Basic Zm9vOmJhcg==' },
      { authorization: 'Bearer ' + 'a'.repeat(5000) },
    ]) {
      const r = await raw(srv.url, 'GET', `/api/nodes/${u.rootId}`, headers as Record<string, string>);
      expectClientError(r, JSON.stringify(headers).slice(0, 60), 401, 'unauthenticated');
    }
    expectClientError(
      await raw(srv.url, 'GET', '/api/auth/me', { cookie: 'coffer_session=garbage' }),
      'bad cookie',
      401,
    );
  });

  it('the server still works afterwards', async () => {
    expect((await a.children(u.rootId)).map((n) => n.name)).to.deep.equal(['f', 'file.txt']);
    expect((await a.get('/api/health')).status).to.equal(200);
  });
});

describe('requests Node cannot parse', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('answers an unknown method with 501 and a JSON error, and keeps serving', async () => {
    const { port } = new URL(srv.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(Number(port), '127.0.0.1', () =>
        sock.write('BREW /api/health HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let data = '';
      sock.on('data', (d) => (data += d));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    expect(raw).to.match(/^HTTP\/1\.1 501 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code).to.equal('invalid_input');
    expect((await fetch(`${srv.url}/api/health`)).status).to.equal(200);
  });
});
