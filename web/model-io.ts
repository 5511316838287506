/**
 * Models in and out of the page, in the checkpoint format `mind train` writes (config.json +
 * model.safetensors, decoded and validated by the library's own src/train/model-files.ts, the
 * code Node uses): from files the visitor picks, from a URL on the page's own origin (a
 * checkpoint directory as `mind train` left it, its checkpoint.json pointer, sizes and SHA-256
 * checked, or a folder holding the two files), and out as two downloads. Nothing is uploaded:
 * picked files are read locally, and the page's Content-Security-Policy lets it fetch from its
 * own origin only.
 */
import type { CheckpointManifest } from '../src/train/checkpoint.js';
import { CheckpointError, POINTER_FILE, parsePointer } from '../src/train/checkpoint-pointer.js';
import { MANIFEST_FILE, WEIGHTS_FILE, decodeModelFiles, encodeModelFiles } from '../src/train/model-files.js';
import { readTitles } from './titles.js';

/** A model ready to serve: its manifest, its weights and the item titles that came with it. */
export interface LoadedModel {
  manifest: CheckpointManifest;
  weights: Map<string, Float32Array>;
  /** Item name → title (empty when no titles file came with the model). */
  titles: Map<string, string>;
  /** Where it came from, for the page to say. */
  source: string;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A model from picked files: a `.safetensors` file (the weights), a `.json` manifest
 * (config.json) and optionally a `.csv`/`.tsv` titles file (e.g. MovieLens movies.csv) and the
 * directory's checkpoint.json, whose sizes and hashes are then checked. Throws an Error naming
 * what is missing or doubled, CheckpointError for files that disagree with the pointer, and
 * CheckpointFormatError (naming the file, field or tensor) for a corrupt model.
 */
export async function modelFromFiles(files: File[]): Promise<LoadedModel> {
  const weights = files.filter((f) => f.name.endsWith('.safetensors'));
  const json = files.filter((f) => f.name.endsWith('.json'));
  const tables = files.filter((f) => /\.(csv|tsv|txt)$/i.test(f.name));
  const pointerFile = json.find((f) => f.name === POINTER_FILE);
  const manifests = json.filter((f) => f !== pointerFile);
  if (weights.length !== 1) throw new Error(`pick exactly one .safetensors file (the model's weights), got ${weights.length}`);
  if (manifests.length !== 1) throw new Error(`pick exactly one manifest .json file (config.json), got ${manifests.length}: ${manifests.map((f) => f.name).join(', ') || 'none'}`);
  if (tables.length > 1) throw new Error(`pick at most one titles file (.csv or .tsv), got ${tables.map((f) => f.name).join(', ')}`);
  const manifestBytes = new Uint8Array(await manifests[0].arrayBuffer());
  const weightBytes = new Uint8Array(await weights[0].arrayBuffer());
  if (pointerFile) {
    const pointer = parsePointer(await pointerFile.text(), pointerFile.name);
    await verifyAgainstPointer(pointer.files, MANIFEST_FILE, manifests[0].name, manifestBytes);
    await verifyAgainstPointer(pointer.files, WEIGHTS_FILE, weights[0].name, weightBytes);
  }
  const model = decodeModelFiles(manifestBytes, weightBytes, { manifest: manifests[0].name, weights: weights[0].name });
  const titles = tables.length === 1 ? await readTitles(tables[0]) : new Map<string, string>();
  return { ...model, titles, source: files.map((f) => f.name).join(', ') };
}

async function verifyAgainstPointer(entries: Record<string, { bytes: number; sha256: string }>, name: string, where: string, bytes: Uint8Array): Promise<void> {
  const entry = entries[name];
  if (!entry) throw new CheckpointError(`${POINTER_FILE} lists no ${name} (it lists ${Object.keys(entries).join(', ')})`);
  if (entry.bytes !== bytes.length) throw new CheckpointError(`${where}: ${bytes.length} bytes, ${POINTER_FILE} says ${entry.bytes}: not the file of this checkpoint, or truncated`);
  const hash = await sha256Hex(bytes);
  if (hash !== entry.sha256) throw new CheckpointError(`${where}: SHA-256 ${hash} does not match ${entry.sha256} in ${POINTER_FILE}: the file is corrupt or from another run`);
}

async function fetchBytes(url: URL): Promise<Uint8Array | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  // A single-page-app server (vite preview, many static hosts) answers a missing file with the
  // page itself; no checkpoint file is HTML.
  if (response.headers.get('content-type')?.startsWith('text/html')) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function fetchRequired(url: URL): Promise<Uint8Array> {
  const bytes = await fetchBytes(url);
  if (!bytes) throw new Error(`${url}: not found (HTTP 404)`);
  return bytes;
}

/**
 * A model from a checkpoint directory served at `url` (relative URLs resolve against the page):
 * `url/checkpoint.json` when there is one (the files are then read from its version directory
 * and their sizes and SHA-256 checked), else `url/config.json` and `url/model.safetensors`.
 * `titlesUrl`, when given, is a CSV/TSV of item titles. Throws an Error naming the URL for a
 * failed fetch, CheckpointError for files that disagree with the pointer and
 * CheckpointFormatError for a corrupt model.
 */
export async function modelFromUrl(url: string, titlesUrl?: string): Promise<LoadedModel> {
  const base = new URL(url.endsWith('/') ? url : `${url}/`, location.href);
  const pointerBytes = await fetchBytes(new URL(POINTER_FILE, base));
  let folder = base;
  if (pointerBytes) {
    const pointer = parsePointer(new TextDecoder().decode(pointerBytes), new URL(POINTER_FILE, base).href);
    folder = new URL(`${pointer.version}/`, base);
    const [manifestBytes, weightBytes] = await Promise.all([fetchRequired(new URL(MANIFEST_FILE, folder)), fetchRequired(new URL(WEIGHTS_FILE, folder))]);
    await verifyAgainstPointer(pointer.files, MANIFEST_FILE, new URL(MANIFEST_FILE, folder).href, manifestBytes);
    await verifyAgainstPointer(pointer.files, WEIGHTS_FILE, new URL(WEIGHTS_FILE, folder).href, weightBytes);
    return finish(manifestBytes, weightBytes, folder, titlesUrl);
  }
  const [manifestBytes, weightBytes] = await Promise.all([fetchRequired(new URL(MANIFEST_FILE, folder)), fetchRequired(new URL(WEIGHTS_FILE, folder))]);
  return finish(manifestBytes, weightBytes, folder, titlesUrl);
}

async function finish(manifestBytes: Uint8Array, weightBytes: Uint8Array, folder: URL, titlesUrl?: string): Promise<LoadedModel> {
  const model = decodeModelFiles(manifestBytes, weightBytes, { manifest: new URL(MANIFEST_FILE, folder).href, weights: new URL(WEIGHTS_FILE, folder).href });
  let titles = new Map<string, string>();
  if (titlesUrl) {
    const url = new URL(titlesUrl, location.href);
    const bytes = await fetchRequired(url);
    titles = await readTitles(new File([bytes as Uint8Array<ArrayBuffer>], url.pathname.split('/').pop() || 'titles.csv'));
  }
  return { ...model, titles, source: folder.href };
}

/**
 * Offers the model as the two files of a checkpoint (config.json and model.safetensors, the
 * bytes `mind train` would write for it), as downloads. Put both in one folder: `mind
 * recommend --model DIR` and this page's file picker read them back.
 */
export function downloadModel(manifest: CheckpointManifest, weights: Map<string, Float32Array>): void {
  for (const [name, data] of encodeModelFiles(manifest, weights)) {
    const blob = new Blob([data as string | Uint8Array<ArrayBuffer>], { type: typeof data === 'string' ? 'application/json' : 'application/octet-stream' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.click();
    // The download has its own copy once started; the next task is late enough.
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }
}
