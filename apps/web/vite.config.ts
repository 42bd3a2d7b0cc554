import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const fromHere = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: fromHere('.'),
  // Relative asset URLs: the UI works wherever the API mounts it (routing is hash-based).
  base: './',
  resolve: {
    alias: {
      '@threadreel/model': fromHere('../../libs/model/src/index.ts'),
    },
  },
  build: {
    outDir: fromHere('../../dist/web'),
    emptyOutDir: true,
    // ECharts (core + heatmap, tooltip, dataZoom, visualMap) is ~540 kB minified even
    // tree-shaken; it is a lazily loaded chunk used by the capture page only.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
