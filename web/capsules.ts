/**
 * One held-out user's interest capsules: for each active interest, the history items whose
 * vectors have their largest inner product with it (what the capsule gathered) and the items
 * it retrieves (the interest that won each of the pooled top-N). On synthetic data every item
 * shows its planted category, so a capsule's purity can be read off its colours.
 */
import type { HeldOutSet } from '../src/data/batches.js';
import type { Dataset } from '../src/data/dataset.js';
import type { MindModel } from '../src/mind/model.js';
import type { Recommender } from '../src/serve/recommender.js';

/** Items retrieved for the user (pooled over interests), as in validation recall@50. */
const RETRIEVED = 50;
/** Items shown per row; the counts and purity still cover them all. */
const SHOWN = 20;

export interface CapsuleItem {
  id: number;
  /** Inner product with the capsule's interest vector. */
  score: number;
  /** A held-out target of this user (for retrieved items). */
  hit?: boolean;
}

export interface Capsule {
  gathered: CapsuleItem[];
  retrieved: CapsuleItem[];
}

export interface UserCapsules {
  /** Index into dataset.users. */
  user: number;
  historyLength: number;
  capsules: Capsule[];
  /** Of the RETRIEVED items, how many are held-out targets, and how many targets there are. */
  hits: number;
  targets: number;
}

/** Interests and their items for row `row` of a held-out set. */
export async function inspectUser(model: MindModel, recommender: Recommender, held: HeldOutSet, row: number): Promise<UserCapsules> {
  const { ctx, config } = model;
  const count = held.lengths.length;
  const L = held.histories.length / count;
  const cu = held.profileCategorical.length / count;
  const du = held.profileDense.length / count;
  const history = held.histories.slice(row * L, row * L + held.lengths[row]);
  const profile = {
    categorical: held.profileCategorical.slice(row * cu, (row + 1) * cu),
    dense: held.profileDense.slice(row * du, (row + 1) * du),
  };
  const targets = new Set(held.targets.subarray(held.targetOffsets[row], held.targetOffsets[row + 1]));
  const recommendation = await recommender.recommend(history, RETRIEVED, profile);
  const d = config.dim;
  // From the Recommender itself (same window, padding and serving draw), so these are the
  // interest vectors that retrieved the items above.
  const { vectors: interests } = await recommender.interests(history, profile);
  const items = (await ctx.tidy(() => ctx.noGrad(() => model.itemVectors(history)).read())) as Float32Array;

  const capsules: Capsule[] = Array.from({ length: recommendation.activeK }, () => ({ gathered: [], retrieved: [] }));
  history.forEach((id, i) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let j = 0; j < recommendation.activeK; j++) {
      let score = 0;
      for (let c = 0; c < d; c++) score += interests[j * d + c] * items[i * d + c];
      if (score > bestScore) {
        bestScore = score;
        best = j;
      }
    }
    capsules[best].gathered.push({ id, score: bestScore });
  });
  for (const capsule of capsules) capsule.gathered.sort((a, b) => b.score - a.score);
  recommendation.ids.forEach((id, r) => {
    capsules[recommendation.interest[r]].retrieved.push({ id, score: recommendation.scores[r], hit: targets.has(id) });
  });
  return {
    user: held.users[row],
    historyLength: history.length,
    capsules,
    hits: recommendation.ids.filter((id) => targets.has(id)).length,
    targets: targets.size,
  };
}

/** Background colour of a planted category: hues spread by the golden angle. */
function categoryColour(category: number): string {
  return `hsl(${Math.round((category * 137.508) % 360)} 70% 82%)`;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function chip(dataset: Dataset, titles: Map<string, string>, item: CapsuleItem): HTMLElement {
  const category = dataset.groundTruth?.itemCategory[item.id];
  const name = dataset.itemNames[item.id];
  const title = titles.get(name);
  const node = element('span', item.hit ? 'chip hit' : 'chip', category === undefined ? title ?? name : `c${category}`);
  if (category !== undefined) node.style.background = categoryColour(category);
  node.title = `${title ? `${title} (${name})` : name} · score ${item.score.toFixed(3)}${item.hit ? ' · held-out target' : ''}`;
  return node;
}

/** "7/9 c3": how many items share the most common planted category. */
function purity(dataset: Dataset, items: CapsuleItem[]): string {
  const truth = dataset.groundTruth;
  if (!truth || items.length === 0) return '';
  const counts = new Map<number, number>();
  for (const { id } of items) counts.set(truth.itemCategory[id], (counts.get(truth.itemCategory[id]) ?? 0) + 1);
  const [category, most] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  return ` · ${most}/${items.length} c${category}`;
}

function itemRow(dataset: Dataset, titles: Map<string, string>, heading: string, items: CapsuleItem[]): HTMLElement {
  const row = element('div', 'capsule-row');
  row.append(element('div', 'capsule-label', `${heading} (${items.length}${purity(dataset, items)})`));
  const chips = element('div', 'chips');
  if (items.length === 0) chips.append(element('span', 'hint', 'none'));
  chips.append(...items.slice(0, SHOWN).map((item) => chip(dataset, titles, item)));
  if (items.length > SHOWN) chips.append(element('span', 'hint', `+${items.length - SHOWN} more`));
  row.append(chips);
  return row;
}

/**
 * Renders `view` into `container`, replacing what was there. Items show their planted category
 * (synthetic data), else their title from `titles` (keyed by item name), else their name.
 */
export function renderCapsules(container: HTMLElement, dataset: Dataset, view: UserCapsules, titles = new Map<string, string>()): void {
  const user = dataset.users[view.user];
  const header = element('p', 'capsule-summary');
  header.textContent =
    `User id ${user.name}: ${view.historyLength} history items, ${view.capsules.length} active interests; ` +
    `${view.hits} of the ${view.targets} held-out items are in the top ${RETRIEVED}.`;
  const planted = dataset.groundTruth?.userInterests[view.user];
  const parts: HTMLElement[] = [header];
  if (planted) {
    const line = element('p', 'capsule-summary', 'Planted interests: ');
    planted.categories.forEach((category, i) => {
      const tag = element('span', 'chip', `c${category} ${Math.round(planted.weights[i] * 100)}%`);
      tag.style.background = categoryColour(category);
      line.append(tag);
    });
    parts.push(line);
  }
  const grid = element('div', 'capsule-grid');
  view.capsules.forEach((capsule, j) => {
    const card = element('div', 'capsule');
    card.append(
      element('h3', 'capsule-title', `Interest ${j + 1}`),
      itemRow(dataset, titles, 'gathered from the history', capsule.gathered),
      itemRow(dataset, titles, 'retrieves', capsule.retrieved),
    );
    grid.append(card);
  });
  parts.push(grid);
  container.replaceChildren(...parts);
}
