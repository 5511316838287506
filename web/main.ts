/**
 * The demo page: trains MIND on WebGPU in the browser with the library's own code, plots the
 * loss and validation recall@50 as they come, then shows one validation user's interests; and
 * the real-time session (session-panel.ts), which serves a model loaded from a checkpoint or the
 * one just trained, re-routing one user on every click.
 *
 * Test hooks kept stable: `?autostart=1&steps=N&seed=S` (any other form field by name too)
 * trains on synthetic data without clicks; data-testid="status" reads `ready`, `running`,
 * `done` or `error: ...`; data-testid="step" shows the global step and data-testid="loss" the
 * mean of the last LOSS_WINDOW loss readings.
 */
import { type Context, createContext } from '../src/autograd/context.js';
import { heldOutUsers, type HeldOutSet } from '../src/data/batches.js';
import { type Dataset, loadDatasetFromText } from '../src/data/dataset.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { textFromStream } from '../src/data/text.js';
import { type MindModel, modelShapeOf } from '../src/mind/model.js';
import { Recommender } from '../src/serve/recommender.js';
import { evaluateModel } from '../src/serve/retrieval.js';
import type { CheckpointManifest } from '../src/train/checkpoint.js';
import { type TrainProgress, type TrainResult, train } from '../src/train/trainer.js';
import { inspectUser, renderCapsules } from './capsules.js';
import { LiveChart } from './charts.js';
import { SessionPanel } from './session-panel.js';
import { applyUrlParameters, readSettings, type Settings } from './settings.js';
import { readTitles } from './titles.js';

/** Read the loss back every this many steps: a smooth curve for one GPU wait per 10 steps. */
const LOG_EVERY = 10;
/** The loss shown is the mean of this many readings (each a single step's batch loss). */
const LOSS_WINDOW = 5;

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

function byTestId(id: string): HTMLElement {
  const node = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!node) throw new Error(`the page has no [data-testid="${id}"]`);
  return node;
}

const ui = {
  form: byId<HTMLFormElement>('settings'),
  trainButton: byId<HTMLButtonElement>('train'),
  banner: byId('no-webgpu'),
  status: byTestId('status'),
  step: byTestId('step'),
  loss: byTestId('loss'),
  samplesPerSecond: byTestId('samples-per-second'),
  recall: byTestId('recall'),
  phase: byId('phase'),
  totalSteps: byId('total-steps'),
  epoch: byId('epoch'),
  adapter: byId('adapter'),
  datasetSummary: byId('dataset-summary'),
  capsules: byId('capsules'),
  userPick: byId<HTMLInputElement>('user-pick'),
  userCount: byId('user-count'),
};

const lossChart = new LiveChart(byId('loss-chart'), {
  title: 'Training loss (sampled softmax)',
  series: [
    { label: 'batch', color: '#fdba74', width: 1 },
    { label: `mean of ${LOSS_WINDOW} readings`, color: '#c2410c' },
  ],
  digits: 4,
});
const recallChart = new LiveChart(byId('recall-chart'), {
  title: 'Validation recall@50',
  series: [{ label: 'recall@50', color: '#1d4ed8', points: true }],
  digits: 4,
});

/** What the last finished run left for the capsule view. */
interface Trained {
  model: MindModel;
  recommender: Recommender;
  dataset: Dataset;
  validation: HeldOutSet;
  /** Item name → title, for the capsule view (empty without a titles file). */
  titles: Map<string, string>;
}

const sessionPanel = new SessionPanel();

let context: Context | undefined;
let trained: Trained | undefined;
/** The last LOSS_WINDOW loss readings of the current run. */
const recentLosses: number[] = [];

function setStatus(status: string): void {
  ui.status.textContent = status;
  ui.status.classList.toggle('error', status.startsWith('error'));
}

function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  setStatus(`error: ${message}`);
  ui.phase.textContent = 'stopped';
  console.error(err);
}

