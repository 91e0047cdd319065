// A client-only single-page app: the server serves index.html for every unknown path.
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
