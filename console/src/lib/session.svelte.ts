/** The signed-in user (from /api/auth/me), shared by every page. */
import { api, ApiError } from './api';
import type { User } from './types';

export const session = $state<{ user: User | null; loaded: boolean }>({ user: null, loaded: false });

export async function refreshMe(): Promise<User | null> {
  try {
    const { user } = await api.get<{ user: User }>('/api/auth/me', { quiet401: true });
    session.user = user;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) session.user = null;
    else throw err;
  } finally {
    session.loaded = true;
  }
  return session.user;
}

export async function signOut() {
  try {
    await api.post('/api/auth/logout', undefined, { quiet401: true });
  } finally {
    session.user = null;
  }
}
