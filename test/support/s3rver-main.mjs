// An S3-compatible server for the tests (s3rver, from npm) in a process of its own, on loopback and
// an ephemeral port, storing under the directory given as argv[2]; prints "listening <port>".
// Started with --openssl-legacy-provider: s3rver's ListObjectsV2 continuation tokens are DES,
// which OpenSSL 3 keeps in the legacy provider (without it, every paged listing answers 500).
// s3rver 3.7.1 lacks ListMultipartUploads and AbortMultipartUpload; the middleware below adds both
// over its own layout of uploads in progress (<dir>/<bucket>/._S3rver_uploads/<uploadId>/{key,<part>…}),
// so the tests can see orphaned multipart uploads the way they would on AWS or MinIO. It also reads
// `Range: bytes=0-0` as "to the end" (an `end || Infinity`): fixed below, as a real store answers it.
// And its UploadPart leaves the part file's write stream without an error handler: a part still
// arriving when its upload is aborted (the S3 fault tests cut connections mid-part, and Coffer then
// aborts) failed to open its file in the removed directory, and the unhandled error ended the
// server and every test after it (a CI run: 123 failures, ECONNREFUSED). Replaced below by the same
// steps through stream.pipeline, so such a part fails alone, as S3 documents for parts in flight
// during an abort.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

FilesystemStore.prototype.putPart = async function (bucket, uploadId, partNumber, content) {
  const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, partNumber.toString());
  await fs.promises.mkdir(path.dirname(partPath), { recursive: true });
  const hash = crypto.createHash('md5');
  let size = 0;
  const measure = new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(content, measure, fs.createWriteStream(partPath));
  const md5 = hash.digest('hex');
  await fs.promises.writeFile(`${partPath}.md5`, md5);
  return { size, md5 };
};

const getObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function (bucket, key, options) {
  const object = await getObject.call(this, bucket, key, options);
  if (object?.content && options?.end === 0) {
    object.content.destroy();
    object.content = fs.createReadStream(this.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
    object.range = { start: 0, end: 0 };
  }
  return object;
};

const dir = process.argv[2];
const s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true });

const xml = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const uploadsDir = (bucket) => path.join(dir, bucket, '._S3rver_uploads');

async function multipartUploads(ctx, next) {
  const [, bucket, ...rest] = ctx.path.split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (ctx.method === 'GET' && bucket && !key && 'uploads' in ctx.query) {
    const prefix = String(ctx.query.prefix ?? '');
    const uploads = [];
    for (const id of fs.existsSync(uploadsDir(bucket)) ? fs.readdirSync(uploadsDir(bucket)) : []) {
      const keyFile = path.join(uploadsDir(bucket), id, 'key');
      if (!fs.existsSync(keyFile)) continue;
      const k = fs.readFileSync(keyFile, 'utf8');
      if (k.startsWith(prefix)) uploads.push({ k, id, at: fs.statSync(keyFile).mtime.toISOString() });
    }
    ctx.type = 'application/xml';
    ctx.body =
      `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      uploads
        .map((u) => `<Upload><Key>${xml(u.k)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.at}</Initiated></Upload>`)
        .join('') +
      `</ListMultipartUploadsResult>`;
    return;
  }
  if (ctx.method === 'DELETE' && bucket && key && typeof ctx.query.uploadId === 'string') {
    const upload = path.join(uploadsDir(bucket), path.basename(ctx.query.uploadId));
    if (!fs.existsSync(upload)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code></Error>';
      return;
    }
    fs.rmSync(upload, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  await next();
}

s3.middleware.unshift(multipartUploads);
const { port } = await s3.run();
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => s3.close().then(() => process.exit(0)));
