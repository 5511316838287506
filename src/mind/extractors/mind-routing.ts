/**
 * MIND's behaviour-to-interest (B2I) dynamic routing (Li et al., CIKM 2019, §4.3; SPEC §1):
 * one shared bilinear map S `[d, d]`, Gaussian initial logits, K_b = max(1, min(K,
 * floor(log2 len))) active interests with config.dynamicK. The fused kernel is
 * src/mind/ops/routing.ts.
 */
import { activeInterestCount, b2iRouting } from '../ops/routing.js';
import type { HistoryInput, InterestExtractor, RoutingOutput } from './extractor.js';
import { normal } from './init.js';

function route(input: HistoryInput): RoutingOutput {
  const { config, training } = input;
  const behaviors = input.behaviors();
  // Training wants fresh logits per sample (SPEC 1.3); serving a draw no row can change.
  const draw = training ? { seed: training.seed, initDraw: 'perSample' as const } : { seed: config.seed, initDraw: 'shared' as const };
  const capsules = b2iRouting(behaviors, input.lengthsTensor(), input.param('routing.bilinear'), {
    kMax: config.kMax,
    iterations: config.iterations,
    initStd: config.initStd,
    ...draw,
    softmaxOver: config.softmaxOver,
    dynamicK: config.dynamicK,
    gradient: config.routingGradient,
  });
  const activeK = config.dynamicK ? activeInterestCount(input.lengths, config.kMax) : new Int32Array(input.batchSize).fill(config.kMax);
  return { behaviors, capsules, activeK };
}

export const mindExtractor: InterestExtractor = {
  name: 'mind',
  displayName: 'MIND',
  description: "B2I dynamic routing with a shared bilinear map (MIND, Li et al. 2019)",
  multiInterest: true,
  // The name predates the registry: checkpoints store the tensor as 'routing.bilinear'.
  parameterSpecs: (config) => [{ name: 'routing.bilinear', shape: [config.dim, config.dim], embedding: false, init: normal(1 / Math.sqrt(config.dim)) }],
  numInterests: (config) => config.kMax,
  extract: (input) => {
    const { capsules, activeK } = route(input);
    return { interests: capsules, activeK };
  },
  routing: route,
};
