/**
 * Live view of a folder: the server announces changes to it (WebDAV, another tab, another user) as
 * Server-Sent Events. A change that arrives while the user is busy (renaming, previewing, the tab
 * hidden) is applied as soon as they are not. Returns the function that stops following.
 */
import { appPath } from '$lib/paths';
export function followFolder(
  folderId: string,
  opts: { busy: () => boolean; refresh: () => void; gone: () => void },
): () => void {
  let stale = false;
  const refreshIfIdle = () => {
    if (document.visibilityState === 'visible' && !opts.busy()) {
      stale = false;
      opts.refresh();
    } else stale = true;
  };
  const events = new EventSource(appPath(`/api/events?folder=${encodeURIComponent(folderId)}`));
  events.addEventListener('changed', refreshIfIdle);
  events.addEventListener('gone', opts.gone);
  const onVisible = () => stale && refreshIfIdle();
  document.addEventListener('visibilitychange', onVisible);
  const retry = setInterval(() => stale && refreshIfIdle(), 1000);
  return () => {
    events.close();
    document.removeEventListener('visibilitychange', onVisible);
    clearInterval(retry);
  };
}
