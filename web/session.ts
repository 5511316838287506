/**
 * The interactive serving session: a loaded model on the page's GPU, answering one user whose
 * history the visitor builds click by click. Each update re-runs only the user tower for that
 * one user (the Recommender: routing + DNN + per-interest top-k, SPEC §4-5, the same code and
 * serving routing draw as `mind recommend`, so the lists are equal), then replays the routing in
 * float64 for its weights (routing-weights.ts) and places everything on the items' 2-D
 * projection (projection.ts). The item vectors are computed once per model.
 *
 * Serving-time settings: K, the most routed interests, 1..the trained kMax (the weights do not
 * depend on K: the bilinear map and the DNN are shared by every capsule, so a smaller K is the
 * same model with fewer capsules to route into); dynamic K (SPEC 1.2's K_b = log2 of the
 * history length, or all K); and p, the label-aware attention power (SPEC §2). p is a training
 * knob: serving ranks by the best interest (SPEC §4), so p never changes the list; the page
 * shows what it does change, how label-aware attention would split each recommended item over
 * the interests.
 */
import { type Context, createContext } from '../src/autograd/context.js';
import { type MindConfig, resolveConfig } from '../src/mind/config.js';
import { MindModel } from '../src/mind/model.js';
import { attentionWeights } from '../src/reference/label-attention.js';
import { Recommender, type ServedRecommendation } from '../src/serve/recommender.js';
import { allItemVectors } from '../src/serve/retrieval.js';
import type { LoadedModel } from './model-io.js';
import { ItemProjection } from './projection.js';
import { type RoutingReplay, RoutingReplayer } from './routing-weights.js';

/** What the visitor sets at serving time. */
export interface ServingSettings {
  /** Most routed interests, 1..the trained kMax. */
  k: number;
  dynamicK: boolean;
  /** Label-aware attention power p ≥ 0 (Infinity: hard attention). */
  p: number;
  /** List length N, 1..256. */
  n: number;
}

/** Everything one update shows. */
export interface SessionUpdate {
  /** The history the model saw: the last L items, oldest first. */
  window: number[];
  recommendation: ServedRecommendation;
  /** `[activeK, d]` the interest vectors that retrieved the list (after the DNN). */
  interests: Float32Array;
  /** Index of the first routed capsule among the interests (1 with a global interest, else 0). */
  firstRouted: number;
  routing: RoutingReplay;
  /** Per recommended item, label-aware attention over the active interests at power p. */
  attention: number[][];
  /** GPU kernel time of the update from timestamp queries, when the adapter has them. */
  gpuMs?: number;
  /** Wall time of the update, GPU calls and read-backs included. */
  wallMs: number;
}

/** The model built for one (K, dynamic K) choice, with its Recommender and routing replay. */
interface Served {
  key: string;
  model: MindModel;
  recommender: Recommender;
  replayer: RoutingReplayer;
}

function itemRows(items: Float32Array, ids: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  for (let r = 0; r < ids.length; r++) out.set(items.subarray(ids[r] * d, (ids[r] + 1) * d), r * d);
  return out;
}

