/**
 * Stryker configuration shared by every module (see stryker/run.mjs): the vitest runner on
 * stryker/vitest.config.ts, per-test coverage so a mutant runs only the tests that reach it, and
 * static mutants (module-level constants, which would re-run every test) ignored.
 */
const module = process.env.STRYKER_MODULE ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'stryker/vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  // Error-message texts are checked by the CLI tests, which no module run includes (minutes per
  // mutant); mutating them here would only list survivors those tests kill. STRYKER_STRINGS=1
  // mutates them too.
  mutator: { excludedMutations: process.env.STRYKER_STRINGS === '1' ? [] : ['StringLiteral'] },
  dryRunTimeoutMinutes: 30,
  // Added to each mutant's expected test time: most time-outs are loops a mutant made endless.
  // STRYKER_TIMEOUT_MS lowers it for modules of fast CPU-only tests, where every endless loop
  // would otherwise cost half a minute.
  timeoutMS: Number(process.env.STRYKER_TIMEOUT_MS ?? 30_000),
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${module}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${module}/mutation.json` },
  // Re-runs test only the mutants whose code or tests changed since the module's last run.
  incremental: true,
  incrementalFile: `reports/mutation/${module}/incremental.json`,
  // One sandbox directory per module, so that two modules can run at once.
  tempDirName: `.stryker-tmp/${module}`,
  cleanTempDir: 'always',
  ignorePatterns: ['.stryker-tmp', 'runs', 'bench/out', 'test/out', 'dist', 'reports', 'scratch', 'mind-model', 'web/dist'],
  thresholds: { high: 90, low: 80, break: null },
};
