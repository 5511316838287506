/**
 * The "Real-time interests" panel: loading a model (picked files, a URL on this site, or the
 * model just trained in the tab), building a history by searching titles and clicking, the
 * serving-time settings, and redrawing everything after each change through ServingSession.
 *
 * Test hooks: data-testid="session-status" reads `no model`, `loading`, `ready`, `updating`,
 * `updated N` (N counts finished updates) or `error: ...`; search results, history entries and
 * recommendations are buttons/rows carrying data-id; the update time is data-testid="update-time".
 * `?model=URL&titles=URL` loads a model when the page opens.
 */
import type { CheckpointManifest } from '../src/train/checkpoint.js';
import { decodeModelFiles, encodeModelFiles } from '../src/train/model-files.js';
import { type LoadedModel, downloadModel, modelFromFiles, modelFromUrl } from './model-io.js';
import { ServingSession, type ServingSettings } from './session.js';
import { type ItemLabel, renderProjection, renderRecommendations, renderSessionCapsules } from './session-view.js';

/** Search results shown at once. */
const SHOWN_MATCHES = 12;

function byId<T extends Element>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as unknown as T;
}

export class SessionPanel {
  private readonly ui = {
    files: byId<HTMLInputElement>('model-files'),
    urlForm: byId<HTMLFormElement>('model-url-form'),
    url: byId<HTMLInputElement>('model-url'),
    titlesUrl: byId<HTMLInputElement>('titles-url'),
    download: byId<HTMLButtonElement>('download-model'),
    status: byId<HTMLElement>('session-status'),
    model: byId<HTMLElement>('session-model'),
    search: byId<HTMLInputElement>('item-search'),
    results: byId<HTMLElement>('search-results'),
    history: byId<HTMLElement>('history'),
    clear: byId<HTMLButtonElement>('clear-history'),
    k: byId<HTMLInputElement>('serve-k'),
    dynamicK: byId<HTMLInputElement>('serve-dynamic-k'),
    p: byId<HTMLInputElement>('serve-p'),
    n: byId<HTMLInputElement>('serve-n'),
    time: byId<HTMLElement>('update-time'),
    capsules: byId<HTMLElement>('session-capsules'),
    recommendations: byId<HTMLTableElement>('recommendations'),
    canvas: byId<HTMLCanvasElement>('projection-items'),
    svg: byId<SVGSVGElement>('projection-overlay'),
    explained: byId<HTMLElement>('projection-explained'),
  };
  private session?: ServingSession;
  private history: number[] = [];
  private updates = 0;
  /** Counts refreshes: an answer is shown only if no newer change was made while it was computed. */
  private latest = 0;
  /** The model trained in this tab, offered as a download. */
  private trained?: { manifest: CheckpointManifest; weights: Map<string, Float32Array> };
  /** Lower-cased label of every item, for the search. */
  private labels: string[] = [];

