/**
 * A real S3-compatible server for the tests: s3rver (npm) in a child process on loopback (see
 * s3rver-main.mjs), a fresh bucket per Coffer, and an SDK client to look into it. One server per
 * test process is shared (`sharedS3Server`); a test that stops its store starts its own.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver's built-in account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MAIN = path.join(path.dirname(new URL(import.meta.url).pathname), 's3rver-main.mjs');

export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  /** Where s3rver keeps its buckets. */
  readonly dir: string;
  readonly client: S3Client;
  /** Creates a bucket with a name no other test uses. */
  newBucket(): Promise<string>;
  /** The environment of a Coffer whose blobs live in `bucket` under `prefix` (`endpoint` to go through a proxy). */
  env(bucket: string, opts?: { prefix?: string; endpoint?: string }): Record<string, string>;
  /** Multipart uploads in progress in the bucket (ListMultipartUploads). */
  multipartUploads(bucket: string): Promise<{ key: string; uploadId: string }[]>;
  /** Kills the server (its data stays until `remove`). */
  stop(): Promise<void>;
  remove(): void;
}

export async function startS3Server(): Promise<S3TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
  });
  // Neither the child nor its pipe keeps the test process alive; it is killed when the process exits.
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    port,
    dir,
    client,
    async newBucket() {
      const bucket = `t-${randomUUID()}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    env: (bucket, opts = {}) => ({
      BLOB_STORE: `s3://${bucket}/${opts.prefix ?? 'blobs'}`,
      S3_ENDPOINT: opts.endpoint ?? endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    }),
    async multipartUploads(bucket) {
      const res = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (res.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      kill();
      await exited;
      process.off('exit', kill);
    },
    remove() {
      client.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<S3TestServer> | undefined;

/** The test process's S3 server, started on first use. */
export function sharedS3Server(): Promise<S3TestServer> {
  shared ??= startS3Server().then((s) => {
    process.once('exit', () => fs.rmSync(s.dir, { recursive: true, force: true }));
    return s;
  });
  return shared;
}

/** Whether this run keeps blobs in S3 (TEST_BLOB_STORE=s3): the whole suite then runs on the S3 store. */
export const onS3 = process.env.TEST_BLOB_STORE === 's3';

/** For a test that keeps the local disk on the S3 pass: says so, and why, in the run's output. */
export function sayLocalDiskOnS3(why: string): void {
  if (onS3) console.log(`      (TEST_BLOB_STORE=s3: this test keeps the local disk: ${why})`);
}
