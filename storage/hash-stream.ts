import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** The sha256 and length of what a stream yields (BlobStore.verify: re-hashing a stored blob). */
export async function hashStream(stream: Readable): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}
