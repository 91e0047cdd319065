/** How the console tells how an API call went: a toast for what the user asked for, a message where a load failed. */
import { toast, toastError } from './toast.svelte';

/**
 * Runs one thing the user asked for (revoke, restore, set a quota…): a `success` toast when it works,
 * the server's message in an error toast (after `failure`, when given) when it does not. `reload`
 * runs either way, so the page shows what the server holds now, even after a half-done change.
 * Resolves to whether it worked, for the caller's own follow-up.
 */
export async function attempt(
  action: () => Promise<unknown>,
  { success, failure, reload }: { success?: string; failure?: string; reload?: () => Promise<void> } = {},
): Promise<boolean> {
  let worked = false;
  try {
    await action();
    worked = true;
    if (success) toast(success, 'success');
  } catch (err) {
    toastError(err, failure);
  }
  await reload?.();
  return worked;
}

/**
 * Loads what a page or dialog shows. Resolves to the message to show in its place: the error's,
 * or '' once a load works (a later success clears an earlier failure).
 */
export async function loadError(load: () => Promise<void>): Promise<string> {
  try {
    await load();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}
