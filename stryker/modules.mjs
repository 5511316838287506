/**
 * Mutation-testing modules: for each, the source files Stryker mutates and the only test files it
 * runs against them. A module's run must fit a 2-core machine, so each lists the tests that
 * exercise its files directly (not the CLI end-to-end tests, which take minutes per mutant), and
 * each mutates the files most worth it (the math and the wiring; not argument parsing, which the
 * CLI tests cover): a whole module's 1,500 mutants take hours on two cores.
 */
export const modules = {
  serve: {
    // recommender.ts and topk.ts too with `npm run mutation -- serve-all` (about 420 mutants, over
    // an hour and a half on two shared cores).
    mutate: ['src/serve/metrics.ts', 'src/serve/retrieval.ts'],
    tests: ['test/serve/metrics.test.ts', 'test/serve/metrics-values.test.ts', 'test/serve/retrieval-values.test.ts', 'test/serve/serving.test.ts'],
  },
  'serve-all': {
    mutate: ['src/serve/metrics.ts', 'src/serve/retrieval.ts', 'src/serve/recommender.ts', 'src/serve/topk.ts'],
    tests: ['test/serve/metrics.test.ts', 'test/serve/metrics-values.test.ts', 'test/serve/retrieval-values.test.ts', 'test/serve/serving.test.ts', 'test/serve/topk.test.ts', 'test/kernels/boundaries.test.ts'],
  },
  mind: {
    mutate: ['src/mind/model.ts', 'src/mind/item-tower.ts', 'src/mind/parameters.ts'],
    tests: ['test/mind/model.test.ts', 'test/mind/wiring.test.ts'],
  },
  train: {
    mutate: ['src/train/adam.ts', 'src/train/trainer.ts', 'src/train/checkpoint.ts', 'src/train/model-files.ts', 'src/train/checkpoint-pointer.ts'],
    tests: ['test/train/checkpoint.test.ts', 'test/train/checkpoint-files.test.ts', 'test/train/checkpoint-model.test.ts', 'test/train/trainer-small.test.ts', 'test/train/resume.test.ts', 'test/train/trainer-options.test.ts', 'test/ops/adam.test.ts', 'test/ops/adam-steps.test.ts'],
  },
  // The checkpoint files (safetensors, manifest, the two files of a model, the pointer file) with
  // their CPU-only tests: not the CLI tests, not test/node/checkpoint-store (25 SIGKILLed child
  // processes, which Stryker's active mutant does not reach) and not test/train/checkpoint-model
  // (a GPU model per run: first tried, about 6 s a mutant here against well under 1 s without it).
  checkpoint: {
    mutate: ['src/train/checkpoint.ts', 'src/train/model-files.ts', 'src/train/checkpoint-pointer.ts'],
    tests: ['test/train/checkpoint.test.ts', 'test/train/checkpoint-files.test.ts'],
  },
  // The training loop alone, with test/train/trainer-small (a 4-wide model on 24 users, its
  // steps checked against the same steps by hand and its bookkeeping against a scripted
  // validation callback): trainer-options and resume train larger models several times a mutant.
  trainer: {
    mutate: ['src/train/trainer.ts'],
    tests: ['test/train/trainer-small.test.ts'],
  },
  // The optimiser alone: a quick run (the train module's 852 mutants take hours here).
  adam: {
    mutate: ['src/train/adam.ts'],
    tests: ['test/ops/adam.test.ts', 'test/ops/adam-steps.test.ts'],
  },
  data: {
    mutate: ['src/data/samplers.ts', 'src/data/batches.ts', 'src/data/sequences.ts', 'src/data/split.ts', 'src/data/vocabulary.ts', 'src/data/dataset.ts'],
    // Not movielens.test.ts (tokenizing 100k real rows under Stryker's instrumentation takes
    // minutes) nor browser-safe.test.ts (it reads the source text, which Stryker rewrites).
    tests: ['test/data/*.test.ts', '!test/data/movielens.test.ts', '!test/data/browser-safe.test.ts'],
  },
  reference: {
    mutate: ['src/reference/**/*.ts'],
    tests: ['test/kernels/*.test.ts', 'test/ops/*.test.ts'],
  },
};
