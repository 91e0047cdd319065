/**
 * Multipart uploads from clients that send no per-part Content-Type (issue 9, item 13): Python
 * `requests` (`files={'f': open(...)}` without a type), curl `-F f=@x;type=` and others. A part
 * with a filename is a file (RFC 7578 §4.2), whatever its type; a part without one stays a field.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { api, createUser, type Api, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('multipart parts without a Content-Type', () => {
  let srv: TestServer;
  let user: TestUser;
  let a: Api;
  before(async () => {
    srv = await startTestServer();
    user = await createUser(srv);
    a = api(srv.url).as(user);
  });
  after(() => srv.close());

  it('stores a part with a filename but no Content-Type as a file, byte for byte', async () => {
    const dir = await a.mkdir(user.rootId, 'from-python');
    const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(64 * 1024)]);
    const boundary = 'c0ffee' + randomBytes(8).toString('hex');
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="comment"\r\n\r\njust a field\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n\r\n`),
      binary,
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="report.csv"\r\n\r\na,b\r\n1,2\r\n`,
      ),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const res = await a.post(`/api/folders/${dir.id}/upload`, body, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const items = ((await res.json()) as { items: { id: string; name: string; size: number; mime: string }[] }).items;
    expect(items.map((i) => i.name)).to.deep.equal(['blob.bin', 'report.csv']);
    expect(items[1]!.mime).to.equal('text/csv');
    const got = Buffer.from(await (await a.get(`/api/files/${items[0]!.id}/content`)).arrayBuffer());
    expect(got.equals(binary)).to.equal(true);
    expect(await (await a.get(`/api/files/${items[1]!.id}/content`)).text()).to.equal('a,b\r\n1,2');
    expect((await a.children(dir.id)).map((n) => n.name).sort()).to.deep.equal(['blob.bin', 'report.csv']);
  });
});