export class ServingSession {
  private served?: Served;
  /** Updates run one at a time: a context's tidy scopes must not interleave, and the last one wins the view. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly ctx: Context,
    readonly loaded: LoadedModel,
    /** `[numItems, d]` every item vector, row 0 the padding. */
    readonly items: Float32Array,
    readonly projection: ItemProjection,
  ) {}

  /**
   * Puts `loaded` on a fresh GPU context (timestamp queries on where the adapter has them),
   * computes every item vector once and fits their 2-D projection. Throws an Error when the
   * model does not route (the mean-pooling baseline has no capsules to show) and when no WebGPU
   * device can be had.
   */
  static async open(loaded: LoadedModel): Promise<ServingSession> {
    const { manifest, weights } = loaded;
    if (manifest.config.extractor !== 'mind') throw new Error(`this model's extractor is '${manifest.config.extractor}': only a B2I routing (MIND) model has routing weights to show`);
    const ctx = await createContext({ profile: true });
    try {
      const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
      const items = (await ctx.tidy(() => allItemVectors(model).read())) as Float32Array;
      model.dispose();
      const projection = new ItemProjection(items, manifest.config.dim);
      return new ServingSession(ctx, loaded, items, projection);
    } catch (err) {
      ctx.destroy();
      throw err;
    }
  }

  get manifest() {
    return this.loaded.manifest;
  }

  /** L: the window the model was trained with; the Recommender sees the last L items. */
  get window(): number {
    return this.manifest.maxLength;
  }

  /** The configuration served for these settings: the trained one with K and dynamic K replaced. */
  servingConfig(settings: Pick<ServingSettings, 'k' | 'dynamicK'>): MindConfig {
    const trained = this.manifest.config;
    if (!Number.isInteger(settings.k) || settings.k < 1 || settings.k > trained.kMax) {
      throw new RangeError(`K must be an integer in [1, ${trained.kMax}] (the trained kMax), got ${settings.k}`);
    }
    return resolveConfig({ ...trained, kMax: settings.k, dynamicK: settings.dynamicK });
  }

  private async servedFor(settings: ServingSettings): Promise<Served> {
    const config = this.servingConfig(settings);
    const key = `${config.kMax}/${config.dynamicK}`;
    if (this.served?.key === key) return this.served;
    this.disposeServed();
    const { manifest, weights } = this.loaded;
    const model = new MindModel(this.ctx, config, manifest.shape, manifest.itemFeatures, weights);
    const recommender = new Recommender(model, this.window);
    const replayer = await RoutingReplayer.create(model, this.window);
    this.served = { key, model, recommender, replayer };
    return this.served;
  }

  private async kernelMs(): Promise<number | undefined> {
    if (!this.ctx.gpu.profiler) return undefined;
    let total = 0;
    for (const timing of (await this.ctx.gpu.kernelTimings()).values()) total += timing.totalMs;
    return total;
  }

  /**
   * Serves `history` (item ids, oldest first; at least one) with `settings`: one Recommender
   * call (the user tower and the top N, history items excluded), that user's interest vectors,
   * the routing replay and the attention split. Updates queue behind each other. Rejects with a
   * RangeError for an empty history, a bad K, p or N, and as Recommender.recommend for an id
   * outside the catalogue.
   */
  update(history: number[], settings: ServingSettings): Promise<SessionUpdate> {
    const run = this.tail.then(() => this.compute(history, settings));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async compute(history: number[], settings: ServingSettings): Promise<SessionUpdate> {
    if (history.length === 0) throw new RangeError('the history is empty: add an item first');
    if (!(settings.p >= 0)) throw new RangeError(`p must be ≥ 0 (Infinity allowed), got ${settings.p}`);
    const started = performance.now();
    const gpuBefore = await this.kernelMs();
    const served = await this.servedFor(settings);
    const recommendation = await served.recommender.recommend(history, settings.n);
    const { vectors: interests } = await served.recommender.interests(history);
    const gpuAfter = await this.kernelMs();
    const wallMs = performance.now() - started;

    const d = this.manifest.config.dim;
    const window = history.slice(-this.window);
    const routing = served.replayer.replay(itemRows(this.items, window, d));
    const activeK = recommendation.activeK;
    const attention = recommendation.ids.map((id) => {
      const scores = Array.from({ length: activeK }, (_, j) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += interests[j * d + c] * this.items[id * d + c];
        return s;
      });
      return Array.from(attentionWeights(scores, settings.p, this.manifest.config.attentionMode).weights);
    });
    return {
      window,
      recommendation,
      interests,
      firstRouted: this.manifest.config.globalInterest ? 1 : 0,
      routing,
      attention,
      gpuMs: gpuBefore === undefined || gpuAfter === undefined ? undefined : gpuAfter - gpuBefore,
      wallMs,
    };
  }

  private disposeServed(): void {
    if (!this.served) return;
    this.served.recommender.dispose();
    this.served.model.dispose();
    this.served = undefined;
  }

  /** Frees the GPU context and everything on it, once the updates already asked for have settled. */
  async close(): Promise<void> {
    await this.tail;
    this.served = undefined;
    this.ctx.destroy();
  }
}
