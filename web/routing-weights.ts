/**
 * The routing weights behind one served user's capsules, for the capsule view: which history
 * items each interest gathered, and how strongly. The GPU routing kernel returns only the
 * capsules, so the page replays the same routing (SPEC §1) for that one user in float64 with
 * src/reference/routing.ts, from exactly the inputs the served routing uses: the history's item
 * vectors, the model's bilinear map S and the model's serving draw of initial logits (the
 * 'shared' draw keyed by seed, interest and position, read once from the GPU). One user with
 * L ≤ a few hundred items and d ≤ 256 takes well under a millisecond on the CPU.
 */
import { sampleInitialLogits } from '../src/mind/ops/routing.js';
import type { MindModel } from '../src/mind/model.js';
import { routingStatesReference } from '../src/reference/routing.js';

/** One user's replayed routing: the last iteration's weights and the capsules they built. */
export interface RoutingReplay {
  /** Routed capsules active for this user (K_b of SPEC 1.2). */
  activeK: number;
  /** `w[j][i]`: weight of history item i (oldest first) in capsule j, for j < activeK, i < history length. */
  weights: number[][];
  /** `u[j]`: capsule j `[d]` (before the user DNN), for j < activeK. */
  capsules: number[][];
}

/** The per-model inputs of the replay: read from the GPU once, reused for every update. */
export class RoutingReplayer {
  private constructor(
    private readonly model: MindModel,
    private readonly window: number,
    /** `[dIn, d]` routing.bilinear. */
    private readonly bilinear: Float32Array,
    /** `[kMax, window]` the serving draw of initial logits. */
    private readonly initialLogits: Float32Array,
  ) {}

  /**
   * Reads the model's bilinear map and its serving draw of initial logits for `window` (L)
   * positions. Throws an Error when the model does not route (encoder 'meanPool'), and as
   * sampleInitialLogits for a bad seed.
   */
  static async create(model: MindModel, window: number): Promise<RoutingReplayer> {
    const { ctx, config } = model;
    if (config.extractor !== 'mind') throw new Error(`RoutingReplayer: the model's extractor is '${config.extractor}', it has no B2I routing to replay`);
    const S = model.params.get('routing.bilinear');
    if (!S) throw new Error('RoutingReplayer: the model has no routing.bilinear parameter');
    const bilinear = (await S.read()) as Float32Array;
    const initialLogits = (await ctx.tidy(() =>
      sampleInitialLogits(ctx, { batch: 1, kMax: config.kMax, length: window, seed: config.seed, initStd: config.initStd, initDraw: 'shared' }).read(),
    )) as Float32Array;
    return new RoutingReplayer(model, window, bilinear, initialLogits);
  }

  /**
   * Replays the routing of one user: `historyVectors` `[len, d]` f32, the item vectors of the
   * user's window (its last `window` items, oldest first, as the Recommender takes them), row i
   * item i. Returns the weights and capsules of SPEC §1 with the model's kMax, iterations,
   * softmaxOver and dynamicK. Throws a RangeError naming `historyVectors` when its length is not
   * len·d for some len ≤ window.
   */
  replay(historyVectors: Float32Array): RoutingReplay {
    const { config } = this.model;
    const d = config.dim;
    const L = this.window;
    const len = historyVectors.length / d;
    if (!Number.isInteger(len) || len > L) {
      throw new RangeError(`RoutingReplayer.replay: historyVectors must hold len·${d} values with len ≤ ${L}, got ${historyVectors.length}`);
    }
    const E = new Float64Array(L * d);
    E.set(historyVectors);
    const [state] = routingStatesReference({
      E,
      lengths: [len],
      S: this.bilinear,
      b0: this.initialLogits,
      B: 1,
      L,
      dIn: d,
      d,
      kMax: config.kMax,
      iterations: config.iterations,
      softmaxOver: config.softmaxOver,
      dynamicK: config.dynamicK,
    });
    return {
      activeK: state.activeK,
      weights: state.w.slice(0, state.activeK).map((row) => row.slice(0, len)),
      capsules: state.u.slice(0, state.activeK),
    };
  }
}
