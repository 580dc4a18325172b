import { MkError } from '../errors/index.js';
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

/**
 * What draws a PNG of an SVG: resvg (Rust, a prebuilt Node addon from npm; no browser), at
 * twice the SVG's size, with the system's fonts for the labels and a white background. resvg
 * is an optional peer of mk (4 MB for one option): loaded here, before anything is written,
 * and when it is not installed one line says what to install.
 */
export async function pngRenderer(): Promise<(svg: string) => Buffer> {
  const { Resvg } = await loadResvg();
  return (svg) => Buffer.from(new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
}

/** The package that draws PNGs, installed beside mk by the users who want them. */
export const RESVG = '@resvg/resvg-js';

async function loadResvg(): Promise<typeof import('@resvg/resvg-js')> {
  try {
    return await import('@resvg/resvg-js');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((e as Error).message).includes(RESVG);
    const why = missing ? 'which is not installed' : `which could not be loaded (${String((e as Error).message).split('\n')[0]})`;
    throw new MkError('EUNSUPPORTED', `--png needs the optional package ${RESVG}, ${why}`, {
      hint: `install it beside mk ('npm install -g ${RESVG}', or 'npm install ${RESVG}' where mk is a project dependency), or leave out --png for SVGs only`,
      cause: e,
    });
  }
}

/** Renders a Vega-Lite spec to SVG, headless (no browser, no canvas). */
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
