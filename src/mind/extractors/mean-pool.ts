/**
 * Mean pooling: the single user vector of YouTube DNN (Covington et al., RecSys 2016, §3.1:
 * "the embedded video watches are averaged"), the project's baseline. K = 1, no parameters.
 */
import type { InterestExtractor } from './extractor.js';

export const meanPoolExtractor: InterestExtractor = {
  name: 'meanPool',
  displayName: 'YouTube DNN',
  description: 'mean of the history item vectors, one interest (YouTube DNN, Covington et al. 2016)',
  multiInterest: false,
  parameterSpecs: () => [],
  numInterests: () => 1,
  extract: (input) => ({ interests: input.historyMean(), activeK: new Int32Array(input.batchSize).fill(1) }),
};
