/** Plot rendering shared by the benches: Vega-Lite specs rendered to SVG text, headless. */
import * as vega from 'vega';
import * as vl from 'vega-lite';

/** A Vega-Lite spec rendered to SVG text, headless (no browser, no canvas). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
