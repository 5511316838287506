/**
 * The serving subcommands of `mind` (registered in src/cli.ts):
 *   mind index  --model DIR [--connectivity 16 --expansion-add 128 --expansion-search 256]
 *   mind index  --model DIR --pgvector URL [--pg-table mind_items]
 *   mind serve  --model DIR [--port 8080] [--exact | --pgvector URL] [limits]
 *   mind export --model DIR --out DIR --format npy,fvecs,parquet[,jsonl] [--no-users]
 */
import { join } from 'node:path';
import { createContext } from '../autograd/context.js';
import { MindModel } from '../mind/model.js';
import { ANN_INDEX_FILE, UsearchIndex } from '../serve/ann-index.js';
import { buildService, listenUntilSignal } from '../serve/http.js';
import { PgVectorIndex } from '../serve/pgvector.js';
import { Recommender } from '../serve/recommender.js';
import { loadCheckpoint } from './checkpoint-io.js';
import { type DataSpec, loadData } from './datasets.js';
import { type ExportFormat, writeVectorTable } from './exports.js';
import { type SearchChoice, itemTable, itemVectorsOf, openItemIndex, pgOptions, userInterestTable, weightsSha256 } from './serving.js';

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export interface IndexFlags {
  model: string;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  pgvector?: string;
  pgTable?: string;
  pgConnections?: number;
}

/**
 * `mind index`: the item vectors of the checkpoint in `flags.model`, computed on the GPU, into
 * the embedded HNSW index saved beside the checkpoint (items.usearch + items.usearch.json, tied
 * to the weights by their SHA-256), or upserted into a pgvector table with its HNSW index.
 */
export async function indexCommand(flags: IndexFlags): Promise<void> {
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const ctx = await createContext();
  let items: Float32Array;
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    items = await itemVectorsOf(model);
    model.dispose();
  } finally {
    ctx.destroy();
  }
  const d = manifest.config.dim;
  const started = performance.now();
  if (flags.pgvector) {
    const index = PgVectorIndex.connect(flags.pgvector, manifest.itemNames, d, pgOptions(flags));
    try {
      await index.upsert(items);
      await index.createIndex();
      log(`upserted ${manifest.itemNames.length - 1} items into pgvector (HNSW, inner product) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await index.close();
    }
    return;
  }
  const settings = { connectivity: flags.connectivity, expansionAdd: flags.expansionAdd, expansionSearch: flags.expansionSearch };
  const index = UsearchIndex.build(items, d, settings);
  const buildSeconds = (performance.now() - started) / 1000;
  await index.save(flags.model, {
    format: 'mind-webgpu/usearch-1',
    weightsSha256: await weightsSha256(flags.model),
    dim: d,
    count: index.size,
    settings,
    buildSeconds,
  });
  log(`indexed ${index.size} items (HNSW M=${settings.connectivity}, inner product) in ${buildSeconds.toFixed(1)} s: ${join(flags.model, ANN_INDEX_FILE)}`);
}

export interface ServeFlags extends SearchChoice {
  model: string;
  port: number;
  maxBatch: number;
  maxHistory: number;
  bodyLimit: number;
  log?: boolean;
}

/**
 * `mind serve`: the HTTP service on 127.0.0.1:`flags.port` until SIGTERM/SIGINT, searching with
 * the checkpoint's embedded index when it has one (pgvector or exact GPU top-k when asked).
 */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const index = await openItemIndex(flags.model, manifest, flags);
  const ctx = await createContext();
  const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
  const recommender = new Recommender(model, manifest.maxLength, { index, maxBatch: flags.maxBatch });
  const app = buildService({
    recommender,
    itemNames: manifest.itemNames,
    userFeatures: manifest.userFeatures,
    limits: { bodyBytes: flags.bodyLimit, historyItems: flags.maxHistory },
    logger: flags.log,
  });
  const { address, closed } = await listenUntilSignal(app, flags.port, async () => {
    recommender.dispose();
    model.dispose();
    await index?.close();
    ctx.destroy();
  });
  log(`listening on ${address} (search: ${recommender.searchKind}, ${manifest.itemNames.length - 1} items)`);
  await closed;
  log('stopped');
}

export interface ExportFlags {
  model: string;
  out: string;
  format: ExportFormat[];
  users: boolean;
}

/**
 * `mind export`: the item vectors (and, unless `--no-users`, every user's interest vectors) in
 * each format of `flags.format` under directory `flags.out` (layouts: src/node/exports.ts).
 */
export async function exportTablesCommand(flags: ExportFlags): Promise<void> {
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const ctx = await createContext();
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    const items = itemTable(manifest, await itemVectorsOf(model));
    const written = await writeVectorTable(flags.out, items, flags.format);
    if (flags.users) {
      const dataset = await loadData(manifest.data as unknown as DataSpec);
      const users = await userInterestTable(model, dataset);
      written.push(...(await writeVectorTable(flags.out, users, flags.format)));
      log(`users: ${users.vectors.length / users.dim} interest vectors of ${dataset.users.length} users`);
    }
    log(`items: ${items.vectors.length / items.dim} vectors of width ${items.dim}`);
    for (const path of written) log(`wrote ${path}`);
    model.dispose();
  } finally {
    ctx.destroy();
  }
}
