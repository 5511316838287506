import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// One config for the library build (dist/), the demo page (web/, see web/vite.config.ts) and
// the tests. WGSL files are imported with `?raw`, which Vite inlines as strings.
export default defineConfig({
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
    lib: {
      entry: {
        index: resolve(import.meta.dirname, 'src/index.ts'),
        node: resolve(import.meta.dirname, 'src/node/index.ts'),
        cli: resolve(import.meta.dirname, 'src/cli.ts'),
      },
      formats: ['es'],
    },
    rollupOptions: {
      external: [/^node:/, 'webgpu', 'commander', 'cli-progress', 'csv-parse', /^csv-parse\//, 'usearch', 'fastify', 'pg', 'hyparquet-writer'],
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The CPU Vulkan driver is itself multi-threaded; two workers keep a 2-core machine busy.
    maxWorkers: 2,
  },
});
