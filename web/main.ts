/**
 * The demo page: trains MIND on WebGPU in the browser with the library's own code, plots the
 * loss and validation recall@50 as they come, then shows one validation user's interests.
 *
 * Test hooks kept stable: `?autostart=1&steps=N&seed=S` (any other form field by name too)
 * trains on synthetic data without clicks; data-testid="status" reads `ready`, `running`,
 * `done` or `error: ...`; data-testid="step" and "loss" show the global step and the mean loss
 * of the last logging window.
 */
import { type Context, createContext } from '../src/autograd/context.js';
import { heldOutUsers, type HeldOutSet } from '../src/data/batches.js';
import { type Dataset, loadDatasetFromText } from '../src/data/dataset.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { textFromStream } from '../src/data/text.js';
import type { MindModel } from '../src/mind/model.js';
import { Recommender } from '../src/serve/recommender.js';
import { type TrainProgress, train } from '../src/train/trainer.js';
import { inspectUser, renderCapsules } from './capsules.js';
import { LiveChart } from './charts.js';
import { applyUrlParameters, readSettings, type Settings } from './settings.js';

/** Read the loss back every this many steps: a smooth curve for one GPU wait per 10 steps. */
const LOG_EVERY = 10;

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

const lossChart = new LiveChart(byId('loss-chart'), { title: 'Training loss (sampled softmax)', label: 'loss', color: '#c2410c', digits: 4 });
const recallChart = new LiveChart(byId('recall-chart'), { title: 'Validation recall@50', label: 'recall@50', color: '#1d4ed8', points: true, digits: 4 });

/** What the last finished run left for the capsule view. */
interface Trained {
  model: MindModel;
  recommender: Recommender;
  dataset: Dataset;
  validation: HeldOutSet;
}

let context: Context | undefined;
let trained: Trained | undefined;

function setStatus(status: string): void {
  ui.status.textContent = status;
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
    return 'this browser has no WebGPU (navigator.gpu is missing). Use one that has it: Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows, or turn it on in your browser\'s flags.';
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

function describe(dataset: Dataset): string {
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
    ui.loss.textContent = progress.loss!.toFixed(4);
    ui.samplesPerSecond.textContent = Math.round(progress.samplesPerSecond!).toLocaleString('en');
    lossChart.push(step, progress.loss!);
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
  renderCapsules(ui.capsules, trained.dataset, view);
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
    ui.datasetSummary.textContent = describe(dataset);
    const result = await train(ctx, dataset, settings.config, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      maxSteps: settings.maxSteps,
      logEvery: LOG_EVERY,
      onProgress: showProgress,
    });
    const validation = heldOutUsers(dataset, 'validation');
    trained = { model: result.model, recommender: new Recommender(result.model), dataset, validation };
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
  } catch (err) {
    fail(err);
  } finally {
    ui.trainButton.disabled = false;
  }
}

ui.userPick.addEventListener('change', () => {
  const row = Number(ui.userPick.value) - 1;
  if (!trained || !Number.isInteger(row) || row < 0 || row >= trained.validation.lengths.length) return;
  ui.userPick.disabled = true;
  showUser(row)
    .catch(fail)
    .finally(() => {
      ui.userPick.disabled = false;
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
  if (params.get('autostart') === '1') {
    (ui.form.elements.namedItem('source') as RadioNodeList).value = 'synthetic';
    ui.form.requestSubmit();
  }
}

start().catch(fail);
