import type { Series } from './series.js';

/** One revision's series of a plot. */
export interface RevisionSeries {
  revision: string;
  series: Series;
}

/**
 * A Vega-Lite spec (the format DVC's plot templates use): one line per revision, coloured by
 * revision, with points, x and y titled by their columns.
 */
export function lineSpec(title: string, all: RevisionSeries[]): Record<string, unknown> {
  const first = all.find((s) => s.series.points.length)?.series;
  const numericX = all.every((s) => s.series.points.every((p) => typeof p.x === 'number'));
  const wholeX = numericX && all.every((s) => s.series.points.every((p) => Number.isInteger(p.x)));
  const values = all.flatMap((s) => s.series.points.map((p) => ({ x: p.x, y: p.y, revision: s.revision })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 300,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: numericX ? 'quantitative' : 'ordinal', title: first?.x ?? 'x', ...(wholeX ? { axis: { tickMinStep: 1 } } : {}) },
      y: { field: 'y', type: 'quantitative', title: first?.y ?? 'y', scale: { zero: false } },
      color: { field: 'revision', type: 'nominal', title: 'revision', sort: all.map((s) => s.revision) },
    },
  };
}

/** Renders a Vega-Lite spec to SVG, headless (no browser, no canvas). */
/**
 * A PNG of an SVG, drawn by resvg (Rust, a prebuilt Node addon from npm; no browser), at twice
 * the SVG's size, with the system's fonts for the labels and a white background.
 */
export async function renderPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  return Buffer.from(new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
