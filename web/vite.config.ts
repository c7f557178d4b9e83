import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by `vite build web` (root = this folder) into web/dist, which obmen serves itself
// (src/api/static.ts). `vite web` runs a dev server that forwards the API to a local obmen.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { '/api': process.env.OBMEN_API_URL ?? 'http://127.0.0.1:8080' },
  },
});
