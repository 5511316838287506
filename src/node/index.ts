/** mind-webgpu/node: Node-only helpers (files, checkpoints on disk, data sets from paths). */
export { readText, readTextChunks } from './files.js';
export { type DataSpec, loadData, absoluteDataSpec } from './datasets.js';
export { loadCheckpoint, saveCheckpoint, readModel } from './checkpoint-io.js';
export { openCheckpoint, writeCheckpointFiles, CheckpointError, type CheckpointDirectory } from './checkpoint-store.js';
export { fingerprintData, fingerprintFile } from './data-files.js';
export { UsearchIndex, DEFAULT_ANN_SETTINGS, ANN_INDEX_FILE, ANN_META_FILE, type AnnSettings, type AnnMeta } from '../serve/ann-index.js';
export { PgVectorIndex, type PgVectorOptions } from '../serve/pgvector.js';
export { buildService, listenUntilSignal, DEFAULT_LIMITS, type ServiceOptions, type ServiceLimits } from '../serve/http.js';
export { encodeNpy, encodeFvecs, encodeParquet, writeVectorTable, EXPORT_FORMATS, type ExportFormat, type VectorTable } from './exports.js';
export { itemVectorsOf, itemTable, userInterestTable, openItemIndex } from './serving.js';
export { main as runCli } from '../cli.js';
