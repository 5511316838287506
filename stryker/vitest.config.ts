/**
 * The vitest configuration Stryker runs: the project's, restricted to the test files of the module
 * under mutation (STRYKER_TESTS, a comma-separated list of globs, `!glob` to leave files out, set
 * by stryker/run.mjs). Replaced, not merged: mergeConfig would append to the project's include.
 */
import { configDefaults, defineConfig } from 'vitest/config';
import base from '../vite.config.js';

const tests = process.env.STRYKER_TESTS;
if (!tests) throw new Error('STRYKER_TESTS is not set: run mutation testing through `npm run mutation -- <module>`');
const globs = tests.split(',');

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: globs.filter((g) => !g.startsWith('!')),
    exclude: [...configDefaults.exclude, ...globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1))],
  },
});
