/**
 * The settings form: what to train on and how. Every field can also be set from the page's
 * URL with its `name` (`?dim=32&epochs=5`), which is how the test hooks
 * `?autostart=1&steps=N&seed=S` and the browser test's small configuration reach the form.
 */
import type { MindConfig } from '../src/mind/config.js';

export type DataSource =
  | { kind: 'synthetic'; numItems: number; numCategories: number; numUsers: number }
  | { kind: 'csv'; file: File; titles?: File };

export interface Settings {
  source: DataSource;
  /** L, the history window. */
  maxLength: number;
  config: Partial<MindConfig> & Pick<MindConfig, 'kMax' | 'seed'>;
  epochs: number;
  batchSize: number;
  maxSteps?: number;
}

/** The extractor menu: a `<select name="extractor">` whose options are the registry's names (index.html). */
function extractorField(form: HTMLFormElement): string {
  const element = form.elements.namedItem('extractor');
  if (!(element instanceof HTMLSelectElement)) throw new Error('the settings form has no select named extractor');
  return element.value;
}

function field(form: HTMLFormElement, name: string): HTMLInputElement {
  const element = form.elements.namedItem(name);
  if (!(element instanceof HTMLInputElement)) throw new Error(`the settings form has no input named ${name}`);
  return element;
}

/** A numeric field's value; empty fields are undefined, anything else must be a number. */
function numberField(form: HTMLFormElement, name: string): number | undefined {
  const text = field(form, name).value.trim();
  if (text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a number, got "${text}"`);
  return value;
}

function requiredNumber(form: HTMLFormElement, name: string): number {
  const value = numberField(form, name);
  if (value === undefined) throw new RangeError(`${name} is required`);
  return value;
}

/** Copies URL parameters named like form fields into the form (file inputs excepted). */
export function applyUrlParameters(form: HTMLFormElement, params: URLSearchParams): void {
  for (const [name, value] of params) {
    const element = form.elements.namedItem(name);
    if (element instanceof RadioNodeList) element.value = value;
    else if (element instanceof HTMLInputElement && element.type !== 'file') element.value = value;
    else if (element instanceof HTMLSelectElement) element.value = value;
  }
}

function dataSource(form: HTMLFormElement): DataSource {
  const kind = (form.elements.namedItem('source') as RadioNodeList).value;
  if (kind === 'csv') {
    const file = field(form, 'file').files?.[0];
    if (!file) throw new Error('pick an interactions file (CSV or TSV) first');
    return { kind, file, titles: field(form, 'titles').files?.[0] };
  }
  if (kind !== 'synthetic') throw new Error(`unknown data source "${kind}"`);
  return {
    kind,
    numItems: requiredNumber(form, 'items'),
    numCategories: requiredNumber(form, 'categories'),
    numUsers: requiredNumber(form, 'users'),
  };
}

/** The form's current settings; errors name the field and its bad value. */
export function readSettings(form: HTMLFormElement): Settings {
  return {
    source: dataSource(form),
    maxLength: requiredNumber(form, 'length'),
    config: {
      // Checked against the registry by resolveConfig when training starts.
      extractor: extractorField(form),
      dim: requiredNumber(form, 'dim'),
      kMax: requiredNumber(form, 'k'),
      numSampled: requiredNumber(form, 'sampled'),
      learningRate: requiredNumber(form, 'lr'),
      hiddenUnits: [requiredNumber(form, 'hidden')],
      seed: requiredNumber(form, 'seed'),
    },
    epochs: requiredNumber(form, 'epochs'),
    batchSize: requiredNumber(form, 'batch'),
    maxSteps: numberField(form, 'steps'),
  };
}
