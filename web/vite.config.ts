/**
 * The demo page: `npm run demo` serves it, `npm run build` writes it to web/dist. It loads the
 * library's own sources, so the build also proves that everything the page pulls in runs in a
 * browser: any import of a Node built-in (or of Dawn's `webgpu` package) fails the build.
 */
import { builtinModules } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

const nodeOnly = new Set([...builtinModules, 'webgpu']);

function forbidNodeModules(): Plugin {
  return {
    name: 'forbid-node-modules',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source.startsWith('node:') || nodeOnly.has(source)) {
        this.error(`the demo page must not import the Node-only module "${source}" (imported by ${importer ?? 'the page'})`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs, so the built page works from any folder it is copied to.
  base: './',
  plugins: [forbidNodeModules()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
