/**
 * The embedded approximate index: usearch's HNSW graph over the item vectors by inner product,
 * built in process and saved next to the checkpoint (`mind index`), loaded by `mind recommend`
 * and `mind serve`. Node-only (usearch is a native addon shipped with prebuilt binaries).
 * Why usearch and these settings: README.md, "Serving", from bench/ann-choice.ts and bench/ann.ts.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Index, MetricKind, ScalarKind } from 'usearch';
import type { TopKResult } from './topk.js';
import { type VectorIndex, checkSearchArguments } from './vector-index.js';

/** The index files in a checkpoint directory. */
export const ANN_INDEX_FILE = 'items.usearch';
export const ANN_META_FILE = 'items.usearch.json';

/** HNSW settings: graph degree M, and the candidate-list widths when adding and searching. */
export interface AnnSettings {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

/**
 * The defaults reach recall@50 ≥ 0.95 against exact search at 100k and 1M items, d = 64, pooled
 * over interests (bench/serving.ts; README.md's table): M = 16 as HNSW's authors recommend for
 * this width, and a search list of 512: at 1M items 256 gave 0.944 and 512 gave 0.955.
 */
export const DEFAULT_ANN_SETTINGS: AnnSettings = { connectivity: 16, expansionAdd: 128, expansionSearch: 512 };

/** What `mind index` records beside the graph, to refuse an index built from other weights. */
export interface AnnMeta {
  format: 'mind-webgpu/usearch-1';
  /** SHA-256 (hex) of the weights file the item vectors came from. */
  weightsSha256: string;
  dim: number;
  /** Items in the index (the model's numItems - 1: every id but the padding id 0). */
  count: number;
  settings: AnnSettings;
  buildSeconds: number;
}

function checkSettings(settings: AnnSettings): void {
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`ANN index: ${name} must be an integer ≥ 1, got ${value}`);
  }
}

export class UsearchIndex implements VectorIndex {
  readonly kind = 'usearch-hnsw';

  private constructor(
    private readonly index: Index,
    readonly dim: number,
    readonly settings: AnnSettings,
  ) {}

  private static create(dim: number, settings: AnnSettings): Index {
    checkSettings(settings);
    return new Index({
      dimensions: dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: settings.connectivity,
      expansion_add: settings.expansionAdd,
      expansion_search: settings.expansionSearch,
      multi: false,
    });
  }

  /**
   * Builds the graph over `items` (`[numItems, d]` f32 row-major, row i = item id i; row 0, the
   * padding item, is left out) with all cores. Throws a RangeError naming `dim` or a setting
   * when it is not an integer ≥ 1, and an Error naming `items` when its length is not a multiple
   * of `dim` or it holds no item past the padding row.
   */
  static build(items: Float32Array, dim: number, settings: AnnSettings = DEFAULT_ANN_SETTINGS): UsearchIndex {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`ANN index: dim must be an integer ≥ 1, got ${dim}`);
    if (items.length % dim !== 0 || items.length / dim < 2) {
      throw new Error(`ANN index: items has ${items.length} values; expected [numItems ≥ 2, ${dim}] with row 0 the padding item`);
    }
    const index = UsearchIndex.create(dim, settings);
    const count = items.length / dim - 1;
    index.add(BigUint64Array.from({ length: count }, (_, i) => BigInt(i + 1)), items.subarray(dim), 0);
    return new UsearchIndex(index, dim, settings);
  }

  /** Items in the index. */
  get size(): number {
    return Number(this.index.size());
  }

  /**
   * `VectorIndex.search` on the HNSW graph (one call for all Q queries, all cores); scores are
   * the inner products, 1 − usearch's IP distance. Same errors as the interface.
   */
  async search(queries: Float32Array, k: number): Promise<TopKResult> {
    const Q = checkSearchArguments(this.kind, this.dim, queries, k);
    const ids = new Int32Array(Q * k).fill(-1);
    const scores = new Float32Array(Q * k);
    if (Q === 0 || this.size === 0) return { ids, scores };
    // usearch answers a single query with a flat Matches and several with per-query counts.
    const found = this.index.search(queries, k, 0) as { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };
    for (let q = 0; q < Q; q++) {
      const count = found.counts ? Number(found.counts[q]) : found.keys.length;
      for (let r = 0; r < Math.min(count, k); r++) {
        ids[q * k + r] = Number(found.keys[q * (found.counts ? k : 0) + r]);
        scores[q * k + r] = 1 - found.distances[q * (found.counts ? k : 0) + r];
      }
    }
    return { ids, scores };
  }

  /**
   * Writes the graph to `dir/items.usearch` and `meta` to `dir/items.usearch.json`, each under
   * a temporary name first, so that a reader never sees a half-written index.
   */
  async save(dir: string, meta: AnnMeta): Promise<void> {
    const path = join(dir, ANN_INDEX_FILE);
    this.index.save(`${path}.tmp`);
    await rename(`${path}.tmp`, path);
    await writeFile(join(dir, `${ANN_META_FILE}.tmp`), `${JSON.stringify(meta, null, 1)}\n`);
    await rename(join(dir, `${ANN_META_FILE}.tmp`), join(dir, ANN_META_FILE));
  }

  /**
   * The index saved in checkpoint directory `dir`, or undefined when there is none. Throws an
   * Error naming the file when the index was built from other weights than `weightsSha256` (the
   * checkpoint was retrained since `mind index`), has another width than `dim`, or is unreadable.
   */
  static async load(dir: string, weightsSha256: string, dim: number): Promise<UsearchIndex | undefined> {
    const metaPath = join(dir, ANN_META_FILE);
    const indexPath = join(dir, ANN_INDEX_FILE);
    const exists = await stat(metaPath).then(() => true, () => false);
    if (!exists) return undefined;
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as AnnMeta;
    if (meta.weightsSha256 !== weightsSha256) {
      throw new Error(`${metaPath}: the index was built from other weights than the checkpoint's; rebuild it with \`mind index --model ${dir}\``);
    }
    if (meta.dim !== dim) throw new Error(`${metaPath}: the index holds vectors of width ${meta.dim}, the model's are ${dim}`);
    const index = UsearchIndex.create(dim, meta.settings);
    index.load(indexPath);
    if (Number(index.size()) !== meta.count) throw new Error(`${indexPath}: holds ${index.size()} items, ${metaPath} says ${meta.count}`);
    return new UsearchIndex(index, dim, meta.settings);
  }

  /** Nothing to release by hand: the native graph is freed with the object. */
  async close(): Promise<void> {}
}

