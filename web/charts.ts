/** Live line charts (uPlot) of a few series against the global training step. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesOptions {
  /** Legend label. */
  label: string;
  color: string;
  /** Line width in CSS pixels; default 2. */
  width?: number;
  /** Draw a dot at every point: for series with few points (one per epoch). */
  points?: boolean;
}

export interface ChartOptions {
  title: string;
  series: SeriesOptions[];
  /** Digits shown in the legend. */
  digits: number;
}

const HEIGHT = 220;

export class LiveChart {
  private readonly steps: number[] = [];
  private readonly values: number[][];
  private readonly plot: uPlot;
  private lastStep = 1;

  constructor(container: HTMLElement, options: ChartOptions) {
    this.values = options.series.map(() => []);
    this.plot = new uPlot(
      {
        title: options.title,
        width: Math.max(container.clientWidth, 200),
        height: HEIGHT,
        scales: {
          // Both charts span the whole run, so their steps line up while training.
          x: { time: false, range: () => [0, this.lastStep] },
          y: { range: (_u, min, max) => yRange(min, max) },
        },
        axes: [{ label: 'step' }, {}],
        series: [
          { label: 'step' },
          ...options.series.map((series) => ({
            label: series.label,
            stroke: series.color,
            width: series.width ?? 2,
            points: { show: series.points ?? false, size: 7, fill: series.color },
            value: (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(options.digits)),
          })),
        ],
      },
      [[], ...this.values],
      container,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(container.clientWidth, 200), height: HEIGHT })).observe(container);
  }

  /** Sets the last step of the x axis (the run's total steps). */
  setLastStep(step: number): void {
    this.lastStep = Math.max(step, 1);
    this.redraw();
  }

  /** Adds a point: one value per series, in the order given to the constructor. */
  push(step: number, ...values: number[]): void {
    this.steps.push(step);
    this.values.forEach((series, i) => series.push(values[i]));
    this.redraw();
  }

  clear(): void {
    this.steps.length = 0;
    for (const series of this.values) series.length = 0;
    this.redraw();
  }

  private redraw(): void {
    this.plot.setData([this.steps, ...this.values]);
  }
}

/** A y range from 0 (or the data's minimum, if negative) with some headroom. */
function yRange(min: number | null, max: number | null): [number, number] {
  if (min == null || max == null) return [0, 1];
  const top = max > 0 ? max * 1.1 : 1;
  return [Math.min(0, min), top];
}
