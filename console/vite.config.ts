import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

// `vite dev` proxies the API and the drive to a Coffer started with `npm run dev` (PORT, default 8080).
const target = `http://127.0.0.1:${process.env.COFFER_PORT ?? 8080}`;

export default defineConfig({
  plugins: [tailwindcss(), sveltekit()],
  server: { proxy: { '/api': target, '/dav': target } },
});