/** Why this browser cannot run the demo, or undefined when it can. */
async function webGpuProblem(): Promise<string | undefined> {
  if (!('gpu' in navigator)) {
    if (!window.isSecureContext) return 'WebGPU needs a secure context: open this page over https or from localhost.';
    return 'this browser has no WebGPU (navigator.gpu is missing). Use a browser that has it (a recent Chrome, Edge or Safari; Firefox on Windows) or turn it on in the browser\'s settings.';
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 'this browser has WebGPU but offered no GPU adapter (the GPU may be blocklisted or hardware acceleration turned off; chrome://gpu tells why).';
  return undefined;
}

async function loadData({ source, maxLength, config }: Settings): Promise<Dataset> {
  if (source.kind === 'csv') {
    ui.phase.textContent = `reading ${source.file.name}`;
    return loadDatasetFromText({ interactions: textFromStream(source.file.stream()), maxLength, seed: config.seed });
  }
  ui.phase.textContent = 'generating synthetic data';
  const { numItems, numCategories, numUsers } = source;
  // At most K planted interests per user, so a model with K interests can separate them all.
  const maxInterests = Math.min(config.kMax, numCategories);
  return generateSynthetic({ seed: config.seed, numItems, numCategories, numUsers, maxInterests, maxLength });
}

function summary(dataset: Dataset): string {
  const { train: trainUsers, validation, test } = dataset.split;
  return (
    `${dataset.users.length} users (${trainUsers.length} train, ${validation.length} validation, ${test.length} test), ` +
    `${dataset.numItems - 1} items, ${dataset.stats.interactions} interactions.`
  );
}

function showProgress(progress: TrainProgress): void {
  const step = (progress.epoch - 1) * progress.stepsPerEpoch + progress.step;
  lossChart.setLastStep(progress.totalSteps);
  recallChart.setLastStep(progress.totalSteps);
  ui.totalSteps.textContent = String(progress.totalSteps);
  ui.epoch.textContent = `${progress.epoch} / ${progress.epochs}`;
  if (progress.phase === 'train') {
    ui.phase.textContent = 'training';
    ui.step.textContent = String(step);
    recentLosses.push(progress.loss!);
    if (recentLosses.length > LOSS_WINDOW) recentLosses.shift();
    const meanLoss = recentLosses.reduce((sum, loss) => sum + loss, 0) / recentLosses.length;
    ui.loss.textContent = meanLoss.toFixed(4);
    ui.samplesPerSecond.textContent = Math.round(progress.samplesPerSecond!).toLocaleString('en');
    lossChart.push(step, progress.loss!, meanLoss);
  } else if (progress.phase === 'validate') {
    ui.phase.textContent = 'validating';
    if (progress.validation) {
      const recall = progress.validation['recall@50'];
      ui.recall.textContent = recall.toFixed(4);
      recallChart.push(step, recall);
    }
  } else {
    ui.phase.textContent = 'inspecting interests';
    ui.epoch.textContent = `best: ${progress.epoch}`;
  }
}

/** Shows validation user `row` of the last trained model. */
async function showUser(row: number): Promise<void> {
  if (!trained) return;
  const view = await inspectUser(trained.model, trained.recommender, trained.validation, row);
  renderCapsules(ui.capsules, trained.dataset, view, trained.titles);
}

/**
 * The manifest `mind train` would write for a model trained here, so that the download is a
 * checkpoint the CLI and this page read back. `data` says where the data came from; a file
 * picked in the browser cannot be named by path, so `mind eval` cannot rebuild its split.
 */
function manifestOf(result: TrainResult, dataset: Dataset, settings: Settings): CheckpointManifest {
  const { source } = settings;
  const data =
    source.kind === 'synthetic'
      ? { kind: 'synthetic', trainedIn: 'browser', options: { seed: settings.config.seed, numItems: source.numItems, numCategories: source.numCategories, numUsers: source.numUsers, maxLength: dataset.maxLength } }
      : { kind: 'browser-file', trainedIn: 'browser', file: source.file.name };
  return {
    format: 'mind-webgpu/1',
    config: result.config,
    shape: modelShapeOf(dataset),
    itemNames: dataset.itemNames,
    itemFeatures: dataset.itemFeatures,
    userFeatures: dataset.userFeatures,
    maxLength: dataset.maxLength,
    data,
    training: { steps: result.steps, seconds: result.seconds, bestEpoch: result.bestEpoch, complete: true },
  };
}

function resetView(): void {
  ui.step.textContent = '0';
  for (const node of [ui.loss, ui.samplesPerSecond, ui.recall]) node.textContent = '–';
  ui.totalSteps.textContent = '–';
  ui.epoch.textContent = '–';
  ui.datasetSummary.textContent = '';
  ui.capsules.replaceChildren();
  ui.userPick.disabled = true;
  ui.userCount.textContent = '–';
  recentLosses.length = 0;
  lossChart.clear();
  recallChart.clear();
}

async function run(settings: Settings): Promise<void> {
  setStatus('running');
  ui.trainButton.disabled = true;
  resetView();
  const started = performance.now();
  try {
    // A fresh device per run: destroying the last one frees everything it held at once.
    trained = undefined;
    context?.destroy();
    context = undefined;
    const ctx = await createContext();
    context = ctx;
    const info = ctx.gpu.adapterInfo;
    ui.adapter.textContent = [info.vendor, info.architecture, info.description].filter(Boolean).join(' · ') || 'unknown';
    const dataset = await loadData(settings);
    ui.datasetSummary.textContent = summary(dataset);
    let titles = new Map<string, string>();
    if (settings.source.kind === 'csv' && settings.source.titles) {
      ui.phase.textContent = `reading ${settings.source.titles.name}`;
      titles = await readTitles(settings.source.titles);
    }
    const result = await train(ctx, dataset, settings.config, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      maxSteps: settings.maxSteps,
      logEvery: LOG_EVERY,
      evaluate: evaluateModel,
      onProgress: showProgress,
    });
    const validation = heldOutUsers(dataset, 'validation');
    trained = { model: result.model, recommender: new Recommender(result.model, dataset.maxLength), dataset, validation, titles };
    if (validation.lengths.length > 0) {
      // The validation user with the longest history has the most interests to show.
      const row = validation.lengths.indexOf(Math.max(...validation.lengths));
      ui.userPick.max = String(validation.lengths.length);
      ui.userPick.value = String(row + 1);
      ui.userCount.textContent = String(validation.lengths.length);
      await showUser(row);
      ui.userPick.disabled = false;
    } else {
      ui.capsules.textContent = 'This data set has no validation users to show.';
    }
    ui.phase.textContent = `finished ${result.steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    setStatus('done');
    await sessionPanel.useTrained(manifestOf(result, dataset, settings), result.bestWeights, titles);
  } catch (err) {
    fail(err);
  } finally {
    ui.trainButton.disabled = false;
  }
}

ui.userPick.addEventListener('change', () => {
  const row = Number(ui.userPick.value) - 1;
  if (!trained || !Number.isInteger(row) || row < 0 || row >= trained.validation.lengths.length) return;
  // No new run may destroy the device while this user's interests are computed.
  ui.userPick.disabled = true;
  ui.trainButton.disabled = true;
  showUser(row)
    .catch(fail)
    .finally(() => {
      ui.userPick.disabled = false;
      ui.trainButton.disabled = false;
    });
});

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  let settings: Settings;
  try {
    settings = readSettings(ui.form);
  } catch (err) {
    fail(err);
    return;
  }
  void run(settings);
});

window.addEventListener('unhandledrejection', (event) => fail(event.reason));

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  applyUrlParameters(ui.form, params);
  const problem = await webGpuProblem();
  if (problem) {
    ui.banner.textContent = `This demo needs WebGPU: ${problem}`;
    ui.banner.hidden = false;
    ui.trainButton.disabled = true;
    setStatus(`error: ${problem}`);
    return;
  }
  sessionPanel.loadFromAddress(params);
  if (params.get('autostart') === '1') {
    (ui.form.elements.namedItem('source') as RadioNodeList).value = 'synthetic';
    ui.form.requestSubmit();
  }
}

start().catch(fail);
