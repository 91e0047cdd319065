/**
 * Thumbnail URLs (GET /api/files/:id/thumbnail, /api/public/:token/thumbnail). The server makes them
 * for images, PDFs and videos; for anything else, or when it cannot, it answers 404 and the caller
 * shows the file's icon. `v` (the content's ETag) changes the URL when the content changes, so an
 * <img> already on the page loads the new picture; the server ignores it and revalidates by ETag.
 */
import type { Node } from '$lib/types';
import { appPath } from '$lib/paths';

export type ThumbnailSize = 64 | 256 | 1024;
/** Given a node and a size, its thumbnail's URL (the API for users, the link's for visitors). */
export type ThumbnailSource = (n: Node, size: ThumbnailSize) => string;

/** Whether the server may have a thumbnail of this node (it has the final word: 404 no_thumbnail). */
export function mayHaveThumbnail(n: Pick<Node, 'kind' | 'mime' | 'size'>): boolean {
  if (n.kind !== 'file' || n.size === 0) return false;
  const m = n.mime ?? '';
  return (m.startsWith('image/') && !m.includes('svg')) || m === 'application/pdf' || m.startsWith('video/');
}

export const thumbnailUrl: ThumbnailSource = (n, size) =>
  appPath(`/api/files/${encodeURIComponent(n.id)}/thumbnail?size=${size}&v=${encodeURIComponent(n.etag)}`);

/** The same for a public link's visitors. */
export const publicThumbnailUrl =
  (token: string): ThumbnailSource =>
  (n, size) =>
    appPath(
      `/api/public/${encodeURIComponent(token)}/thumbnail?id=${encodeURIComponent(n.id)}&size=${size}&v=${encodeURIComponent(n.etag)}`,
    );
