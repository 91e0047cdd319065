import { CSRF, errorFrom } from '$lib/api';

/**
 * PUTs a file with upload progress (fetch reports none), as the public link page uploads; resolves
 * with the JSON answer, rejects with the API's error.
 */
export function putFile<T = unknown>(url: string, file: File, onProgress: (percent: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('X-Requested-With', CSRF['X-Requested-With']);
    xhr.upload.onprogress = (e) => onProgress(e.total ? (e.loaded / e.total) * 100 : 0);
    xhr.onload = async () => {
      if (xhr.status < 300) return resolve((xhr.responseText ? JSON.parse(xhr.responseText) : null) as T);
      reject(
        await errorFrom(
          new Response(xhr.responseText, { status: xhr.status, headers: { 'content-type': 'application/json' } }),
        ),
      );
    };
    xhr.onerror = () => reject(new Error('Network error'));
    xhr.send(file);
  });
}
