import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * The console is a static single-page app served by the Coffer process (server/api/static.ts).
 * It is built for the path Coffer is served under: BASE_PATH at build time ("/coffer", or unset for
 * the root). The server refuses to serve a build made for another base (it says how to rebuild).
 */
const base = (process.env.BASE_PATH ?? '').replace(/\/+$/, '');

export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: false }),
    paths: { base, relative: false },
    output: { bundleStrategy: 'split' },
  },
};
