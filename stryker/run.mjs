/**
 * `npm run mutation -- [module ...]`: Stryker on each named module of stryker/modules.mjs (all of
 * them without arguments), one after the other, each with only its own test files. Reports go to
 * reports/mutation/<module>/ (HTML and JSON) and a summary line per module to the console.
 */
import { spawnSync } from 'node:child_process';
import { modules } from './modules.mjs';

const names = process.argv.slice(2);
for (const name of names) {
  if (!(name in modules)) {
    console.error(`unknown module ${name}; modules: ${Object.keys(modules).join(', ')}`);
    process.exit(2);
  }
}
let failed = false;
for (const name of names.length > 0 ? names : Object.keys(modules)) {
  const { mutate, tests } = modules[name];
  console.log(`\n=== mutation testing ${name}: ${mutate.join(' ')}\n    tests: ${tests.join(' ')}`);
  const started = Date.now();
  const run = spawnSync('npx', ['stryker', 'run', 'stryker/stryker.config.mjs', '--mutate', mutate.join(',')], {
    stdio: 'inherit',
    env: { ...process.env, STRYKER_TESTS: tests.join(','), STRYKER_MODULE: name },
  });
  console.log(`=== ${name}: exit ${run.status} after ${((Date.now() - started) / 60000).toFixed(1)} min`);
  if (run.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
