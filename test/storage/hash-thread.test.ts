/**
 * The checksums of uploads staged to a temp file come from the hashing thread reading the file
 * behind the writer (storage/hash-thread.ts): they must be those of the body, for every size, for
 * uploads staged at once, and a failure must fail the upload instead of naming it wrongly.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { LocalDiskBlobStore } from '../../storage/index.js';
import { FileHashing, hashingsInFlight } from '../../storage/hash-thread.js';

const MiB = 1024 * 1024;
const LIMIT = 64 * 1024;
const hex = (algorithm: string, b: Buffer) => createHash(algorithm).update(b).digest('hex');

/** `bytes` in chunks of `chunk` bytes, each a turn of the event loop apart (as a socket delivers them). */
function body(bytes: Buffer, chunk: number): Readable {
  let at = 0;
  return new Readable({
    read() {
      setImmediate(() => this.push(at >= bytes.length ? null : bytes.subarray(at, (at += chunk))));
    },
  });
}

describe('checksums of staged uploads (the hashing thread)', () => {
  let root: string;
  let store: LocalDiskBlobStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-hashing-'));
    store = new LocalDiskBlobStore(root);
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    expect(hashingsInFlight()).to.equal(0);
  });

  it('gives sha256, sha1 and md5 of the body, in memory, across the limit and in a file', async () => {
    for (const [size, chunk] of [
      [0, 1],
      [LIMIT, 4096],
      [LIMIT + 1, 4096],
      [3 * MiB + 17, 65536],
      [9 * MiB, 1 << 20],
    ] as const) {
      const bytes = randomBytes(size);
      for (const memoryLimit of [LIMIT, undefined]) {
        const staged =
          memoryLimit === undefined
            ? await store.stage(body(bytes, chunk))
            : await store.stage(body(bytes, chunk), { memoryLimit });
        expect(staged, `${size} ${memoryLimit}`).to.include({
          size,
          hash: hex('sha256', bytes),
          sha1: hex('sha1', bytes),
          md5: hex('md5', bytes),
        });
        await store.discard(staged);
      }
    }
  });

  it('keeps the checksums of uploads staged at once apart', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(i * 300_000 + 70_000));
    const staged = await Promise.all(
      bodies.map((b, i) => store.stage(body(b, 16384 * (1 + (i % 4))), { memoryLimit: LIMIT })),
    );
    staged.forEach((s, i) =>
      expect(s, `${i}`).to.include({ hash: hex('sha256', bodies[i]!), md5: hex('md5', bodies[i]!) }),
    );
    await Promise.all(staged.map((s) => store.discard(s)));
  });

  it('starts no hashing for a body that fails while its first bytes are being written to the file', async () => {
    // The first write to the temp file starts the hashing; a body failing while that write is under
    // way used to start it after the failure had dropped it — a job nobody ended, keeping the thread
    // (and the process) up. Failing after 0..40 turns of the event loop crosses that window.
    for (let turns = 0; turns <= 40; turns++) {
      let sent = false;
      const failing = new Readable({
        read() {
          if (!sent) {
            sent = true;
            return void this.push(randomBytes(LIMIT + 1));
          }
          let left = turns;
          const later = () => (left-- > 0 ? setImmediate(later) : this.destroy(new Error('client went away')));
          later();
        },
      });
      let err: unknown;
      await store.stage(failing, { memoryLimit: LIMIT }).catch((e) => (err = e));
      expect((err as Error)?.message).to.equal('client went away');
      expect(hashingsInFlight(), `after ${turns} turns`).to.equal(0);
    }
  });

  it('fails, never answers a wrong checksum, when the file holds less than was written to it', async () => {
    const file = path.join(root, 'short');
    fs.writeFileSync(file, randomBytes(1000));
    const hashing = new FileHashing(file);
    hashing.written(1000);
    let err: unknown;
    await hashing.finish(5000).catch((e) => (err = e));
    expect((err as Error)?.message).to.match(/ends at byte 1000, before 5000/);
  });

  it('fails when the file cannot be opened', async () => {
    let err: unknown;
    await new FileHashing(path.join(root, 'missing')).finish(0).catch((e) => (err = e));
    expect((err as Error)?.message).to.match(/ENOENT/);
  });

  it('drops the hashing of a body that fails midway, and the next upload is hashed right', async () => {
    const bytes = randomBytes(2 * MiB);
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= MiB) return void this.destroy(new Error('client went away'));
        this.push(bytes.subarray(sent, (sent += 65536)));
      },
    });
    let err: unknown;
    await store.stage(failing, { memoryLimit: LIMIT }).catch((e) => (err = e));
    expect((err as Error)?.message).to.equal('client went away');
    const staged = await store.stage(body(bytes, 65536), { memoryLimit: LIMIT });
    expect(staged.hash).to.equal(hex('sha256', bytes));
    await store.discard(staged);
  });
});
