import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@threadreel/model': lib('model'),
      '@threadreel/parsers': lib('parsers'),
      '@threadreel/correlate': lib('correlate'),
      '@threadreel/analysis': lib('analysis'),
      '@threadreel/store': lib('store'),
      '@threadreel/jobs': lib('jobs'),
      '@threadreel/migrations': fileURLToPath(new URL('./migrations/index.ts', import.meta.url)),
    },
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    projects: [
      { extends: true, test: { name: 'unit', include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'] } },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
