import { Readable } from 'node:stream';

/** What a GetObject gave: the body and how many bytes it promised. */
export interface ObjectBody {
  body: Readable;
  length: number;
}

/**
 * A Readable of one object (or a range of it) that exists the moment `BlobStore.open` returns, as a
 * file stream does: the GetObject is sent on construction, `ready` is emitted once its response
 * has arrived (a missing object fails before a transport has answered anything), the body is read
 * as fast as the consumer reads (backpressure), and destroying the reader aborts the request.
 * A body that ends short of its Content-Length (a connection cut mid-download) is an error, never a
 * quietly truncated file.
 */
export class ObjectReader extends Readable {
  private body: Readable | null = null;
  private readonly aborter = new AbortController();

  // Not _construct: a stream being constructed defers destroy() until it is built, and a reader
  // destroyed while its request is on the way must abort that request now.
  constructor(get: (signal: AbortSignal) => Promise<ObjectBody>) {
    super({ highWaterMark: 1 << 20 });
    get(this.aborter.signal).then(
      (res) => this.attach(res),
      (err: Error) => this.destroy(err),
    );
  }

  private attach({ body, length }: ObjectBody): void {
    if (this.destroyed) return void body.destroy();
    this.body = body;
    let received = 0;
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      if (received === length) this.push(null);
      else this.destroy(new Error(`object body ended after ${received} of ${length} bytes`));
    });
    body.once('error', (err) => this.destroy(err));
    this.emit('ready');
  }

  override _read(): void {
    this.body?.resume(); // before the body has come, there is nothing to ask for: it flows once attached
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.aborter.abort();
    this.body?.destroy();
    cb(err);
  }
}
