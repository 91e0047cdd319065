/** The signed-in user (from /api/auth/me), shared by every page. */
import { api, ApiError, currentSessionEpoch, sessionChanged } from './api';
import type { User } from './types';

export const session = $state<{ user: User | null; loaded: boolean }>({ user: null, loaded: false });

/** After a sign-in (or sign-up): this user, and the shell reloads /me (with the bin size). */
export function signedIn(user: User): void {
  sessionChanged();
  session.user = user;
  session.loaded = false;
}

/** After the session ended here (signed out, or every session ended): nobody is signed in. */
export function signedOut(): void {
  sessionChanged();
  session.user = null;
}

/** Asks who is signed in; an answer that a sign-in or sign-out made stale changes nothing. */
export async function refreshMe(): Promise<User | null> {
  const epoch = currentSessionEpoch();
  const current = () => epoch === currentSessionEpoch();
  try {
    const { user } = await api.get<{ user: User }>('/api/auth/me', { quiet401: true });
    if (current()) session.user = user;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
    if (current()) session.user = null;
  } finally {
    if (current()) session.loaded = true;
  }
  return session.user;
}

export async function signOut() {
  try {
    await api.post('/api/auth/logout', undefined, { quiet401: true });
  } finally {
    signedOut();
  }
}
