/** mind-webgpu/node: Node-only helpers (files, checkpoints on disk, data sets from paths). */
export { readText, readTextChunks } from './files.js';
export { type DataSpec, loadData, absoluteDataSpec } from './datasets.js';
export { loadCheckpoint, saveCheckpoint, readModel } from './checkpoint-io.js';
export { openCheckpoint, writeCheckpointFiles, CheckpointError, type CheckpointDirectory } from './checkpoint-store.js';
export { fingerprintData, fingerprintFile } from './data-files.js';
export { main as runCli } from '../cli.js';
