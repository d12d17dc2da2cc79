/**
 * Vega-Lite spec -> inline SVG string, in Node: compiled with vega-lite, rendered headless with vega
 * (renderer 'none', no canvas, no network). Coordinates are rounded to keep the page small.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Fonts: whatever the reader's system has. Nothing is ever fetched. */
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const BASE_CONFIG = {
  aria: false,
  font: FONT,
  background: 'transparent',
  view: { stroke: '#d0d7de' },
  axis: {
    labelColor: '#374151',
    titleColor: '#111827',
    gridColor: '#eef0f3',
    domainColor: '#9ca3af',
    tickColor: '#9ca3af',
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 600,
  },
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
const LONG_NUMBER = /(-?\d+\.\d)\d+/g;

/**
 * Round geometry to 0.1 px (invisible, and it halves the size of point-heavy charts), make element
 * ids unique per chart (several SVGs share one page), and drop the opaque background rectangle.
 */
function compactSvg(svg: string, prefix: string): string {
  let out = svg.replace(GEOMETRY_ATTR, (_m, name: string, value: string) => ` ${name}="${value.replace(LONG_NUMBER, '$1')}"`);
  out = mergeCircles(out);
  out = mergeRects(out);
  out = out
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
  return out;
}

const CIRCLE = /<path transform="translate\((-?[\d.]+),(-?[\d.]+)\)" d="M([\d.]+),0A\3,\3,0,1,1,-\3,0A\3,\3,0,1,1,\3,0"((?: [a-z-]+="[^"]*")*)\/>/g;

function round1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/**
 * Runs of circle symbols drawn one after another with the same radius and style (the test points of
 * a decision plot) become one <path> of arcs: about 40 bytes a point instead of 150.
 */
function mergeCircles(svg: string): string {
  let out = '';
  let last = 0;
  let run: { r: string; attrs: string; d: string[] } | null = null;
  let runEnd = -1;
  const flush = () => {
    if (run) out += `<path d="${run.d.join('')}"${run.attrs}/>`;
    run = null;
  };
  for (const m of svg.matchAll(CIRCLE)) {
    const [whole, x, y, r, attrs] = m;
    const at = m.index;
    const cur = run as { r: string; attrs: string; d: string[] } | null;
    if (!cur || at !== runEnd || cur.r !== r || cur.attrs !== attrs) {
      flush();
      out += svg.slice(last, at);
      run = { r, attrs, d: [] };
    }
    const rr = Number(r);
    (run as unknown as { d: string[] }).d.push(`M${round1(Number(x) + rr)},${y}a${r},${r},0,1,1,${round1(-2 * rr)},0a${r},${r},0,1,1,${round1(2 * rr)},0`);
    last = at + whole.length;
    runEnd = last;
  }
  flush();
  return out + svg.slice(last);
}

const RECT_GROUP = /(<g class="mark-rect[^"]*"[^>]*>)((?:<path d="M[^"]*Z"(?: [a-z-]+="[^"]*")*\/>)+)(<\/g>)/g;
const RECT = /<path d="(M[^"]*Z)"((?: [a-z-]+="[^"]*")*)\/>/g;

/**
 * Rect marks without transforms that share a style (the probability bands of a decision plot) become
 * one <path> per style. They do not overlap (but for the seams they hide), so order does not matter.
 */
function mergeRects(svg: string): string {
  return svg.replace(RECT_GROUP, (_m, open: string, body: string, close: string) => {
    const byStyle = new Map<string, string[]>();
    for (const r of body.matchAll(RECT)) {
      const list = byStyle.get(r[2]);
      if (list) list.push(r[1]);
      else byStyle.set(r[2], [r[1]]);
    }
    let merged = '';
    for (const [attrs, ds] of byStyle) merged += `<path d="${ds.join('')}"${attrs}/>`;
    return open + merged + close;
  });
}