  constructor() {
    const { ui } = this;
    ui.files.addEventListener('change', () => {
      const files = Array.from(ui.files.files ?? []);
      if (files.length > 0) void this.load(() => modelFromFiles(files));
    });
    ui.urlForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const url = ui.url.value.trim();
      if (url) void this.load(() => modelFromUrl(url, ui.titlesUrl.value.trim() || undefined));
    });
    ui.download.addEventListener('click', () => {
      if (this.trained) downloadModel(this.trained.manifest, this.trained.weights);
    });
    ui.search.addEventListener('input', () => this.showMatches());
    ui.clear.addEventListener('click', () => {
      this.history = [];
      this.refresh();
    });
    for (const input of [ui.k, ui.dynamicK, ui.p, ui.n]) input.addEventListener('change', () => this.refresh());
  }

  /** Loads `?model=URL&titles=URL` when the page's address has them. */
  loadFromAddress(params: URLSearchParams): void {
    const url = params.get('model');
    if (!url) return;
    this.ui.url.value = url;
    this.ui.titlesUrl.value = params.get('titles') ?? '';
    void this.load(() => modelFromUrl(url, params.get('titles') ?? undefined));
  }

  /**
   * Serves the model trained in this tab, through the same bytes a download gives (so what the
   * session shows is what the downloaded files hold), and offers the download.
   */
  async useTrained(manifest: CheckpointManifest, weights: Map<string, Float32Array>, titles: Map<string, string>): Promise<void> {
    this.trained = { manifest, weights };
    this.ui.download.disabled = false;
    const [[, manifestText], [, weightBytes]] = encodeModelFiles(manifest, weights);
    await this.load(async () => ({ ...decodeModelFiles(manifestText, weightBytes as Uint8Array), titles, source: 'the model trained in this tab' }));
  }

  private setStatus(status: string): void {
    this.ui.status.textContent = status;
    this.ui.status.classList.toggle('error', status.startsWith('error'));
  }

  private fail(err: unknown): void {
    this.setStatus(`error: ${err instanceof Error ? err.message : String(err)}`);
    console.error(err);
  }

  private async load(read: () => Promise<LoadedModel>): Promise<void> {
    this.setStatus('loading');
    try {
      const loaded = await read();
      const previous = this.session;
      this.session = undefined;
      await previous?.close();
      const session = await ServingSession.open(loaded);
      this.session = session;
      const { manifest, titles } = loaded;
      this.labels = manifest.itemNames.map((name) => (titles.get(name) ?? name).toLowerCase());
      const { config } = manifest;
      this.ui.k.max = String(config.kMax);
      this.ui.k.value = String(config.kMax);
      this.ui.dynamicK.checked = config.dynamicK;
      this.ui.p.value = String(config.attentionPower);
      this.ui.model.textContent =
        `${loaded.source}: ${manifest.shape.numItems - 1} items, d = ${config.dim}, kMax = ${config.kMax}${config.globalInterest ? ' + a global interest' : ''}, ` +
        `history window L = ${manifest.maxLength}, trained p = ${config.attentionPower}.`;
      this.ui.explained.textContent = `${(session.projection.explained * 100).toFixed(1)}% of the item vectors' variance`;
      this.history = [];
      this.updates = 0;
      this.ui.search.disabled = false;
      this.showMatches();
      this.setStatus('ready');
      this.refresh();
    } catch (err) {
      this.fail(err);
    }
  }

  private readonly label: ItemLabel = (id) => {
    const manifest = this.session?.manifest;
    if (!manifest) return String(id);
    const name = manifest.itemNames[id];
    return this.session!.loaded.titles.get(name) ?? name;
  };

  private showMatches(): void {
    const query = this.ui.search.value.trim().toLowerCase();
    const matches: number[] = [];
    for (let id = 1; id < this.labels.length && matches.length < SHOWN_MATCHES; id++) {
      if (this.labels[id].includes(query)) matches.push(id);
    }
    this.ui.results.replaceChildren(
      ...matches.map((id) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'item';
        button.dataset.id = String(id);
        button.textContent = this.label(id);
        button.addEventListener('click', () => this.add(id));
        const li = document.createElement('li');
        li.append(button);
        return li;
      }),
    );
  }

  private add(id: number): void {
    this.history.push(id);
    this.refresh();
  }

  private remove(position: number): void {
    this.history.splice(position, 1);
    this.refresh();
  }

  private renderHistory(): void {
    this.ui.history.replaceChildren(
      ...this.history.map((id, position) => {
        const li = document.createElement('li');
        li.dataset.id = String(id);
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove';
        remove.textContent = '×';
        remove.title = 'remove from the history';
        remove.addEventListener('click', () => this.remove(position));
        li.append(document.createTextNode(this.label(id)), remove);
        return li;
      }),
    );
  }

  private settings(): ServingSettings {
    const number = (input: HTMLInputElement) => {
      const value = Number(input.value.trim());
      if (input.value.trim() === '' || Number.isNaN(value)) throw new RangeError(`${input.name} must be a number, got "${input.value}"`);
      return value;
    };
    return { k: number(this.ui.k), dynamicK: this.ui.dynamicK.checked, p: number(this.ui.p), n: number(this.ui.n) };
  }

  /** Redraws after a change: the history at once, then the session's answer when it comes. */
  private refresh(): void {
    const session = this.session;
    if (!session) return;
    this.renderHistory();
    if (this.history.length === 0) {
      this.ui.capsules.replaceChildren();
      this.ui.recommendations.replaceChildren();
      this.ui.time.textContent = '–';
      renderProjection(this.ui.canvas, this.ui.svg, session.projection, undefined);
      return;
    }
    let settings: ServingSettings;
    try {
      settings = this.settings();
    } catch (err) {
      this.fail(err);
      return;
    }
    const history = [...this.history];
    const request = ++this.latest;
    this.setStatus('updating');
    session
      .update(history, settings)
      .then((update) => {
        // A newer change may have replaced the session, the history or a setting meanwhile.
        if (session !== this.session || request !== this.latest) return;
        renderSessionCapsules(this.ui.capsules, update, this.label);
        renderRecommendations(this.ui.recommendations, update, this.label, (id) => this.add(id));
        renderProjection(this.ui.canvas, this.ui.svg, session.projection, update);
        const gpu = update.gpuMs === undefined ? 'no timestamp queries on this adapter' : `GPU kernels ${update.gpuMs.toFixed(2)} ms`;
        this.ui.time.textContent = `${update.wallMs.toFixed(1)} ms for the update (${gpu})`;
        this.updates++;
        this.setStatus(`updated ${this.updates}`);
      })
      .catch((err) => this.fail(err));
  }
}
