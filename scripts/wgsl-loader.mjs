// Node module hooks so that TypeScript sources run directly under tsx can import WGSL the way
// Vite does: `import source from './x.wgsl?raw'` gives the file's text. Used by `npm run mind`,
// `npm run bench` and the CLI tests; the built package (dist/) has the text inlined instead.
import { register } from 'node:module';

register('./wgsl-hooks.mjs', import.meta.url);
