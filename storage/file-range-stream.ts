/**
 * A blob file's bytes (all, or an inclusive range) as a Readable that, like fs.createReadStream,
 * emits `ready` once the file is open and `error` (ENOENT) when it is missing.
 *
 * Why not fs.createReadStream. It reads every chunk into a new buffer. A buffer's memory lives
 * outside V8's heap and goes back only when a collection finds the buffer dead; with the small young
 * generation `npm start` runs with (`--max-semi-space-size=2`, for memory), buffers waiting in the
 * socket's queue outlive it and only full mark-compacts — started by the external memory's growth —
 * free them: 16 of ~20 ms each during one 512 MiB download (`--trace-gc`), half the throughput.
 *
 * So when it is piped straight into an HTTP response or a socket, it sends from a small pool of
 * reused buffers instead: a buffer is read into again only after the write's callback, which a
 * socket calls once the kernel has the bytes (a TLS socket once they are encrypted). Anything else
 * (a Transform that may pass the very buffer on, `for await`, `data` listeners) gets a new buffer
 * per chunk, as before: only a sink that has let go of the bytes when it calls back may share.
 */
import fs from 'node:fs';
import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';

const CHUNK = 1024 * 1024;
/** Writes one download may have in flight: one buffer on its way to the kernel while the next is read. */
const IN_FLIGHT = 2;
/** Free buffers kept for the next download (4 MiB at most); more are made when downloads run at once. */
const KEPT = 4;
const spare: Buffer[] = [];

/** A sink whose write callback means it no longer holds the chunk (see above). */
function letsGoOnCallback(dest: unknown): dest is Writable {
  return dest instanceof ServerResponse || dest instanceof Socket;
}

export class FileRangeStream extends Readable {
  private fd: number | null = null;
  private pos: number;
  /** The last byte to send (inclusive); null: to the end of the file. */
  private readonly last: number | null;
  /** The sink the pooled send writes into, while it runs. */
  private target: Writable | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly file: string,
    range?: { start: number; end: number },
  ) {
    super({ highWaterMark: CHUNK });
    this.pos = range?.start ?? 0;
    this.last = range ? range.end : null;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    fs.open(this.file, 'r', (err, fd) => {
      if (err) return callback(err);
      this.fd = fd;
      callback();
      this.emit('ready');
    });
  }

  override _read(): void {
    if (this.target) return; // the pooled send owns the position
    const want = this.remaining();
    if (want === 0) return void this.push(null);
    const buf = Buffer.allocUnsafeSlow(want);
    this.readInto(buf, want).then(
      (n) => this.push(n === 0 ? null : n < want ? buf.subarray(0, n) : buf),
      (err: Error) => this.destroy(err),
    );
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T {
    if (!letsGoOnCallback(dest) || this.target || this.readableDidRead || this.readableFlowing !== null)
      return super.pipe(dest, opts);
    this.target = dest;
    dest.emit('pipe', this);
    this.send(dest, opts?.end !== false).catch((err: Error) => this.destroy(err));
    return dest;
  }

  override unpipe(dest?: NodeJS.WritableStream): this {
    if (this.target && (dest === undefined || dest === this.target)) {
      this.target = null;
      this.wake?.();
      return this;
    }
    return super.unpipe(dest);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.target = null;
    this.wake?.();
    if (this.fd === null) return callback(err);
    const fd = this.fd;
    this.fd = null;
    fs.close(fd, (closeErr) => callback(err ?? closeErr));
  }

  private async send(dest: Writable, end: boolean): Promise<void> {
    let inFlight = 0;
    const stopped = () => this.target !== dest || this.destroyed || dest.destroyed;
    const onClose = () => this.wake?.();
    dest.once('close', onClose);
    try {
      if (this.fd === null) await new Promise((resolve) => this.once('ready', resolve).once('close', resolve));
      for (;;) {
        while (inFlight >= IN_FLIGHT && !stopped()) await new Promise<void>((resolve) => (this.wake = resolve));
        if (stopped()) return;
        const want = this.remaining();
        if (want === 0) break;
        const buf = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
        const n = await this.readInto(buf, want);
        if (n === 0) break;
        if (stopped()) return;
        inFlight++;
        dest.write(n < CHUNK ? buf.subarray(0, n) : buf, (err) => {
          inFlight--;
          // After an error the write may still be with the kernel: that buffer is not reused.
          if (!err && spare.length < KEPT) spare.push(buf);
          this.wake?.();
        });
      }
      this.target = null;
      if (end) dest.end();
      // No chunk went through the Readable side: ending it now emits `end`, then `close` (fd closed).
      this.push(null);
      this.resume();
    } finally {
      dest.off('close', onClose);
      this.wake = null;
    }
  }

  /** Bytes still to send (up to a chunk; for a whole file, a chunk until the end is found). */
  private remaining(): number {
    return this.last === null ? CHUNK : Math.max(0, Math.min(CHUNK, this.last - this.pos + 1));
  }

  /**
   * Reads the next `want` bytes into `buf`; 0 at the end of a whole file. A range the file ends
   * inside of is an error: the blob is shorter than its metadata says, and a response that quietly
   * ends short would pass for the whole file.
   */
  private readInto(buf: Buffer, want: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.fd === null) return reject(new Error('the blob file is closed'));
      fs.read(this.fd, buf, 0, want, this.pos, (err, n) => {
        if (err) return reject(err);
        if (n === 0 && this.last !== null)
          return reject(new Error(`blob file ${this.file} ends at byte ${this.pos}, before ${this.last + 1}`));
        this.pos += n;
        resolve(n);
      });
    });
  }
}
