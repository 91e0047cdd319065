/**
 * Absolute paths of this site. The console is built for the path Coffer is served under
 * (BASE_PATH, read by svelte.config.js at build time): every link, navigation and request the
 * console makes goes through here, so it works at the root of a host and under a sub-path alike.
 */
import { base } from '$app/paths';

/** "/files" → "/coffer/files" under BASE_PATH=/coffer. */
export const appPath = (path: string): string => base + path;

/** The current path without the base ("/coffer/files/x" → "/files/x"), for matching routes. */
export const routePath = (pathname: string): string =>
  base && pathname.startsWith(base) ? pathname.slice(base.length) || '/' : pathname;
