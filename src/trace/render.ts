// Renders vega-lite specs headless (vega's SVG renderer, no browser) and SVG to PNG (resvg): the one place the
// report and the benchmark plots turn a chart into files.
import { Resvg } from '@resvg/resvg-js';
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

/** The SVG text of a vega-lite spec. */
export async function toSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG at `scale` times its size, on white. */
export function toPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}

/** Writes `<base>.svg` and `<base>.png`; returns their paths. */
export async function writeChart(spec: vl.TopLevelSpec, base: string): Promise<[string, string]> {
  const svg = await toSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, toPng(svg));
  return [`${base}.svg`, `${base}.png`];
}
