import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite build` writes dist/, which `atelier serve` serves at `/` (packages/server/src/
// playground.ts). `vite` (dev) proxies the API to a server on ATELIER_URL (default :4000).
const api = process.env.ATELIER_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  // @atelier/sdk from its sources in the workspace (installed elsewhere: its dist/).
  resolve: {
    alias: [
      { find: /^@atelier\/sdk$/, replacement: `${import.meta.dirname}/../sdk/src/index.ts` },
      { find: /^@atelier\/sdk\/react$/, replacement: `${import.meta.dirname}/../sdk/src/react.ts` },
    ],
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      '/media': { target: api, changeOrigin: true },
    },
  },
});
