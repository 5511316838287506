/**
 * How well the interest capsules recover planted interests (synthetic data only).
 *
 * For each held-out user and each active interest, the top-n items that interest retrieves on
 * its own are labelled with their planted category. Purity is the share of the most common
 * category among them, averaged over interests; coverage is the share of the user's planted
 * interests that are the majority category of at least one capsule, averaged over users.
 * A single-vector model that mixes interests scores low on coverage for multi-interest users.
 */
import type { HeldOutSet } from '../data/batches.js';
import type { SyntheticTruth } from '../data/synthetic.js';
import type { MindModel } from '../mind/model.js';
import { retrievePerInterest } from './retrieval.js';

export interface CapsulePurity {
  purity: number;
  coverage: number;
  /** Mean number of active interests per user. */
  meanActiveInterests: number;
}

export async function capsulePurity(model: MindModel, users: HeldOutSet, truth: SyntheticTruth, n = 20): Promise<CapsulePurity> {
  const lists = await retrievePerInterest(model, users, n);
  let puritySum = 0;
  let capsules = 0;
  let coverageSum = 0;
  lists.forEach((perInterest, u) => {
    const majorities = new Set<number>();
    for (const { ids } of perInterest) {
      const counts = new Map<number, number>();
      let total = 0;
      for (const id of ids) {
        if (id < 0) continue;
        const c = truth.itemCategory[id];
        counts.set(c, (counts.get(c) ?? 0) + 1);
        total++;
      }
      if (total === 0) continue;
      const [majority, count] = [...counts.entries()].reduce((a, b) => (b[1] > a[1] || (b[1] === a[1] && b[0] < a[0]) ? b : a));
      majorities.add(majority);
      puritySum += count / total;
      capsules++;
    }
    const planted = truth.userInterests[users.users[u]].categories;
    let covered = 0;
    for (const c of planted) if (majorities.has(c)) covered++;
    coverageSum += covered / planted.length;
  });
  return {
    purity: capsules === 0 ? 0 : puritySum / capsules,
    coverage: lists.length === 0 ? 0 : coverageSum / lists.length,
    meanActiveInterests: lists.length === 0 ? 0 : capsules / lists.length,
  };
}
