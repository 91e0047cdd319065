/**
 * Thumbnails through HTTP on a real server: every source kind, EXIF orientation and metadata,
 * corrupt input, the 100-megapixel memory bound, the disk cache and 304s, GC, access and links.
 * Fixtures are made on the fly with sharp and ffmpeg (support/media.ts): no binary fixtures in the repository.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import sharp, { type Metadata } from 'sharp';
import { samplePdf } from '../e2e/support.js';
import { api, createUser, type Api, type NodeJson, type TestUser } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { animatedGif, hasFfmpeg, peakRss, resetPeakRss, solid, writeVideo } from '../support/media.js';
import { expectHealthy, sha256 } from '../support/store.js';

const MiB = 1024 * 1024;

describe('thumbnails', function () {
  this.timeout(120_000);
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

  const thumb = (id: string, size = 256, headers: Record<string, string> = {}) =>
    a.get(`/api/files/${id}/thumbnail?size=${size}`, headers);

  async function image(res: Response): Promise<Metadata> {
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('image/webp');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('content-security-policy')).to.include('sandbox');
    return sharp(Buffer.from(await res.arrayBuffer())).metadata();
  }

  const cacheFiles = (hash: string) => {
    const dir = path.join(srv.dataDir, 'thumbnails', hash.slice(0, 2));
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(hash)) : [];
  };

  it('applies EXIF orientation 6 (rotated) and strips the metadata', async () => {
    const jpeg = await solid(200, 100)
      .jpeg()
      .withExif({ IFD0: { Copyright: 'secret-owner', Software: 'camera' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).to.equal(6);
    const node = await a.upload(u.rootId, 'portrait.jpg', jpeg);
    const meta = await image(await thumb(node.id, 64));
    expect({ width: meta.width, height: meta.height }).to.deep.equal({ width: 32, height: 64 });
    expect(meta.format).to.equal('webp');
    expect(meta.exif, 'no EXIF block').to.equal(undefined);
    expect(meta.orientation).to.equal(undefined);
    expect(meta.icc).to.equal(undefined);
  });

  it('makes thumbnails of PNG, WebP, GIF (first frame) and AVIF, never larger than the source', async () => {
    const sources: [string, Buffer][] = [
      ['wide.png', await solid(600, 300).png().toBuffer()],
      ['photo.webp', await solid(300, 600).webp().toBuffer()],
      ['anim.gif', await animatedGif()],
      ['pic.avif', await solid(400, 200).avif().toBuffer()],
    ];
    const want: Record<string, [number, number]> = {
      'wide.png': [256, 128],
      'photo.webp': [128, 256],
      'anim.gif': [80, 40],
      'pic.avif': [256, 128],
    };
    for (const [name, bytes] of sources) {
      const node = await a.upload(u.rootId, name, bytes);
      const meta = await image(await thumb(node.id, 256));
      expect([meta.width, meta.height], name).to.deep.equal(want[name]);
    }
  });

  it('takes the first frame of an animated GIF, still', async () => {
    const node = await a.upload(u.rootId, 'frames.gif', await animatedGif());
    const res = await thumb(node.id, 256);
    const meta = await image(res.clone());
    expect([meta.width, meta.height, meta.pages ?? 1]).to.deep.equal([80, 40, 1]);
    const [red, green, blue] = (await sharp(Buffer.from(await res.arrayBuffer())).stats()).channels;
    expect(red!.mean, 'the red first frame').to.be.greaterThan(240);
    expect(Math.max(green!.mean, blue!.mean), 'not the blue second frame').to.be.lessThan(15);
  });

  it('makes HEIC thumbnails when this sharp build can decode HEVC', async function () {
    let heic: Buffer;
    try {
      heic = await solid(300, 200).heif({ compression: 'hevc' }).toBuffer();
    } catch (err) {
      console.log(
        `      skipped: this sharp build has no HEVC codec (${(err as Error).message}); HEIC gets no thumbnail`,
      );
      return this.skip();
    }
    const node = await a.upload(u.rootId, 'phone.heic', heic);
    const meta = await image(await thumb(node.id, 64));
    expect(meta.width).to.equal(64);
  });

  it("renders a PDF's first page", async () => {
    const node = await a.upload(u.rootId, 'doc.pdf', samplePdf());
    const res = await thumb(node.id, 256);
    const meta = await image(res.clone());
    // The sample page is 300 × 200 points: the longer side becomes 256.
    expect([meta.width, meta.height]).to.deep.equal([256, 171]);
    const { channels } = await sharp(Buffer.from(await res.arrayBuffer())).stats();
    expect(channels[0]!.min, 'the text is drawn in black on white').to.be.lessThan(100);
  });

  it('makes a poster frame of a video with ffmpeg', async function () {
    if (!hasFfmpeg) {
      console.log('      skipped: ffmpeg is not installed (videos then answer 404 no_thumbnail)');
      return this.skip();
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-video-')), 'clip.mp4');
    writeVideo(file);
    const node = await a.upload(u.rootId, 'clip.mp4', fs.readFileSync(file));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const meta = await image(await thumb(node.id, 64));
    expect([meta.width, meta.height]).to.deep.equal([64, 48]);
  });

  it('answers 404 no_thumbnail for other kinds, an SVG, and a file mislabelled as an image', async () => {
    const cases: [string, string | Buffer][] = [
      ['notes.txt', 'plain text'],
      ['logo.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'],
      ['fake.jpg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'],
      ['empty.png', ''],
    ];
    for (const [name, body] of cases) {
      const node = await a.upload(u.rootId, name, body);
      const res = await thumb(node.id);
      expect(res.status, name).to.equal(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, name).to.equal('no_thumbnail');
    }
    expect((await thumb(u.rootId)).status, 'a folder').to.be.oneOf([400, 404]);
  });

  it('answers a corrupt image with a clean 404 and keeps serving', async () => {
    const good = await solid(100, 100).png().toBuffer();
    const corrupt = Buffer.concat([good.subarray(0, 60), Buffer.alloc(4000, 0x5a)]);
    const truncated = (await solid(400, 400).jpeg().toBuffer()).subarray(0, 300);
    for (const [name, bytes] of [
      ['broken.png', corrupt],
      ['cut.jpg', truncated],
    ] as const) {
      const node = await a.upload(u.rootId, name, bytes);
      const res = await thumb(node.id);
      expect(res.status, name).to.equal(404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('no_thumbnail');
      expect(body.error.message).to.match(/could not be decoded/);
    }
    const ok = await a.upload(u.rootId, 'fine.png', good);
    expect((await thumb(ok.id)).status).to.equal(200);
    expect(srv.errors).to.deep.equal([]);
  });

  it('rejects a size it does not offer, and files over THUMBNAIL_MAX_INPUT_BYTES', async () => {
    const node = await a.upload(u.rootId, 'sizes.png', await solid(50, 50).png().toBuffer());
    const bad = await thumb(node.id, 300);
    expect(bad.status).to.equal(400);
    const small = await startTestServer({ env: { THUMBNAIL_MAX_INPUT_BYTES: '1KiB' } });
    try {
      const v = await createUser(small);
      const big = await api(small.url)
        .as(v)
        .upload(v.rootId, 'big.png', await solid(400, 400).png({ compressionLevel: 0 }).toBuffer());
      const res = await api(small.url).as(v).get(`/api/files/${big.id}/thumbnail?size=64`);
      expect(res.status).to.equal(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).to.match(/over 1024 bytes/);
    } finally {
      await small.close();
    }
  });

  it('bounds generation: past THUMBNAIL_CONCURRENCY and THUMBNAIL_QUEUE it answers 503 with Retry-After', async () => {
    const busy = await startTestServer({ env: { THUMBNAIL_CONCURRENCY: '1', THUMBNAIL_QUEUE: '0' } });
    try {
      const v = await createUser(busy);
      const b = api(busy.url).as(v);
      const nodes: NodeJson[] = [];
      for (let i = 0; i < 6; i++)
        nodes.push(await b.upload(v.rootId, `p${i}.png`, await solid(2500, 2500, `#${i}${i}8`).png().toBuffer()));
      const answers = await Promise.all(nodes.map((n) => b.get(`/api/files/${n.id}/thumbnail?size=1024`)));
      const statuses = answers.map((r) => r.status);
      expect(statuses).to.include(503);
      expect(statuses.every((s) => s === 200 || s === 503)).to.equal(true);
      const refused = answers.find((r) => r.status === 503)!;
      expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
      expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('overloaded');
      // Once the burst is over, every one of them is served.
      for (const n of nodes) expect((await b.get(`/api/files/${n.id}/thumbnail?size=1024`)).status).to.equal(200);
    } finally {
      await busy.close();
    }
  });

  it('answers no_thumbnail when a renderer is missing, or killed after THUMBNAIL_TIMEOUT', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-tools-'));
    const slow = path.join(dir, 'slow-pdftoppm');
    fs.writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const env = {
      THUMBNAIL_PDFTOPPM: slow,
      THUMBNAIL_FFMPEG: path.join(dir, 'no-such-ffmpeg'),
      THUMBNAIL_TIMEOUT: '1',
    };
    const tools = await startTestServer({ env });
    try {
      const v = await createUser(tools);
      const b = api(tools.url).as(v);
      const reason = async (res: Response) => {
        expect(res.status).to.equal(404);
        const { error } = (await res.json()) as { error: { code: string; message: string } };
        expect(error.code).to.equal('no_thumbnail');
        return error.message;
      };
      const video = await b.upload(v.rootId, 'clip.mp4', Buffer.alloc(2000, 1));
      expect(await reason(await b.get(`/api/files/${video.id}/thumbnail?size=64`))).to.match(/not installed/);
      const pdf = await b.upload(v.rootId, 'doc.pdf', samplePdf());
      const started = Date.now();
      expect(await reason(await b.get(`/api/files/${pdf.id}/thumbnail?size=64`))).to.match(/took longer than 1000 ms/);
      expect(Date.now() - started, 'killed at the timeout, not after the sleep').to.be.lessThan(10_000);
      // The failure is remembered: asked again, the answer comes without running the renderer.
      const again = Date.now();
      expect(await reason(await b.get(`/api/files/${pdf.id}/thumbnail?size=64`))).to.match(/took longer than/);
      expect(Date.now() - again).to.be.lessThan(500);
      const off = await startTestServer({ env: { THUMBNAIL_FFMPEG: 'off' }, shareStoreWith: tools });
      try {
        const res = await api(off.url).as(v).get(`/api/files/${video.id}/thumbnail?size=64`);
        expect(await reason(res)).to.match(/no thumbnails of this kind/);
      } finally {
        await off.close();
      }
    } finally {
      await tools.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the RSS growth of a 100-megapixel image under 300 MiB', async function () {
    // The fixture is made in a child process: memory sharp takes here would be reused by the server's
    // decode (this process hosts the server) and hide its growth.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-big-'));
    const file = path.join(dir, 'big.png');
    execFileSync(process.execPath, [
      '-e',
      `require('sharp')({create:{width:10000,height:10000,channels:3,background:'#48c'}}).png({compressionLevel:1}).toFile(${JSON.stringify(file)}).catch((e)=>{console.error(e);process.exit(1)})`,
    ]);
    const node = await a.upload(u.rootId, 'huge.png', fs.readFileSync(file));
    fs.rmSync(dir, { recursive: true, force: true });
    if (!resetPeakRss()) {
      console.log('      skipped: /proc/self/clear_refs is not writable here, so peak RSS cannot be measured');
      return this.skip();
    }
    const before = process.memoryUsage().rss;
    const meta = await image(await thumb(node.id, 1024));
    const growth = peakRss()! - before;
    console.log(`      100 MP PNG → ${meta.width}×${meta.height}: peak RSS grew ${(growth / MiB).toFixed(0)} MiB`);
    expect([meta.width, meta.height]).to.deep.equal([1024, 1024]);
    expect(growth).to.be.lessThan(300 * MiB);
  });

  it('serves a cached thumbnail the second time without making it again, and 304 on If-None-Match', async () => {
    const bytes = await solid(300, 200, '#c33').png().toBuffer();
    const node = await a.upload(u.rootId, 'cached.png', bytes);
    const first = await thumb(node.id, 64);
    expect(first.status).to.equal(200);
    const etag = first.headers.get('etag')!;
    expect(etag)
      .to.match(/^"thumb-[a-z0-9]+-64-[0-9a-f]{64}"$/)
      .and.include(sha256(bytes));
    expect(first.headers.get('cache-control')).to.equal('private, no-cache');
    const [file] = cacheFiles(sha256(bytes));
    expect(file, 'a cached thumbnail by content hash').to.match(/-64-[a-z0-9]+\.webp$/);
    const full = path.join(srv.dataDir, 'thumbnails', sha256(bytes).slice(0, 2), file!);
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(full, old, old);
    const aged = fs.statSync(full).mtimeMs;
    const second = await thumb(node.id, 64);
    expect(Buffer.from(await second.arrayBuffer()).equals(Buffer.from(await first.arrayBuffer()))).to.equal(true);
    expect(fs.statSync(full).mtimeMs, 'not written again').to.equal(aged);
    const notModified = await thumb(node.id, 64, { 'if-none-match': etag });
    expect(notModified.status).to.equal(304);
    expect(notModified.headers.get('etag')).to.equal(etag);
    // Another size is another thumbnail and another ETag; new content is a new ETag.
    expect((await thumb(node.id, 256, { 'if-none-match': etag })).status).to.equal(200);
    // Named with the content it was made from (the console's `&v=<file ETag>`), it is cached for a year.
    const pinned = await a.get(`/api/files/${node.id}/thumbnail?size=64&v=${node.etag}`);
    expect(pinned.status).to.equal(200);
    expect(pinned.headers.get('cache-control')).to.equal('private, max-age=31536000, immutable');
    await a.upload(u.rootId, 'cached.png', await solid(300, 200, '#33c').png().toBuffer(), '?overwrite=true');
    expect((await thumb(node.id, 64, { 'if-none-match': etag })).status).to.equal(200);
    // The old version names content the file no longer has: not cached.
    const stale = await a.get(`/api/files/${node.id}/thumbnail?size=64&v=${node.etag}`);
    expect(stale.headers.get('cache-control')).to.equal('private, no-cache');
  });

  it('removes thumbnails when their blob is purged and collected, and sweeps orphans', async () => {
    const bytes = await solid(120, 90, '#9a1').png().toBuffer();
    const node = await a.upload(u.rootId, 'gone.png', bytes);
    for (const size of [64, 256]) expect((await thumb(node.id, size)).status).to.equal(200);
    expect(cacheFiles(sha256(bytes))).to.have.length(2);
    expect((await a.delete(`/api/nodes/${node.id}`)).status).to.be.oneOf([200, 204]);
    expect((await a.delete(`/api/trash/${node.id}`)).status).to.be.oneOf([200, 204]);
    // An orphan: a thumbnail whose source never had a blob row here.
    const orphan = 'ab'.repeat(32);
    fs.mkdirSync(path.join(srv.dataDir, 'thumbnails', 'ab'), { recursive: true });
    const orphanFile = path.join(
      srv.dataDir,
      'thumbnails',
      'ab',
      path.basename(cacheFiles(sha256(bytes))[0]!).replace(sha256(bytes), orphan),
    );
    fs.writeFileSync(orphanFile, 'x');
    const gc = await srv.app.collectGarbage(0);
    expect(cacheFiles(sha256(bytes))).to.deep.equal([]);
    expect(fs.existsSync(orphanFile)).to.equal(false);
    expect(gc.thumbnailsRemoved).to.equal(3);
  });

  it("answers 404 for another user's file, and lets a grantee see a shared one", async () => {
    const other = await createUser(srv);
    const mine = await a.upload(u.rootId, 'private.png', await solid(40, 40).png().toBuffer());
    const res = await api(srv.url).as(other).get(`/api/files/${mine.id}/thumbnail?size=64`);
    expect(res.status).to.equal(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('not_found');
    expect((await api(srv.url).get(`/api/files/${mine.id}/thumbnail?size=64`)).status).to.equal(401);
    const folder = await a.mkdir(u.rootId, 'Shared pics');
    const shared = await a.upload(folder.id, 'seen.png', await solid(40, 40).png().toBuffer());
    expect(
      (await a.post(`/api/nodes/${folder.id}/shares`, { user: other.username, permission: 'view' })).status,
    ).to.equal(201);
    expect((await api(srv.url).as(other).get(`/api/files/${shared.id}/thumbnail?size=64`)).status).to.equal(200);
  });

  it('serves link visitors thumbnails inside the link subtree only, behind its password', async () => {
    const album = await a.mkdir(u.rootId, 'Album');
    const inside = await a.upload(album.id, 'in.png', await solid(90, 60).png().toBuffer());
    const outside = await a.upload(u.rootId, 'out.png', await solid(90, 60).png().toBuffer());
    const res = await a.post(`/api/nodes/${album.id}/links`, { permission: 'view', password: 'link-pass-1' });
    expect(res.status).to.equal(201);
    const { token } = (await res.json()) as { token: string };
    const visitor = api(srv.url);
    const pw = { 'x-link-password': 'link-pass-1' };
    expect((await visitor.get(`/api/public/${token}/thumbnail?id=${inside.id}&size=64`)).status).to.equal(401);
    const meta = await image(await visitor.get(`/api/public/${token}/thumbnail?id=${inside.id}&size=64`, pw));
    expect([meta.width, meta.height]).to.deep.equal([64, 43]);
    const out = await visitor.get(`/api/public/${token}/thumbnail?id=${outside.id}&size=64`, pw);
    expect(out.status).to.equal(404);
    expect((await visitor.get(`/api/public/${token}/thumbnail?size=64`, pw)).status, 'the folder itself').to.be.oneOf([
      400, 404,
    ]);
    const fileLink = (await (
      await a.post(`/api/nodes/${inside.id}/links`, { permission: 'view' })
    ).json()) as NodeJson & { token: string };
    expect(
      (await visitor.get(`/api/public/${fileLink.token}/thumbnail?size=256`)).status,
      'a file link, no id',
    ).to.equal(200);
    // A thumbnail is not a download: it spends none of a limited link's downloads and logs none.
    const limited = (await (
      await a.post(`/api/nodes/${album.id}/links`, { permission: 'view', maxDownloads: 1 })
    ).json()) as { id: string; token: string };
    for (const size of [64, 256, 1024])
      expect(
        (await visitor.get(`/api/public/${limited.token}/thumbnail?id=${inside.id}&size=${size}`)).status,
      ).to.equal(200);
    const download = await visitor.get(`/api/public/${limited.token}/content?id=${inside.id}`);
    expect(download.status).to.equal(200);
    await download.arrayBuffer();
    const log = (await a.json(a.get('/api/activity?action=link.downloaded&limit=100'))).items as any[];
    expect(log.filter((r) => r.details.link === limited.id).map((r) => r.details.count)).to.deep.equal([1]);
  });
});
