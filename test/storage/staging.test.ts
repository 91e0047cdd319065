/**
 * Staging with a memory limit (storage/local-disk.ts): a body that ends within the limit comes back
 * in memory and creates no file; one that passes it is written to the temp file from that moment,
 * holding no more than the limit in memory; a failed body leaves nothing behind either way.
 */
import { hash as digest } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { expect } from 'chai';
import { BlobTooLarge, LocalDiskBlobStore } from '../../storage/index.js';
import { feed } from '../../storage/staging-sink.js';
import { hashingsInFlight } from '../../storage/hash-thread.js';
import { patternChunk, sha256 } from '../support/store.js';

const LIMIT = 5000;

/** A body in chunks of 700 bytes; `failAfter` bytes in, it errors instead of ending. */
function body(bytes: Buffer, failAfter?: number): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && at >= failAfter) return void this.destroy(new Error('client went away'));
      if (at >= bytes.length) return void this.push(null);
      this.push(bytes.subarray(at, (at += 700)));
    },
  });
}

describe('staging a blob with a memory limit (LocalDiskBlobStore.stage)', () => {
  let root: string;
  let store: LocalDiskBlobStore;
  const tmp = () => fs.readdirSync(path.join(root, 'tmp'));
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-staging-'));
    store = new LocalDiskBlobStore(root);
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
    // A hashing left behind would keep its thread (and the process) up, and a descriptor open in it.
    expect(hashingsInFlight()).to.equal(0);
  });

  it('keeps a body of up to the limit in memory, with its checksums, and creates no file', async () => {
    for (const size of [0, 1, LIMIT - 1, LIMIT]) {
      const bytes = patternChunk(size + 1, size);
      const staged = await store.stage(body(bytes), { memoryLimit: LIMIT });
      expect(staged.tempPath, `${size}`).to.equal(null);
      expect(staged.bytes!.equals(bytes), `${size}`).to.equal(true);
      expect(staged).to.include({ size, hash: sha256(bytes) });
      expect(tmp()).to.deep.equal([]);
    }
  });

  it('writes a body past the limit to the temp file, all of it, and places it in the store', async () => {
    const bytes = patternChunk(7, LIMIT + 1);
    const staged = await store.stage(body(bytes), { memoryLimit: LIMIT });
    if (staged.tempPath === null) throw new Error('a body past the limit must go to a temp file');
    expect(staged.bytes).to.equal(null);
    expect(fs.readFileSync(staged.tempPath).equals(bytes)).to.equal(true);
    await store.place(staged);
    expect(fs.readFileSync(store.pathOf(sha256(bytes))).equals(bytes)).to.equal(true);
    expect(tmp()).to.deep.equal([]);
  });

  it('a body whose maxBytes is within the limit: read into memory with all three checksums', async () => {
    for (const size of [0, 1, LIMIT]) {
      const bytes = patternChunk(size + 3, size);
      const staged = await store.stage(body(bytes), { memoryLimit: LIMIT, maxBytes: LIMIT });
      expect(staged.tempPath, `${size}`).to.equal(null);
      expect(staged.bytes!.equals(bytes), `${size}`).to.equal(true);
      expect(staged).to.deep.include({
        size,
        hash: sha256(bytes),
        sha1: digest('sha1', bytes),
        md5: digest('md5', bytes),
      });
    }
    const consumed = Readable.from([]);
    consumed.resume();
    await new Promise((resolve) => consumed.once('end', resolve));
    expect((await store.stage(consumed, { memoryLimit: LIMIT, maxBytes: LIMIT })).size).to.equal(0);
    expect(tmp()).to.deep.equal([]);
  });

  it('a body past such a maxBytes: BlobTooLarge, and the body is left paused, not destroyed (the transport answers on it)', async () => {
    const over = body(patternChunk(5, LIMIT + 700));
    const err = await store.stage(over, { memoryLimit: LIMIT, maxBytes: LIMIT }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BlobTooLarge);
    expect(over.destroyed).to.equal(false);
    expect(over.isPaused()).to.equal(true);
    expect(over.listenerCount('data') + over.listenerCount('end') + over.listenerCount('close')).to.equal(0);
    expect(tmp()).to.deep.equal([]);
  });

  it('a body within such a maxBytes that fails, closes before its end, or is already destroyed: rejected', async () => {
    const limits = { memoryLimit: LIMIT, maxBytes: LIMIT };
    const failing = await store.stage(body(patternChunk(9, 3000), 1400), limits).catch((e: unknown) => e);
    expect(String(failing)).to.match(/client went away/);
    const cut = new Readable({ read() {} });
    cut.push(Buffer.from('partial'));
    setTimeout(() => cut.destroy(), 5);
    expect(String(await store.stage(cut, limits).catch((e: unknown) => e))).to.match(/before it was complete/);
    const gone = new Readable({ read() {} });
    gone.destroy();
    expect(String(await store.stage(gone, limits).catch((e: unknown) => e))).to.match(/before it was complete/);
    expect(tmp()).to.deep.equal([]);
  });

  it('without a limit, writes even an empty body to a file (as before)', async () => {
    const staged = await store.stage(body(Buffer.alloc(0)));
    expect(fs.statSync(staged.tempPath).size).to.equal(0);
    await store.discard(staged);
    expect(tmp()).to.deep.equal([]);
  });

  it('leaves nothing behind when the body fails, in memory or after the spill', async () => {
    for (const failAfter of [2100, LIMIT + 2000]) {
      let err: unknown;
      await store.stage(body(patternChunk(9, 3 * LIMIT), failAfter), { memoryLimit: LIMIT }).catch((e) => (err = e));
      expect((err as Error)?.message, `${failAfter}`).to.equal('client went away');
      expect(tmp(), `${failAfter}`).to.deep.equal([]);
    }
  });

  it('leaves nothing behind when the body fails while the temp file is being created', async () => {
    // The chunk that passes the limit starts the file; the body fails before it exists. The file
    // used to be created after the cleanup had run, and stayed in tmp/ counted by no upload.
    for (let round = 0; round < 20; round++) {
      let sent = false;
      const failing = new Readable({
        read() {
          if (sent) return void this.destroy(new Error('client went away'));
          sent = true;
          this.push(patternChunk(round, LIMIT + 1));
        },
      });
      let err: unknown;
      await store.stage(failing, { memoryLimit: LIMIT }).catch((e) => (err = e));
      expect((err as Error)?.message).to.equal('client went away');
      await new Promise((r) => setTimeout(r, 20)); // room for a file created late to appear
      expect(tmp(), `round ${round}`).to.deep.equal([]);
    }
  });
});

