/**
 * Resumable uploads for large files, over the server's tus endpoints (/api/uploads, or a link's
 * /api/public/<token>/uploads) with tus-js-client. A dropped connection is retried (retryDelays);
 * while the browser is offline the upload waits for it to come back; and tus-js-client remembers
 * each unfinished upload in localStorage (by file name, type, size, modification time and
 * endpoint), so choosing the same file again after a reload continues where it stopped.
 * Cancelling terminates the upload on the server (its bytes and reserved room go at once).
 */
import { Upload, type DetailedError } from 'tus-js-client';
import { CSRF } from './api';
import { appPath } from './paths';

/** Files at least this large go through tus; smaller ones are one PUT (uploads.svelte.ts). */
export const RESUMABLE_MIN_BYTES = 8 * 1024 * 1024;
/**
 * Bytes per PATCH. The server keeps what arrives of a chunk cut off, but not every interruption cuts
 * the request (Chromium lets one finish when it goes offline): the next chunk is where it stops.
 */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface ResumableEvents {
  onProgress(loaded: number, total: number): void;
  /** The server already held `offset` bytes of it (after a reload, or a dropped connection). */
  onResumed(offset: number): void;
  /** Offline: waiting for the network to come back (true), or going on (false). */
  onWaiting(waiting: boolean): void;
}

export interface ResumableUpload {
  /** Resolves with the new file's id once the last byte is committed. */
  done: Promise<string | null>;
  /** Stops and terminates the upload on the server. */
  cancel(): Promise<void>;
}

/**
 * Starts (or resumes) uploading `file` to `endpoint` (a path under the app, e.g. "/api/uploads")
 * with the tus metadata the server reads: parentId, name, overwrite.
 */
export function uploadResumable(
  file: File,
  endpoint: string,
  metadata: Record<string, string>,
  events: ResumableEvents,
): ResumableUpload {
  let resolve!: (id: string | null) => void;
  let reject!: (err: Error) => void;
  const done = new Promise<string | null>((res, rej) => ((resolve = res), (reject = rej)));
  let cancelled = false;
  let resumeWhenOnline: (() => void) | null = null;
  const upload: Upload = new Upload(file, {
    endpoint: new URL(appPath(endpoint), location.href).href,
    metadata: { ...metadata, filetype: file.type },
    headers: { ...CSRF },
    chunkSize: CHUNK_BYTES,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
    removeFingerprintOnSuccess: true,
    onShouldRetry: (err: DetailedError) => {
      const status = err.originalResponse?.getStatus() ?? 0;
      const chunk = err.originalRequest?.getMethod() === 'PATCH';
      // A refusal stands (4xx, a full quota's 507), except a chunk's stale offset (409), a lock (423)
      // and a server or proxy briefly unable to answer; offline, onError waits for the network instead.
      const passing =
        status === 0 || status === 423 || (chunk && status === 409) || [500, 502, 503, 504].includes(status);
      return navigator.onLine && passing;
    },
    onAfterResponse: (req, res) => {
      if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
        const offset = Number(res.getHeader('Upload-Offset'));
        if (offset > 0) events.onResumed(offset);
      }
    },
    onProgress: (loaded, total) => events.onProgress(loaded, total),
    onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Coffer-File-Id') ?? null),
    onError: (err) => {
      if (cancelled) return;
      if (!navigator.onLine) {
        events.onWaiting(true);
        resumeWhenOnline = () => {
          resumeWhenOnline = null;
          events.onWaiting(false);
          upload.start();
        };
        window.addEventListener('online', resumeWhenOnline, { once: true });
        return;
      }
      reject(serverMessage(err));
    },
  });
  void upload
    .findPreviousUploads()
    .then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]!);
      upload.start();
    })
    .catch((err: Error) => reject(err));
  return {
    done,
    async cancel() {
      cancelled = true;
      if (resumeWhenOnline) window.removeEventListener('online', resumeWhenOnline);
      await upload.abort(true).catch(() => {});
      reject(new DOMException('The upload was cancelled', 'AbortError'));
    },
  };
}

/** A failed upload: the server's JSON error message when there is one, and the HTTP status (0: no answer). */
export class ResumableError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function serverMessage(err: Error | DetailedError): ResumableError {
  const response = 'originalResponse' in err ? err.originalResponse : null;
  let message = err.message;
  try {
    const body = response?.getBody();
    message = (body && (JSON.parse(body) as { error?: { message?: string } }).error?.message) || message;
  } catch {
    // not JSON: keep tus-js-client's message
  }
  return new ResumableError(message, response?.getStatus() ?? 0);
}
