import { hash, randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { BlobTooLarge, type StagedBlob } from './blob-store.js';
import { FileHashing, type FileSums } from './hash-thread.js';

/**
 * BlobStore.stage for every store: the body goes to a temp file in `tmpDir` (or memory, within
 * `memoryLimit`), and its sha256, sha1 and md5 are taken — from the bytes held in memory, or by the
 * hashing thread reading the temp file behind the writer (hash-thread.ts). `fsync` makes the temp
 * file durable before the promise resolves (the local store renames it into place; the S3 store
 * only reads it back, so it need not).
 */
export async function stageBody(
  tmpDir: string,
  body: Readable,
  opts: { maxBytes?: number; memoryLimit?: number },
  fsync: boolean,
): Promise<StagedBlob> {
  const limit = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  if (opts.memoryLimit !== undefined && limit <= opts.memoryLimit) {
    const bytes = await readWithin(body, limit);
    return { ...sumsOf(bytes), size: bytes.length, bytes, tempPath: null };
  }
  let size = 0;
  let hashing: FileHashing | null = null;
  const tempPath = path.join(tmpDir, `${randomUUID()}.part`);
  const sink = new StagingSink(tempPath, opts.memoryLimit, (bytes) =>
    (hashing ??= new FileHashing(tempPath)).written(bytes),
  );
  let sums: FileSums;
  try {
    if (opts.memoryLimit === undefined) await sink.open();
    await feed(body, sink, (chunk) => {
      size += chunk.length;
      if (size > limit) throw new BlobTooLarge(limit);
    });
    const [fromFile] = await Promise.all([(hashing as FileHashing | null)?.finish(size), sink.finish(fsync)]);
    sums = fromFile ?? sumsOf(sink.bytes ?? Buffer.alloc(0));
  } catch (err) {
    await sink.abandon(); // first: a write still under way could otherwise start a hashing after the drop
    (hashing as FileHashing | null)?.drop();
    throw err;
  }
  const bytes = sink.bytes;
  return bytes ? { ...sums, size, bytes, tempPath: null } : { ...sums, size, bytes: null, tempPath };
}

function sumsOf(bytes: Buffer): FileSums {
  // crypto.hash, one call per digest: no Hash object per algorithm (Node ≥ 20.12).
  return { hash: hash('sha256', bytes, 'hex'), sha1: hash('sha1', bytes, 'hex'), md5: hash('md5', bytes, 'hex') };
}

/** Why a body that closed before its end failed: its own error, when it has one. */
function endedEarly(body: Readable): Error {
  return body.errored ?? new Error('The body ended before it was complete');
}

/**
 * A body that can only ever be held in memory (its limit within the memory limit), read straight
 * into it: no sink, no file and no stream plumbing, which a small upload paid for although it could
 * never need them. Unlike feed(), it never destroys `body` — a transport still answers on that
 * connection (a body over the limit is left paused and unread) — so callers need no stream between
 * them and the store to shield it. Fails as feed() does: BlobTooLarge past `limit`, the body's own
 * error, or a body that closes before its end.
 */
function readWithin(body: Readable, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      detach();
      body.pause();
      reject(new BlobTooLarge(limit));
    };
    const onEnd = () => {
      detach();
      resolve(Buffer.concat(chunks, size)); // a copy even of one chunk: it may be a view into a larger socket buffer
    };
    const onError = (err: Error) => {
      detach();
      reject(err);
    };
    const onClose = () => {
      detach();
      reject(endedEarly(body));
    };
    if (body.readableEnded) return resolve(Buffer.alloc(0)); // consumed to its end before it came here
    if (body.destroyed) return reject(endedEarly(body));
    body.on('end', onEnd).on('error', onError).on('close', onClose).on('data', onData); // 'data' last: it starts the flow
  });
}

/**
 * `body` into `sink`, each chunk shown to `inspect` first (which may throw to stop), with
 * backpressure; settles once the sink has finished. On the first failure — `inspect`'s, either
 * stream's error, or a body that closes before its end — both streams are destroyed, as
 * stream.pipeline would. Not stream.pipeline itself: per call it builds an AbortController and at the
 * end aborts it with a DOMException (a stack capture), ~3% of a small upload's CPU with the extra
 * Transform it needed for the hashes (profile of PUT 4 KiB).
 */
