/**
 * Drawing one session update: the interest capsules (which history items each interest
 * gathered, with the routing weights), the merged top N with the interest that retrieved each
 * item and label-aware attention's split at power p, and the items' 2-D projection with the
 * history and the interests on it. Every rendered row carries its numbers in data attributes
 * (data-id, data-score, data-interest, data-weight) at full precision, so tests read what the
 * page computed rather than a rounded label.
 */
import type { ItemProjection } from './projection.js';
import type { SessionUpdate } from './session.js';

/** An item's label for the page: its title when known, else its name in the data. */
export type ItemLabel = (id: number) => string;

/** The colour of interest j, shared by the capsules, the list and the projection. */
export function interestColour(j: number, lightness = 45): string {
  return `hsl(${Math.round((j * 137.508 + 210) % 360)} 70% ${lightness}%)`;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "Interest 2 · routed capsule 1" or "Interest 1 · global". */
function interestName(update: SessionUpdate, j: number): string {
  return j < update.firstRouted ? `Interest ${j + 1} · global (mean of the history)` : `Interest ${j + 1} · routed capsule ${j - update.firstRouted + 1}`;
}

/**
 * Each active interest as a card: the history items it gathered (for a routed capsule, the items
 * whose largest routing weight is this capsule's, with that weight; for the global interest,
 * every item with weight 1/len) and how many of the top N it retrieved.
 */
export function renderSessionCapsules(container: HTMLElement, update: SessionUpdate, label: ItemLabel): void {
  const { recommendation, routing, window, firstRouted } = update;
  const cards: HTMLElement[] = [];
  for (let j = 0; j < recommendation.activeK; j++) {
    const card = element('div', 'capsule session-capsule');
    card.dataset.interest = String(j);
    const d = update.interests.length / recommendation.activeK;
    card.dataset.vector = JSON.stringify(Array.from(update.interests.subarray(j * d, (j + 1) * d)));
    card.style.borderTopColor = interestColour(j);
    card.append(element('h3', 'capsule-title', interestName(update, j)));
    const gathered: { id: number; position: number; weight: number }[] = [];
    window.forEach((id, i) => {
      if (j < firstRouted) {
        gathered.push({ id, position: i, weight: 1 / window.length });
        return;
      }
      const c = j - firstRouted;
      const column = routing.weights.map((row) => row[i]);
      const best = column.indexOf(Math.max(...column));
      if (best === c) gathered.push({ id, position: i, weight: column[c] });
    });
    gathered.sort((a, b) => b.weight - a.weight || a.position - b.position);
    const list = element('ul', 'gathered');
    if (gathered.length === 0) list.append(element('li', 'hint', 'gathered no history item'));
    for (const item of gathered) {
      const row = element('li', 'gathered-item');
      row.dataset.id = String(item.id);
      row.dataset.weight = String(item.weight);
      const bar = element('span', 'weight-bar');
      bar.style.width = `${Math.round(item.weight * 60)}px`;
      bar.style.background = interestColour(j, 70);
      row.append(bar, element('span', 'weight', item.weight.toFixed(2)), element('span', 'item-label', label(item.id)));
      list.append(row);
    }
    const retrieved = recommendation.interest.filter((k) => k === j).length;
    card.append(element('div', 'capsule-label', `gathered ${gathered.length} of ${window.length} history items`), list, element('div', 'capsule-label', `retrieves ${retrieved} of the top ${recommendation.ids.length}`));
    cards.push(card);
  }
  const grid = element('div', 'capsule-grid');
  grid.append(...cards);
  container.replaceChildren(grid);
}

/** The merged top N: rank, item, score, the interest that retrieved it and attention's split at power p. */
export function renderRecommendations(table: HTMLTableElement, update: SessionUpdate, label: ItemLabel, onPick: (id: number) => void): void {
  const { recommendation, attention } = update;
  const head = element('thead');
  const headRow = element('tr');
  for (const title of ['#', 'item', 'score', 'retrieved by', 'label-aware attention at p']) headRow.append(element('th', undefined, title));
  head.append(headRow);
  const body = element('tbody');
  recommendation.ids.forEach((id, r) => {
    const j = recommendation.interest[r];
    const row = element('tr', 'recommendation');
    row.dataset.id = String(id);
    row.dataset.score = String(recommendation.scores[r]);
    row.dataset.interest = String(j);
    const pick = element('button', 'link', label(id));
    pick.type = 'button';
    pick.title = 'add to the history';
    pick.addEventListener('click', () => onPick(id));
    const itemCell = element('td');
    itemCell.append(pick);
    const by = element('td', undefined, `interest ${j + 1}`);
    by.style.color = interestColour(j);
    const split = element('td');
    const bar = element('div', 'split');
    attention[r].forEach((a, k) => {
      const part = element('span');
      part.style.width = `${(a * 100).toFixed(2)}%`;
      part.style.background = interestColour(k, 60);
      part.title = `interest ${k + 1}: ${a.toFixed(3)}`;
      bar.append(part);
    });
    split.append(bar);
    row.append(element('td', 'rank', String(r + 1)), itemCell, element('td', 'score', recommendation.scores[r].toFixed(4)), by, split);
    body.append(row);
  });
  table.replaceChildren(head, body);
}

const SIZE = 420;
const MARGIN = 26;

/**
 * The projection: every item as a grey dot on the canvas, and on the SVG above it the history
 * items (coloured by the interest that gathered them), the recommended items (rings in the
 * colour of the interest that retrieved them) and each interest vector (a large labelled
 * marker; hollow, on the border, when it lies beyond the items).
 */
export function renderProjection(canvas: HTMLCanvasElement, svg: SVGSVGElement, projection: ItemProjection, update: SessionUpdate | undefined): void {
  const ns = 'http://www.w3.org/2000/svg';
  const interestPoints = update ? projection.project(update.interests) : new Float64Array(0);
  // The view fits the items (loops, not Math.min(...xs): a large catalogue would overflow the
  // argument list). Interest vectors are usually longer than item vectors (a score is their
  // inner product), so one that falls outside is drawn on the border, on the ray from the items'
  // centre towards it, hollow: its direction is right, its distance is not to scale.
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 2; i < projection.points.length; i += 2) {
    const [x, y] = [projection.points[i], projection.points[i + 1]];
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  }
  const scale = (SIZE - 2 * MARGIN) / Math.max(x1 - x0, y1 - y0, 1e-9);
  // Centre the items in the square.
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  const px = (x: number) => SIZE / 2 + (x - cx) * scale;
  const py = (y: number) => SIZE / 2 - (y - cy) * scale;
  const half = SIZE / 2 - MARGIN;
  /** Screen position of a projected point, and whether it had to be pulled in to the border. */
  const onScreen = (x: number, y: number): { x: number; y: number; outside: boolean } => {
    const [dx, dy] = [px(x) - SIZE / 2, py(y) - SIZE / 2];
    const reach = Math.max(Math.abs(dx), Math.abs(dy));
    if (reach <= half) return { x: SIZE / 2 + dx, y: SIZE / 2 + dy, outside: false };
    return { x: SIZE / 2 + (dx * half) / reach, y: SIZE / 2 + (dy * half) / reach, outside: true };
  };

  canvas.width = SIZE;
  canvas.height = SIZE;
  const g = canvas.getContext('2d')!;
  g.clearRect(0, 0, SIZE, SIZE);
  g.fillStyle = 'rgba(110, 120, 130, 0.55)';
  for (let i = 2; i < projection.points.length; i += 2) g.fillRect(px(projection.points[i]) - 1.5, py(projection.points[i + 1]) - 1.5, 3, 3);

  svg.setAttribute('viewBox', `0 0 ${SIZE} ${SIZE}`);
  const shapes: SVGElement[] = [];
  const shape = (tag: string, attributes: Record<string, string | number>, className: string): SVGElement => {
    const node = document.createElementNS(ns, tag) as SVGElement;
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
    node.setAttribute('class', className);
    shapes.push(node);
    return node;
  };
  if (update) {
    const { recommendation, routing, window, firstRouted } = update;
    recommendation.ids.forEach((id, r) => {
      const node = shape('circle', { cx: px(projection.points[2 * id]), cy: py(projection.points[2 * id + 1]), r: 4, fill: 'none', stroke: interestColour(recommendation.interest[r]), 'stroke-width': 1.5 }, 'recommended');
      node.dataset.id = String(id);
    });
    window.forEach((id, i) => {
      let j = 0;
      if (routing.weights.length > 0) {
        const column = routing.weights.map((row) => row[i]);
        j = firstRouted + column.indexOf(Math.max(...column));
      }
      const node = shape('circle', { cx: px(projection.points[2 * id]), cy: py(projection.points[2 * id + 1]), r: 5, fill: interestColour(j), stroke: '#fff', 'stroke-width': 1 }, 'history');
      node.dataset.id = String(id);
    });
    for (let j = 0; j < interestPoints.length / 2; j++) {
      const { x, y, outside } = onScreen(interestPoints[2 * j], interestPoints[2 * j + 1]);
      const node = shape(
        'rect',
        { x: x - 7, y: y - 7, width: 14, height: 14, transform: `rotate(45 ${x} ${y})`, fill: outside ? '#fff' : interestColour(j), stroke: outside ? interestColour(j) : '#111', 'stroke-width': outside ? 3 : 1.5 },
        'interest',
      );
      node.dataset.interest = String(j);
      if (outside) {
        const title = document.createElementNS(ns, 'title');
        title.textContent = `interest ${j + 1} lies beyond the items, in this direction`;
        node.append(title);
      }
      const text = shape('text', { x: Math.min(x + 10, SIZE - 12), y: Math.max(y - 8, 12), 'font-size': 12, 'font-weight': 600, fill: '#111' }, 'interest-label');
      text.textContent = String(j + 1);
    }
  }
  svg.replaceChildren(...shapes);
}
