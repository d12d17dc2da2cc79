/**
 * Vega-Lite spec -> inline SVG string, in Node: compiled with vega-lite, rendered headless with vega
 * (renderer 'none', no canvas, no network). Coordinates are rounded to keep the page small.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Fonts: whatever the reader's system has. Nothing is ever fetched. */
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const BASE_CONFIG = {
  aria: false,
  font: FONT,
  background: 'transparent',
  view: { stroke: '#d0d7de' },
  axis: { labelColor: '#374151', titleColor: '#111827', gridColor: '#eef0f3', domainColor: '#9ca3af', tickColor: '#9ca3af', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600, labelColor: '#374151' },
  header: { labelFontSize: 12, labelFontWeight: 600, titleFontSize: 12, labelColor: '#111827' },
  title: { fontSize: 13, fontWeight: 600, color: '#111827' },
};

let chartCounter = 0;

/** Render a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const full = { ...spec, config: { ...BASE_CONFIG, ...((spec.config as object) ?? {}) } } as unknown as TopLevelSpec;
  const compiled = compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    return compactSvg(svg, `c${++chartCounter}`);
  } finally {
    view.finalize();
  }
}

const GEOMETRY_ATTR = /\s(d|transform|x|y|x1|x2|y1|y2|width|height|viewBox|points)="([^"]*)"/g;
const LONG_NUMBER = /(-?\d+\.\d{2})\d+/g;

/**
 * Round geometry to 0.01 px (invisible, and it halves the size of point-heavy charts), make element
 * ids unique per chart (several SVGs share one page), and drop the opaque background rectangle.
 */
export function compactSvg(svg: string, prefix: string): string {
  let out = svg.replace(GEOMETRY_ATTR, (_m, name: string, value: string) => ` ${name}="${value.replace(LONG_NUMBER, '$1')}"`);
  out = out.replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`).replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
  return out;
}