export function feed(body: Readable, sink: Writable, inspect: (chunk: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const fail = (err: unknown) => {
      detach();
      body.destroy();
      sink.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onData = (chunk: Buffer) => {
      try {
        inspect(chunk);
      } catch (err) {
        return fail(err);
      }
      if (!sink.write(chunk)) body.pause();
    };
    const onEnd = () => {
      ended = true;
      sink.end();
    };
    // The sink's first: a body that has already ended needs only those.
    const listeners: [NodeJS.EventEmitter, string, Parameters<NodeJS.EventEmitter['on']>[1]][] = [
      [sink, 'error', fail],
      [
        sink,
        'finish',
        () => {
          detach();
          resolve();
        },
      ],
      [sink, 'drain', () => body.resume()],
      [body, 'error', fail],
      [
        body,
        'close',
        () => {
          if (!ended) fail(endedEarly(body));
        },
      ],
      [body, 'end', onEnd],
      [body, 'data', onData],
    ];
    const detach = () => listeners.forEach(([emitter, event, fn]) => emitter.off(event, fn));
    if (body.readableEnded) {
      listeners.slice(0, 2).forEach(([emitter, event, fn]) => emitter.on(event, fn));
      return onEnd(); // consumed to its end before it came here: only the (empty) end is left to pass on
    }
    if (body.destroyed) return fail(endedEarly(body));
    listeners.forEach(([emitter, event, fn]) => emitter.on(event, fn)); // 'data' last: it starts the flow
  });
}

/**
 * Where a body being staged goes: memory while it fits in `memoryLimit` bytes, else the temp file,
 * which is created the moment the body passes the limit and gets what was held in memory first.
 * With no limit the file is opened before the first byte, as for any large upload. `finish()`
 * fsyncs (when asked) and closes the file; `abandon()` removes whatever was written.
 */
export class StagingSink extends Writable {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private handle: fsp.FileHandle | null = null;
  private opened = false;
  private opening: Promise<void> | null = null;
  private abandoned = false;
  private fileBytes = 0;

  /** `fileWritten` is told the temp file's length after each write to it. */
  constructor(
    readonly tempPath: string,
    private readonly memoryLimit: number | undefined,
    private readonly fileWritten?: (bytes: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  /** Opens the temp file now (no memory limit: every byte goes there). */
  open(): Promise<void> {
    this.opening ??= fsp.open(this.tempPath, 'wx', 0o600).then((h) => {
      this.handle = h;
      this.opened = true;
    });
    return this.opening;
  }

  /** The whole body, when it never left memory; null when it went to the temp file. */
  get bytes(): Buffer | null {
    return this.opened ? null : Buffer.concat(this.held, this.heldBytes);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.take([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.take(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  private async take(chunks: Buffer[]): Promise<void> {
    if (!this.opened) {
      const n = chunks.reduce((sum, c) => sum + c.length, 0);
      if (this.memoryLimit !== undefined && this.heldBytes + n <= this.memoryLimit) {
        this.held.push(...chunks);
        this.heldBytes += n;
        return;
      }
      await this.open();
      if (this.abandoned) return; // failed while the file was being created: abandon() removes it
      chunks = [...this.held, ...chunks];
      this.held = [];
      this.heldBytes = 0;
    }
    const handle = this.handle!;
    const total = chunks.reduce((sum, c) => sum + c.length, 0);
    let { bytesWritten } = await handle.writev(chunks);
    if (bytesWritten < total) {
      // One writev may write less than asked (a signal, the disk filling up): the rest follows.
      const rest = Buffer.concat(chunks, total);
      while (bytesWritten < total) {
        const n = (await handle.write(rest, bytesWritten)).bytesWritten;
        if (n === 0) throw new Error(`the temp file ${this.tempPath} took no more bytes`);
        bytesWritten += n;
      }
    }
    this.fileBytes += total;
    if (!this.abandoned) this.fileWritten?.(this.fileBytes);
  }

  /** The body has ended: makes the temp file durable (`fsync`) and closes it. */
  async finish(fsync: boolean): Promise<void> {
    if (!this.handle) return;
    if (fsync) await this.handle.sync();
    await this.handle.close();
    this.handle = null;
  }

  /**
   * After a failure: closes and removes the temp file, if there is one — also one still being
   * created when the body failed (its bytes would otherwise stay in tmp/, counted by no upload).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.held = [];
    await this.opening?.catch(() => {});
    await this.handle?.close().catch(() => {}); // after any write in progress (FileHandle.close waits for it)
    this.handle = null;
    if (this.opened) await fsp.rm(this.tempPath, { force: true });
  }
}

/** Removes what a crash left in a temp directory: entries last written before the cutoff. */
export async function sweepTempDir(dir: string, olderThanMs: number): Promise<number> {
  let removed = 0;
  for (const name of await readdirSafe(dir)) {
    const p = path.join(dir, name);
    const s = await fsp.stat(p).catch(() => null);
    if (s && s.mtimeMs < olderThanMs) {
      await fsp.rm(p, { force: true, recursive: true });
      removed++;
    }
  }
  return removed;
}

export async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
