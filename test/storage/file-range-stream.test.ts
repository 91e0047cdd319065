/**
 * Blob files as streams (storage/file-range-stream.ts): piped into an HTTP response they are sent
 * from reused buffers, so what must hold is that no buffer is read into again while a client can
 * still receive its old bytes — slow clients, several downloads at once, ranges; and that every
 * other consumer still gets buffers of its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { once } from 'node:events';
import { expect } from 'chai';
import { FileRangeStream } from '../../storage/file-range-stream.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Served {
  url: string;
  streams: FileRangeStream[];
  close(): Promise<void>;
}

/** Serves `files[name]` at /name, honouring `?start=&end=`, by piping a FileRangeStream into the response. */
async function serve(dir: string): Promise<Served> {
  const streams: FileRangeStream[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const start = u.searchParams.get('start');
    const end = u.searchParams.get('end');
    const range = start !== null && end !== null ? { start: Number(start), end: Number(end) } : undefined;
    const stream = new FileRangeStream(path.join(dir, u.pathname.slice(1)), range);
    streams.push(stream);
    stream.once('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.once('ready', () => stream.pipe(res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Downloads, pausing `pauseMs` after each chunk (a client slower than the disk: the socket queue fills). */
function download(url: string, pauseMs = 0): Promise<{ status: number; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (pauseMs > 0) {
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
        });
        const finish = () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), complete: res.complete });
        res.once('end', finish);
        res.once('aborted', finish);
        res.once('error', finish);
      })
      .once('error', reject);
  });
}

describe('blob files as streams (FileRangeStream)', () => {
  let dir: string;
  let server: Served;
  const files: Record<string, Buffer> = {};
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-file-range-'));
    for (const [name, size] of [
      ['a', 9 * MiB + 123],
      ['b', 7 * MiB + 5],
      ['c', 3 * MiB],
      ['small', 1000],
      ['empty', 0],
    ] as const) {
      files[name] = randomBytes(size);
      fs.writeFileSync(path.join(dir, name), files[name]);
    }
    server = await serve(dir);
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends a whole file intact to a client slower than the disk', async () => {
    const got = await download(`${server.url}/a`, 2);
    expect(got.complete).to.equal(true);
    expect(sha(got.body)).to.equal(sha(files.a!));
  });

  it('keeps downloads that run at once apart (they share the buffer pool)', async () => {
    const names = ['a', 'b', 'c', 'a', 'b', 'small', 'empty'];
    const got = await Promise.all(names.map((n, i) => download(`${server.url}/${n}`, i % 3)));
    got.forEach((g, i) => {
      expect(g.complete, names[i]).to.equal(true);
      expect(sha(g.body), names[i]).to.equal(sha(files[names[i]!]!));
    });
  });

  it('sends exactly the bytes of a range, across chunk boundaries', async () => {
    for (const [start, end] of [
      [0, 0],
      [1000, 5 * MiB + 3],
      [MiB - 1, MiB],
      [9 * MiB, 9 * MiB + 122],
    ] as const) {
      const got = await download(`${server.url}/a?start=${start}&end=${end}`, 1);
      expect(got.body.equals(files.a!.subarray(start, end + 1)), `${start}-${end}`).to.equal(true);
    }
  });

  it('cuts the response when the file ends inside the range (a blob shorter than its metadata)', async () => {
    const size = files.c!.length;
    const got = await download(`${server.url}/c?start=0&end=${size + 5 * MiB}`);
    expect(got.complete).to.equal(false);
    const stream = server.streams.at(-1)!;
    if (!stream.destroyed) await once(stream, 'close');
    expect(stream.errored?.message).to.match(/ends at byte/);
  });

  it('stops and closes the file when the client goes away mid-download', async () => {
    const fdsBefore = fs.readdirSync('/proc/self/fd').length;
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${server.url}/a`, (res) => {
          res.once('data', () => {
            res.destroy();
            resolve();
          });
        })
        .once('error', reject);
    });
    const stream = server.streams.at(-1)!;
    if (!stream.closed) await once(stream, 'close');
    await sleep(50);
    expect(fs.readdirSync('/proc/self/fd').length).to.be.at.most(fdsBefore);
  });

  it('gives any other consumer buffers of its own (a sink that keeps chunks sees them unchanged)', async () => {
    // A Writable that keeps every chunk as is and calls back at once: a reused buffer would change
    // under it. Piped through a PassThrough too, which passes the very chunk on.
    for (const through of [false, true]) {
      const kept: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          kept.push(chunk);
          cb();
        },
      });
      const stream = new FileRangeStream(path.join(dir, 'a'));
      if (through) stream.pipe(new PassThrough()).pipe(sink);
      else stream.pipe(sink);
      await once(sink, 'finish');
      expect(sha(Buffer.concat(kept)), `through=${through}`).to.equal(sha(files.a!));
    }
    const chunks: Buffer[] = [];
    for await (const c of new FileRangeStream(path.join(dir, 'b'), { start: 10, end: 7 * MiB }))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(files.b!.subarray(10, 7 * MiB + 1))).to.equal(true);
  });

  it('fails with ENOENT for a missing file, before any byte', async () => {
    const stream = new FileRangeStream(path.join(dir, 'nope'));
    const [err] = (await once(stream, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    expect(err.code).to.equal('ENOENT');
  });
});
