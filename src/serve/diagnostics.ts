/**
 * Per-interest diagnostics of a multi-interest retriever (MIND, SPEC §1, §4, §5): are the
 * interests each a good retriever for their own part of the history, or copies of one another?
 * Pure functions over what serving produces (interest vectors, each interest's own top-N list,
 * the pooled list) and over routing weights; `mind diagnose` gathers those inputs
 * (src/serve/diagnose.ts) and prints these numbers.
 *
 * Averages are over users, each user weighted equally (as SPEC §5's recall), over the users for
 * whom a quantity is defined; each result says how many users that was, and a mean over no user
 * is null. In the arguments, "slot j" is interest index j of the `[B, K, d]` interest tensor;
 * slot j of a user is active when j < K_b.
 */

/** Mean and population standard deviation of a set of values, and how many there were. */
export interface Spread {
  count: number;
  /** null when count is 0. */
  mean: number | null;
  /** Population standard deviation (divided by count); null when count is 0. */
  std: number | null;
}

function spread(values: number[]): Spread {
  if (values.length === 0) return { count: 0, mean: null, std: null };
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { count: values.length, mean, std: Math.sqrt(variance) };
}

function meanOrNull(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, v) => a + v, 0) / values.length;
}

function checkActiveK(op: string, activeK: ArrayLike<number>, kMax: number): void {
  if (!Number.isInteger(kMax) || kMax < 1) throw new RangeError(`${op}: kMax must be an integer ≥ 1, got ${kMax}`);
  for (let u = 0; u < activeK.length; u++) {
    if (!Number.isInteger(activeK[u]) || activeK[u] < 0 || activeK[u] > kMax) {
      throw new RangeError(`${op}: activeK[${u}] = ${activeK[u]} is outside [0, kMax] = [0, ${kMax}]`);
    }
  }
}

export interface InterestNorms {
  /** `[kMax]`: ‖V_j‖ over the users whose slot j is active. */
  perInterest: Spread[];
  /** ‖V_j‖ over every active interest of every user. */
  overall: Spread;
  /**
   * Mean over users with at least two active interests of max_j ‖V_j‖ / min_j ‖V_j‖ (active j):
   * how far one interest dominates the max-over-interests serving score by length alone.
   * Infinity when such a user has an interest of norm 0; null when no user has two interests.
   */
  maxMinRatio: number | null;
  /** Users counted in maxMinRatio. */
  ratioUsers: number;
}

/**
 * Norms of the interest vectors. `vectors` is V `[U, kMax, dim]` f32 (row-major, the serving
 * interests after the user DNN), `activeK` `[U]` the active count K_u of each user; only slots
 * j < K_u are read. Throws a RangeError naming the argument when kMax or dim is not an integer
 * ≥ 1, an activeK entry is outside [0, kMax], or `vectors` is not U·kMax·dim long.
 */
export function interestNorms(vectors: ArrayLike<number>, activeK: ArrayLike<number>, kMax: number, dim: number): InterestNorms {
  checkActiveK('interestNorms', activeK, kMax);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`interestNorms: dim must be an integer ≥ 1, got ${dim}`);
  const users = activeK.length;
  if (vectors.length !== users * kMax * dim) {
    throw new RangeError(`interestNorms: vectors must hold U·kMax·dim = ${users}·${kMax}·${dim} = ${users * kMax * dim} values, got ${vectors.length}`);
  }
  const bySlot: number[][] = Array.from({ length: kMax }, () => []);
  const all: number[] = [];
  const ratios: number[] = [];
  for (let u = 0; u < users; u++) {
    const norms: number[] = [];
    for (let j = 0; j < activeK[u]; j++) {
      let sq = 0;
      for (let c = 0; c < dim; c++) sq += vectors[(u * kMax + j) * dim + c] ** 2;
      norms.push(Math.sqrt(sq));
    }
    norms.forEach((norm, j) => bySlot[j].push(norm));
    all.push(...norms);
    if (norms.length >= 2) ratios.push(Math.max(...norms) / Math.min(...norms));
  }
  return { perInterest: bySlot.map(spread), overall: spread(all), maxMinRatio: meanOrNull(ratios), ratioUsers: ratios.length };
}