describe('feeding a body into a sink (feed: what stageBody uses instead of stream.pipeline)', () => {
  /** A sink that takes each chunk after a timer and accepts little at a time (backpressure). */
  const slowSink = () => {
    const got: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 1000,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk);
        setTimeout(cb, 1);
      },
    });
    return { sink, got };
  };

  it('passes every chunk, in order, through a slow sink, and shows each to inspect first', async () => {
    const bytes = patternChunk(7, 20_000);
    const { sink, got } = slowSink();
    let seen = 0;
    await feed(body(bytes), sink, (chunk) => void (seen += chunk.length));
    expect(Buffer.concat(got).equals(bytes)).to.equal(true);
    expect(seen).to.equal(bytes.length);
  });

  it('stops at the first chunk inspect refuses: rejects with its error, both streams destroyed', async () => {
    const source = body(patternChunk(8, 20_000));
    const { sink, got } = slowSink();
    let n = 0;
    const err = await feed(source, sink, () => {
      if (++n === 3) throw new Error('too long');
    }).catch((e: unknown) => e);
    expect(String(err)).to.match(/too long/);
    expect(got.length).to.equal(2);
    expect(source.destroyed && sink.destroyed).to.equal(true);
  });

  it('rejects a body that fails or closes before its end, and one already destroyed', async () => {
    const failing = await feed(body(patternChunk(9, 5000), 1400), slowSink().sink, () => {}).catch((e: unknown) => e);
    expect(String(failing)).to.match(/client went away/);
    const cut = new Readable({ read() {} });
    cut.push(Buffer.from('partial'));
    setTimeout(() => cut.destroy(), 5);
    expect(String(await feed(cut, slowSink().sink, () => {}).catch((e: unknown) => e))).to.match(
      /before it was complete/,
    );
    const gone = new Readable({ read() {} });
    gone.destroy();
    expect(String(await feed(gone, slowSink().sink, () => {}).catch((e: unknown) => e))).to.match(
      /before it was complete/,
    );
  });

  it('ends the sink for a body that has already ended (nothing left to read)', async () => {
    const done = Readable.from([]);
    done.resume();
    await new Promise((resolve) => done.once('end', resolve));
    const { sink, got } = slowSink();
    await feed(done, sink, () => {});
    expect(sink.writableFinished).to.equal(true);
    expect(got).to.deep.equal([]);
  });
});