/**
 * Recall@n of one ranked list: distinct targets among its first `n` entries over |targets|
 * (each target credited once, SPEC §5). Negative ids (no item) never hit.
 */
function listRecall(list: ArrayLike<number>, targets: Set<number>, n: number): number {
  const hits = new Set<number>();
  for (let r = 0; r < Math.min(n, list.length); r++) if (targets.has(list[r])) hits.add(list[r]);
  return hits.size / targets.size;
}

function checkN(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: n must be an integer ≥ 1, got ${n}`);
}

export interface SlotRecall {
  /** Users with targets whose slot j is active. */
  users: number;
  /** Mean recall@n of slot j's own list over those users; null without users. */
  recall: number | null;
  /** Mean oracle recall@n over the same users, so that recall ≤ oracle slot by slot. */
  oracle: number | null;
}

export interface InterestRecall {
  /** Users with targets (the others are not counted, as in SPEC §5's recall). */
  users: number;
  /** `[kMax]`: each slot's own list alone. */
  perInterest: SlotRecall[];
  /** Mean over users of the mean over the user's active interests of their own list's recall. */
  meanInterest: number | null;
  /** Recall@n of the pooled list (SPEC §5 pooling, what evaluation scores). */
  pooled: number | null;
  /** Recall@n of the best single interest's list, chosen per user knowing the targets. */
  oracle: number | null;
}

/**
 * Retrieval quality of each interest alone, of the pooled list and of the per-user best
 * interest, at cut-off `n`.
 *
 * `lists[u][j]`: user u's slot j's own ranked item ids, best first, for each active j (K_u
 * lists; negative ids mean no item, as retrievePerInterest pads); `pooled[u]`: user u's pooled
 * ranked ids (poolInterests); `targets[u]`: user u's held-out items. Users without targets are
 * skipped. Throws a RangeError naming the argument when n is not an integer ≥ 1, kMax is not
 * an integer ≥ 1 or below a user's list count, or the three arrays differ in length.
 */
export function interestRecall(lists: ArrayLike<number>[][], pooled: ArrayLike<number>[], targets: Set<number>[], n: number, kMax: number): InterestRecall {
  checkN('interestRecall', n);
  checkActiveK('interestRecall', lists.map((l) => l.length), kMax);
  if (pooled.length !== lists.length || targets.length !== lists.length) {
    throw new RangeError(`interestRecall: lists, pooled and targets must hold one entry per user, got ${lists.length}, ${pooled.length} and ${targets.length}`);
  }
  const slotRecall: number[][] = Array.from({ length: kMax }, () => []);
  const slotOracle: number[][] = Array.from({ length: kMax }, () => []);
  const means: number[] = [];
  const pooledRecall: number[] = [];
  const oracle: number[] = [];
  lists.forEach((perInterest, u) => {
    const truth = targets[u];
    if (truth.size === 0) return;
    const recalls = perInterest.map((list) => listRecall(list, truth, n));
    pooledRecall.push(listRecall(pooled[u], truth, n));
    // A user without an active interest retrieves nothing.
    const best = recalls.length === 0 ? 0 : Math.max(...recalls);
    oracle.push(best);
    if (recalls.length > 0) means.push(recalls.reduce((a, r) => a + r, 0) / recalls.length);
    recalls.forEach((r, j) => {
      slotRecall[j].push(r);
      slotOracle[j].push(best);
    });
  });
  return {
    users: oracle.length,
    perInterest: slotRecall.map((r, j) => ({ users: r.length, recall: meanOrNull(r), oracle: meanOrNull(slotOracle[j]) })),
    meanInterest: meanOrNull(means),
    pooled: meanOrNull(pooledRecall),
    oracle: meanOrNull(oracle),
  };
}

export interface Contributions {
  /** `[kMax]`: share of all pooled items (over every user's first n) that slot j retrieved; sums to 1. */
  items: number[];
  /** `[kMax]`: share of all pooled hits (targets credited once) that slot j retrieved; sums to 1; null without hits. */
  hits: number[] | null;
  /** Pooled items and hits counted. */
  itemCount: number;
  hitCount: number;
}

/**
 * Which interests the pooled list is made of: for every user's pooled list (first `n` entries of
 * `pooled[u].ids`, `pooled[u].interest` the slot that gave each its score, as poolInterests
 * returns), the share of all listed items, and of all hits on `targets[u]`, that came from each
 * slot. Shares are over all users' items together (a user with a longer list weighs more),
 * so they sum to 1. An interest that contributes much less than 1/K_b of the items is dominated
 * by the others in the max-score pooling. Throws a RangeError naming the argument for a bad n
 * or kMax, a slot index outside [0, kMax), or pooled and targets of different lengths.
 */
export function pooledContributions(pooled: { ids: ArrayLike<number>; interest: ArrayLike<number> }[], targets: Set<number>[], n: number, kMax: number): Contributions {
  checkN('pooledContributions', n);
  if (!Number.isInteger(kMax) || kMax < 1) throw new RangeError(`pooledContributions: kMax must be an integer ≥ 1, got ${kMax}`);
  if (targets.length !== pooled.length) throw new RangeError(`pooledContributions: targets must hold one set per pooled list (${pooled.length}), got ${targets.length}`);
  const items = new Array<number>(kMax).fill(0);
  const hits = new Array<number>(kMax).fill(0);
  let itemCount = 0;
  let hitCount = 0;
  pooled.forEach(({ ids, interest }, u) => {
    const credited = new Set<number>();
    for (let r = 0; r < Math.min(n, ids.length); r++) {
      const j = interest[r];
      if (!Number.isInteger(j) || j < 0 || j >= kMax) throw new RangeError(`pooledContributions: pooled[${u}].interest[${r}] = ${j} is outside [0, kMax) = [0, ${kMax})`);
      items[j]++;
      itemCount++;
      if (targets[u].has(ids[r]) && !credited.has(ids[r])) {
        credited.add(ids[r]);
        hits[j]++;
        hitCount++;
      }
    }
  });
  return {
    items: items.map((c) => (itemCount === 0 ? 0 : c / itemCount)),
    hits: hitCount === 0 ? null : hits.map((c) => c / hitCount),
    itemCount,
    hitCount,
  };
}

/**
 * Jaccard overlap |A ∩ B| / |A ∪ B| of the item sets of two lists' first `n` entries (negative
 * ids ignored); two empty sets count as identical (1).
 */
function jaccard(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  const setOf = (list: ArrayLike<number>) => new Set(Array.from(list).slice(0, n).filter((id) => id >= 0));
  const A = setOf(a);
  const B = setOf(b);
  let common = 0;
  for (const id of A) if (B.has(id)) common++;
  const union = A.size + B.size - common;
  return union === 0 ? 1 : common / union;
}

/**
 * How much the interests' own lists repeat each other: per user with at least two active
 * interests, the mean over pairs j < k of the Jaccard overlap of lists[u][j] and lists[u][k]
 * (first `n` ids, negative ids ignored), then the mean over those users (`jaccard`, null when
 * there are none; `users` of them). 1 means every interest retrieves the same items, 0 that no
 * two share one. Throws a RangeError naming n when it is not an integer ≥ 1.
 */
export function interestOverlap(lists: ArrayLike<number>[][], n: number): { jaccard: number | null; users: number } {
  checkN('interestOverlap', n);
  const perUser: number[] = [];
  for (const perInterest of lists) {
    if (perInterest.length < 2) continue;
    let sum = 0;
    let pairs = 0;
    for (let j = 0; j < perInterest.length; j++) {
      for (let k = j + 1; k < perInterest.length; k++) {
        sum += jaccard(perInterest[j], perInterest[k], n);
        pairs++;
      }
    }
    perUser.push(sum / pairs);
  }
  return { jaccard: meanOrNull(perUser), users: perUser.length };
}

/** One user's routing weights of the last iteration (SPEC §1.4). */
export interface UserRoutingWeights {
  /** len_u: behaviours 0..length-1 are valid. */
  length: number;
  /** K_u: interests 0..activeK-1 are active. */
  activeK: number;
  /** w `[≥ activeK][≥ length]`: w[j][i] ≥ 0, interest j's weight on behaviour i; other entries are not read. */
  w: ArrayLike<number>[];
}

export interface RoutingEntropy {
  /**
   * Mean over behaviours of the entropy of the behaviour's distribution over the active
   * interests (w[·][i] normalised to sum 1), divided by log K_u; mean over users with K_u ≥ 2.
   * Near 1: every behaviour is spread evenly over the interests, so every z_j = Σ_i w[j,i] ê_i is
   * nearly the same average of the history (collapsed interests); near 0: every behaviour is
   * routed to one interest (a clustering of the history). Null without such users.
   */
  behaviour: number | null;
  behaviourUsers: number;
  /**
   * Mean over active interests of the entropy of the interest's distribution over the valid
   * behaviours (w[j][·] normalised to sum 1), divided by log len_u; mean over users with
   * len_u ≥ 2. Near 1: the interest averages the whole history; low: it attends to a few items.
   */
  interest: number | null;
  /** exp of that (unnormalised) entropy, averaged the same way: how many behaviours an interest effectively reads. */
  effectiveBehaviours: number | null;
  /** Mean len_u of the users counted in interest and effectiveBehaviours, to read effectiveBehaviours against. */
  meanLength: number | null;
  interestUsers: number;
}

/** Shannon entropy (natural log) of `weights` normalised to sum 1, 0·log 0 = 0; null when they sum to 0. */
function entropy(weights: number[]): number | null {
  const total = weights.reduce((a, v) => a + v, 0);
  if (!(total > 0)) return null;
  let h = 0;
  for (const v of weights) if (v > 0) h -= (v / total) * Math.log(v / total);
  return h;
}

/**
 * Entropies of the routing weights w of the last routing iteration, one UserRoutingWeights per
 * user (see RoutingEntropy for each number). Each distribution is normalised before its
 * entropy, so both SPEC softmax axes ('interests': columns already sum to 1; 'behaviors': rows
 * do) are read the same way. A distribution whose weights sum to 0 is skipped. Throws a
 * RangeError naming the user when length or activeK is not an integer ≥ 0 or exceeds the
 * weights given.
 */
export function routingEntropy(users: UserRoutingWeights[]): RoutingEntropy {
  const behaviour: number[] = [];
  const interest: number[] = [];
  const effective: number[] = [];
  const lengths: number[] = [];
  users.forEach(({ length, activeK, w }, u) => {
    if (!Number.isInteger(activeK) || activeK < 0 || activeK > w.length) {
      throw new RangeError(`routingEntropy: users[${u}].activeK = ${activeK} is outside [0, ${w.length}] (the rows of w)`);
    }
    for (let j = 0; j < activeK; j++) {
      if (!Number.isInteger(length) || length < 0 || length > w[j].length) {
        throw new RangeError(`routingEntropy: users[${u}].length = ${length} is outside [0, ${w[j].length}] (the columns of w[${j}])`);
      }
    }
    if (activeK >= 2) {
      const perBehaviour: number[] = [];
      for (let i = 0; i < length; i++) {
        const h = entropy(Array.from({ length: activeK }, (_, j) => w[j][i]));
        if (h !== null) perBehaviour.push(h / Math.log(activeK));
      }
      const mean = meanOrNull(perBehaviour);
      if (mean !== null) behaviour.push(mean);
    }
    if (length >= 2) {
      const hs: number[] = [];
      for (let j = 0; j < activeK; j++) {
        const h = entropy(Array.from(w[j]).slice(0, length));
        if (h !== null) hs.push(h);
      }
      if (hs.length > 0) {
        interest.push(hs.reduce((a, h) => a + h / Math.log(length), 0) / hs.length);
        effective.push(hs.reduce((a, h) => a + Math.exp(h), 0) / hs.length);
        lengths.push(length);
      }
    }
  });
  return {
    behaviour: meanOrNull(behaviour),
    behaviourUsers: behaviour.length,
    interest: meanOrNull(interest),
    effectiveBehaviours: meanOrNull(effective),
    meanLength: meanOrNull(lengths),
    interestUsers: interest.length,
  };
}
