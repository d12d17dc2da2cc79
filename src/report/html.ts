/**
 * The report page: one self-contained HTML file. Styles and the one script are inline, charts are
 * inline SVG, the trial rows are a JSON block. A Content-Security-Policy forbids every network
 * request and every script but ours (by hash). Every string from the database goes through esc().
 */
import { createHash } from 'node:crypto';
import { type Finding, familyWords } from '../analysis/answer.js';
import type { Attribution, Comparison, Lens } from '../analysis/ratio-group.js';
import type { Setting } from '../analysis/setting.js';
import { type MeanCI, type PairedDiff, type Verdict, verdictOf } from '../analysis/stats.js';
import { formatDuration } from '../duration.js';
import { fixed3, signed3 } from '../numbers.js';
import { isMetricName, METRICS, type MetricName } from '../types.js';
import {
  BAND_COLORS,
  calibrationSpec,
  decisionSpec,
  heatmapSpec,
  lossCurveGammas,
  lossCurvesSpec,
  metricsVsImbalanceSpec,
  POINT_COLORS,
  remediesSpec,
  remedyCurves,
  remedyCurvesSpec,
  SERIES_COLORS,
  trainingCurvesSpec,
} from './charts.js';
import { TABLE_SCRIPT } from './client.js';
import type { GroupSummary, ReportModel } from './data.js';
import { renderSvg } from './render.js';

/** Escape text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** JSON safe to embed in a <script> element: no '<', '>', '&' or line separators survive literally. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** 3 decimals, proper minus sign; a value that is not 0 never shows as 0.000; '—' for null. */
export function num(v: number | null | undefined): string {
  return fixed3(v);
}

export function signed(v: number | null | undefined): string {
  return signed3(v);
}

/** "0.712 ± 0.031" (n ≥ 2), "0.712 (n=1, no CI)", "—". */
function meanText(ci: MeanCI | undefined): string {
  if (!ci || ci.mean === null) return '—';
  if (ci.n < 2 || ci.half === null) return `${num(ci.mean)} (n=1, no CI)`;
  return `${num(ci.mean)} ± ${num(ci.half)}`;
}

/** Display form of a setting label: "bce" -> "BCE", "weighted_bce(α=0.9)" -> "weighted BCE (α=0.9)". */
function pretty(label: string | null | undefined): string {
  return String(label ?? '')
    .replace(/^bce\b/, 'BCE')
    .replace(/^weighted_bce\(/, 'weighted BCE (');
}

/** "+0.012 [−0.010, +0.034]", "+0.012 (n=1, no CI)", or "identical on every seed". */
function deltaText(d: PairedDiff | undefined): string {
  if (!d || d.mean === null) return '—';
  if (d.ties === d.n) return d.n === 1 ? 'identical (n=1)' : `identical on all ${d.n} seeds`;
  if (d.n < 2 || d.lo === null || d.hi === null) return `${signed(d.mean)} (n=1, no CI)`;
  return `${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi)}]`;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  better: 'better than BCE',
  worse: 'worse than BCE',
  unclear: 'no clear difference',
  same: 'identical to BCE',
  n1: 'one seed: no CI',
  none: 'no BCE baseline',
  too_few: 'too few positives to tell',
};

function badge(v: Verdict, text = VERDICT_TEXT[v]): string {
  return `<span class="badge badge-${v}">${esc(text)}</span>`;
}

function imbalanceTitle(g: { title: string; minority_fraction: number | null }): string {
  if (g.minority_fraction === null) return esc(g.title);
  const pct = Math.round(g.minority_fraction * 1000) / 10;
  return `${esc(g.title)} <span class="muted">(minority ${esc(pct)}%)</span>`;
}

function duration(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? formatDuration(ms) : '—';
}

// ---------------------------------------------------------------- the answer

const LENS_TITLE: Record<Lens, string> = { fixed: 'fixed threshold', tuned: 'tuned threshold', ranking: 'ranking (PR-AUC)' };

/** The three lenses of one ratio as a small table: who was compared, Δ vs BCE with its CI, the verdict. */
function lensTable(m: ReportModel, gs: GroupSummary): string {
  const rows = (['fixed', 'tuned', 'ranking'] as Lens[])
    .map((lens) => {
      const l = gs.lenses[lens];
      const c = l.comparison;
      const title = lens === 'fixed' && m.threshold !== null ? `at ${m.threshold}` : LENS_TITLE[lens];
      if (!c) return `<tr><th scope="row">${esc(title)}</th><td colspan="3" class="muted">${l.challenger ? 'no BCE to compare with' : 'not swept'}</td></tr>`;
      return `<tr><th scope="row">${esc(title)}</th><td>${esc(pretty(l.challenger?.label))}</td><td class="num">${esc(deltaText(c.diff))}</td><td>${badge(c.verdict)}</td></tr>`;
    })
    .join('');
  return `<table class="lenses"><thead><tr><th>lens</th><th>best ${esc(familyWords(gs.group.answerFamily))}</th><th class="num">Δ vs BCE [95% CI]</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const FINDING_CLASS: Record<Finding, string> = {
  separates: 'better',
  'operating-point': 'unclear',
  'no-difference': 'unclear',
  worse: 'worse',
  'other-better': 'unclear',
  'too-few': 'none',
  'no-baseline': 'none',
  'no-results': 'none',
};

const FINDING_TEXT: Record<Finding, string> = {
  separates: 'separates the classes better',
  'operating-point': 'only moves the operating point',
  'no-difference': 'no clear difference',
  worse: 'BCE is the better choice',
  'other-better': 'another setting is better',
  'too-few': 'too few positives to tell',
  'no-baseline': 'no BCE baseline',
  'no-results': 'no results yet',
};

function answerCard(m: ReportModel, gs: GroupSummary): string {
  const chosen = gs.group.chosen();
  const st = chosen?.stats(m.metric);
  const partial = st && st.n < gs.seedsPlanned ? ` <span class="warn">(${st.n} of ${gs.seedsPlanned} seeds done)</span>` : '';
  const finding = gs.answer.finding;
  const tie = gs.tiedWithBest.length
    ? `<div class="tie">tied on validation with ${esc(
        gs.tiedWithBest
          .slice(0, 2)
          .map((s) => pretty(s.label))
          .join(', '),
      )}${gs.tiedWithBest.length > 2 ? ` and ${gs.tiedWithBest.length - 2} more` : ''}</div>`
    : '';
  return `<div class="card verdict-${FINDING_CLASS[finding]}">
  <div class="card-head">${imbalanceTitle(gs)}</div>
  <div class="winner">${esc(pretty(chosen?.label ?? '—'))}</div>${tie}
  <div class="score"><span class="big">${num(st?.mean)}</span> <span class="pm">${st?.half != null ? `± ${num(st.half)}` : st ? '(n=1)' : ''}</span> <span class="muted small">${esc(m.metricLabel)} on test</span>${partial}</div>
  ${finding === 'too-few' || finding === 'no-results' || finding === 'no-baseline' ? '' : lensTable(m, gs)}
  <div class="card-foot">${badge(FINDING_CLASS[finding] as Verdict, FINDING_TEXT[finding])}</div>
</div>`;
}

function answerSection(m: ReportModel): string {
  const groups = m.groups.filter((g) => g.group.chosen());
  if (!groups.length) {
    return `<section id="answer" class="answer"><h2>The answer</h2><p class="lead">No trial has completed yet${m.running ? ' — the sweep is still running' : ''}. ${m.counts.failed ? `${m.counts.failed} failed: see <a href="#failures">failed trials</a>.` : ''}</p></section>`;
  }
  const selection =
    m.analysis.selection === 'validation'
      ? 'chosen on validation, reported on test'
      : '<span class="warn">chosen on the test split itself (no validation split): margins are optimistic</span>';
  return `<section id="answer" class="answer">
<h2>The answer <span class="muted small">best setting at each imbalance ratio by ${esc(m.metricLabel)} (${m.higherIsBetter ? 'higher' : 'lower'} is better), ${selection}; mean ± 95% CI over seeds</span></h2>
<p class="verdict-line">${esc(m.headline)}</p>
<div class="cards">${groups.map((gs) => answerCard(m, gs)).join('\n')}</div>
<ul class="lead">${groups.map((gs) => `<li>${esc(gs.answer.text)}</li>`).join('')}</ul>
<p class="fine">Each setting is chosen by its mean ${esc(m.metricLabel)} over seeds on the <b>validation</b> split and reported on the <b>test</b> split, which played no part in the choice. Three lenses: the label metric at the fixed threshold; the same metric when every trial, BCE included, uses its own threshold tuned on validation; and PR-AUC, which needs no threshold. A loss that wins only at the fixed threshold moves the operating point: a practitioner who tunes the threshold gets the same from BCE. Δ is the setting minus the best BCE setting (chosen the same way), paired by seed (same seed = same dataset, split and initialisation), with a Student-t 95% CI over seeds. The chosen setting's verdict reads its CI; every other setting in the tables and in <code>focal-sweep best</code> is one of many looked at, so its verdict uses Holm's correction over the settings compared at its ratio. A ratio whose validation or test split has fewer than 10 positives gets no verdict.</p>
</section>`;
}

// ---------------------------------------------------------------- 1. summary

function summarySection(m: ReportModel): string {
  const s = m.analysis.sweep;
  const c = m.counts;
  const last = m.runs.at(-1);
  const machine = m.machine
    ? [
        m.machine.cpu,
        m.machine.cores !== undefined ? `${m.machine.cores} cores` : null,
        m.machine.memory_gb !== undefined ? `${m.machine.memory_gb} GB` : null,
        m.machine.os,
      ]
        .filter(Boolean)
        .join(' · ')
    : '—';
  const versions = m.versions
    ? Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ')
    : '—';
  const trialsText = [
    `<b>${c.complete}</b> complete`,
    `<b class="${c.failed ? 'bad' : ''}">${c.failed}</b> failed`,
    c.interrupted ? `<b class="bad">${c.interrupted}</b> interrupted` : '',
    c.running ? `${c.running} running` : '',
    c.queued ? `${c.queued} not run yet` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const rows: [string, string][] = [
    ['Sweep', esc(s.name)],
    [
      'Objective',
      `${esc(isMetricName(s.objective) ? METRICS[s.objective].label : s.objective)}${m.metric !== s.objective ? ` <span class="warn">(this report ranks by ${esc(m.metricLabel)}, from --objective)</span>` : ''}`,
    ],
    ['Trials', `${trialsText} <span class="muted">of ${c.total} in the spec</span>`],
    [
      'Selection',
      m.analysis.selection === 'validation'
        ? 'settings chosen on the validation split, reported on the test split'
        : '<span class="warn">settings chosen on the test split (the sweep has no validation split: data.validation_fraction 0), so the winners’ margins are optimistic</span>',
    ],
    [
      'Grid',
      `${m.analysis.settings.length} settings × ${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'} (${esc(m.seeds.join(', '))}) over ${m.groups.length} imbalance ratio${m.groups.length === 1 ? '' : 's'}${m.otherParams.length ? `; also swept: ${esc(m.otherParams.join(', '))}` : ''}`,
    ],
    [
      'Wall time',
      `${duration(m.wallMs)} <span class="muted">over ${m.runs.length} run${m.runs.length === 1 ? '' : 's'}${last ? `; last run ${esc(last.status)}, started ${esc(last.started_at)}` : ''}</span>`,
    ],
    ['Backend', m.backends.length ? m.backends.map(([b, n]) => `${esc(b)} <span class="muted">(${n} trials)</span>`).join(', ') : esc(last?.backend ?? '—')],
    ['Workers', last ? `${esc(last.workers ?? '—')} ${esc(last.mode === 'redis' ? 'distributed (Redis)' : 'local threads')}` : '—'],
    ['Machine', esc(machine)],
    ['Versions', `<span class="small">${esc(versions)}</span>`],
    ['Database', `<code>${esc(m.dbPath)}</code>`],
    ['Spec file', s.spec_file ? `<code>${esc(s.spec_file)}</code>` : '—'],
    ['Report', `generated ${esc(m.generatedAt)}`],
  ];
  return `<section id="summary">
<h2>1. Summary</h2>
<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<details><summary>Sweep spec (YAML)</summary><pre class="spec">${esc(s.spec_text)}</pre></details>
</section>`;
}

// ---------------------------------------------------------------- 2. best settings

function bestTable(m: ReportModel, gs: GroupSummary): string {
  const cons = gs.contenders;
  const head = cons
    .map((c) => {
      const label = `<th scope="col"><span class="role role-${esc(c.role.replace(/ /g, '-'))}">${esc(c.role)}</span><br><span class="setting">${esc(pretty(c.setting.label))}</span></th>`;
      return c.vsBce ? `${label}<th scope="col" class="delta-col">Δ vs BCE<br><span class="muted small">paired, 95% CI</span></th>` : label;
    })
    .join('');
  const body = m.metrics
    .map((metric) => {
      const cells = cons
        .map((c) => {
          const v = `<td class="num">${esc(meanText(c.stats[metric]))}</td>`;
          if (!c.vsBce) return v;
          const d = c.vsBce[metric] as PairedDiff;
          const verdict = { better: 'pos', worse: 'neg' }[verdictOf(d, METRICS[metric].higherIsBetter) as string] ?? '';
          return `${v}<td class="num delta-col ${verdict}">${esc(deltaText(d))}${d.n ? ` <span class="muted small">${d.better}/${d.n}</span>` : ''}</td>`;
        })
        .join('');
      return `<tr${metric === m.metric ? ' class="objective"' : ''}><th scope="row">${esc(METRICS[metric].label)}${metric === m.metric ? ' <span class="muted small">(objective)</span>' : ''}</th>${cells}</tr>`;
    })
    .join('');
  const seeds = cons.map((c) => `${esc(c.role)}: ${c.stats[m.metric]?.n ?? 0}`).join(', ');
  const chosen = gs.group.chosen();
  const v = chosen ? gs.group.comparisons().get(chosen.key)?.verdict : undefined;
  return `<div class="group"><h3>${imbalanceTitle(gs)} ${v ? badge(v) : chosen?.isBaseline ? badge('same', 'BCE chosen') : ''}</h3>
<div class="table-wrap"><table class="best"><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table></div>
<p class="caption">Test split: mean ± 95% CI half-width over seeds (seeds per setting — ${seeds}). Each setting was chosen by its validation mean. Δ columns: that setting minus BCE, paired by seed, mean [95% CI]; the small n/m is how many of the paired seeds it was better on. Green: the CI is entirely on the better side; red: entirely on the worse side (uncorrected: see <code>focal-sweep best</code> for Holm-corrected verdicts of every row).</p></div>`;
}

function bestSection(m: ReportModel): string {
  const groups = m.groups.filter((g) => g.group.chosen());
  return `<section id="best">
<h2>2. Best settings per imbalance ratio</h2>
<p>For each ratio: the setting chosen by ${esc(m.metricLabel)} on validation, the best focal and weighted-BCE settings when different, and the BCE baseline, each on the key metrics of the test split.</p>
${groups.length ? groups.map((g) => bestTable(m, g)).join('\n') : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

// ---------------------------------------------------------------- 3. γ or α

function comparisonCell(c: Comparison | null | undefined): string {
  if (!c) return '<td class="muted">—</td><td></td>';
  return `<td class="num">${esc(deltaText(c.diff))}</td><td>${badge(c.verdict, c.verdict === 'better' ? 'it helps' : c.verdict === 'worse' ? 'it hurts' : VERDICT_TEXT[c.verdict])}</td>`;
}

function attributionSection(m: ReportModel): string {
  const rows = m.groups
    .filter((g) => g.attribution)
    .map((g) => {
      const a = g.attribution as Attribution;
      const lens = (l: Lens) => {
        const x = a.byLens[l];
        return `<tr><td>${esc(LENS_TITLE[l])}</td>${comparisonCell(x.gamma)}${comparisonCell(x.alpha)}</tr>`;
      };
      return `<div class="group"><h3>${imbalanceTitle(g)}: ${esc(pretty(a.focal.label))}</h3>
<div class="table-wrap"><table class="plain"><thead><tr><th>lens</th><th class="num">γ: vs ${esc(pretty(a.gammaTwin?.label ?? 'its γ = 0 twin (not run)'))}</th><th></th><th class="num">α: vs ${esc(pretty(a.alphaTwin?.label ?? (a.focal.loss.kind === 'focal' && a.focal.loss.alpha === 'none' ? '— (α = none)' : 'its α = none twin (not run)')))}</th><th></th></tr></thead>
<tbody>${(['fixed', 'tuned', 'ranking'] as Lens[]).map(lens).join('')}</tbody></table></div>
${g.answer.attribution ? `<p>${esc(g.answer.attribution)}</p>` : ''}</div>`;
    });
  return `<section id="attribution">
<h2>3. γ or α: where the focal gain comes from</h2>
<p>The best focal setting (γ*, α*) at each ratio against its twins with everything else equal: weighted BCE at α* (γ = 0: what the focusing term γ adds) and focal at γ* without α (what the class weighting α adds), paired by seed on test. The sweep adds these γ = 0 controls by itself (<code>grid.controls</code>).</p>
${rows.length ? rows.join('\n') : '<p class="empty">No focal setting has completed.</p>'}
</section>`;
}

// ---------------------------------------------------------------- 4. remedies

/** A compact cell: the setting, its mean ± CI, and its Δ vs BCE coloured by its verdict. */
function lensCell(setting: Setting | null, metric: MetricName, c: Comparison | null): string {
  if (!setting) return '<td class="muted">—</td>';
  const cls = c ? (({ better: 'pos', worse: 'neg' } as Record<string, string>)[c.verdict] ?? '') : '';
  const delta = c ? `<br><span class="small">Δ ${esc(deltaText(c.diff))}${c.verdict === 'too_few' ? ' · too few positives' : ''}</span>` : '';
  return `<td class="${cls}"><span class="setting">${esc(pretty(setting.label))}</span><br><span class="num">${esc(meanText(setting.stats(metric)))}</span>${delta}</td>`;
}

async function remediesSection(m: ReportModel): Promise<string> {
  const groups = m.groups.filter((g) => g.remedies.length > 1);
  const lenses: Lens[] = ['fixed', 'tuned', 'ranking'];
  const rows = groups
    .map((g) =>
      g.remedies
        .map((r, i) => {
          const head = i === 0 ? `<th scope="rowgroup" rowspan="${g.remedies.length}">${imbalanceTitle(g)}</th>` : '';
          const cells = lenses.map((l) => lensCell(r.byLens[l].setting, g.lenses[l].metric, r.byLens[l].comparison)).join('');
          return `<tr${i === 0 ? ' class="group-start"' : ''}>${head}<th scope="row">${esc(familyWords(r.family))}</th>${cells}</tr>`;
        })
        .join(''),
    )
    .join('');
  const svg =
    m.remedyPoints.length && groups.length
      ? await renderSvg(
          remediesSpec(
            m.remedyPoints,
            m.groups.map((g) => g.title),
          ),
        )
      : '';
  const head = lenses.map((l) => `<th>${esc(l === 'fixed' && m.threshold !== null ? `at ${m.threshold}` : LENS_TITLE[l])}</th>`).join('');
  return `<section id="remedies">
<h2>4. Remedies side by side</h2>
<p>The best setting of each family (each loss, and each resampling mode) at every ratio, through each lens: each family's best is chosen on validation by that lens's metric, then compared with BCE on test, paired by seed. Green: better than BCE (its CI clears zero); red: worse.</p>
${
  groups.length
    ? `${svg ? figure(svg, 'Each family’s best setting per lens: mean and 95% CI over seeds on test.') : ''}
<div class="table-wrap"><table class="plain remedies"><thead><tr><th>ratio</th><th>family</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p class="empty">Only one family was swept.</p>'
}
</section>`;
}

// ---------------------------------------------------------------- charts

function figure(svg: string, caption: string, cls = ''): string {
  return `<figure class="chart ${cls}">${svg}${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

async function heatmapSection(m: ReportModel): Promise<string> {
  const parts: string[] = [];
  for (const h of m.heatmaps) {
    for (const gs of m.groups) {
      const cells = h.cells.filter((c) => c.imbalance === gs.title);
      if (!cells.length) continue;
      const svg = await renderSvg(heatmapSpec(cells, h.xTitle, m.metricLabel, m.higherIsBetter));
      parts.push(`<div class="heat"><h3>${h.family === 'focal' ? 'focal' : 'class-balanced'} · ${imbalanceTitle(gs)}</h3>${figure(svg, '')}</div>`);
    }
  }
  return `<section id="heatmaps">
<h2>5. Heatmaps of ${esc(m.metricLabel)}</h2>
<p>Mean ${esc(m.metricLabel)} over seeds on test for every γ (rows) and α (columns) at each imbalance ratio${m.heatmaps.some((h) => h.family === 'class_balanced') ? ', and for class-balanced loss every γ and β' : ''}. Row γ = 0 holds plain BCE (α none) and weighted BCE; ★ marks the setting chosen on validation. Colour scales are per ratio.${m.heatNote ? ` ${esc(m.heatNote)}` : ''}</p>
${parts.length ? `<div class="heats">${parts.join('\n')}</div>` : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

async function vsImbalanceSection(m: ReportModel): Promise<string> {
  const imbalances = m.groups.map((g) => g.title);
  const labels = m.metrics.map((x) => METRICS[x].label);
  const svg = m.metricPoints.length ? await renderSvg(metricsVsImbalanceSpec(m.metricPoints, imbalances, labels)) : '';
  const weighted = m.metricPoints.some((p) => p.series === 'best weighted BCE');
  return `<section id="vs-imbalance">
<h2>6. Metrics against imbalance ratio</h2>
<p>BCE vs the best focal setting${weighted ? ' vs the best weighted BCE' : ''} at each ratio (chosen by ${esc(m.metricLabel)} on validation), on each key metric of the test split: mean and 95% CI over seeds (CIs clipped to the metric's range).${weighted ? '' : ' Weighted BCE was not swept.'}</p>
${svg ? figure(svg, '') : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

async function calibrationSection(m: ReportModel): Promise<string> {
  const svg = m.calibration.length
    ? await renderSvg(
        calibrationSpec(
          m.calibration,
          m.groups.map((g) => g.title),
        ),
      )
    : '';
  const ece = m.calibration.map((c) => `${esc(c.imbalance)} ${esc(c.series)}: ECE ${esc(meanText(c.ece))}`).join(' · ');
  return `<section id="calibration">
<h2>7. Calibration</h2>
<p>Reliability of the predicted probabilities on test: each point is one of 15 equal-width bins of predicted P(minority), pooled over seeds, against the share of positives in it; the diagonal is perfect calibration. Focal loss and α push probabilities away from the true frequencies, which matters to anyone who thresholds or averages them. Expected calibration error (ECE, lower is better) is the count-weighted distance to the diagonal.</p>
${svg ? `${figure(svg, ece)}` : '<p class="empty">No calibration recorded (trials of an older version of focal-sweep).</p>'}
</section>`;
}

async function lossSection(m: ReportModel): Promise<string> {
  const swept = [...new Set(m.analysis.settings.flatMap((s) => (s.loss.kind === 'focal' ? [s.loss.gamma] : [])))];
  const gammas = lossCurveGammas(swept);
  const svg = await renderSvg(lossCurvesSpec(gammas, swept));
  const remedies = remedyCurves(
    m.analysis.settings.map((s) => s.loss),
    m.groups[Math.floor((m.groups.length - 1) / 2)]?.minority_fraction ?? null,
  );
  const remedySvg = remedies.curves.length ? await renderSvg(remedyCurvesSpec(remedies)) : '';
  return `<section id="loss-functions">
<h2>8. The loss functions</h2>
<p>Focal loss FL(p<sub>t</sub>) = −α<sub>t</sub>(1 − p<sub>t</sub>)<sup>γ</sup> log p<sub>t</sub>, where p<sub>t</sub> is the predicted probability of the true class. γ = 0 is cross-entropy (CE/BCE). Larger γ shrinks the loss of well-classified examples (p<sub>t</sub> &gt; 0.6) by orders of magnitude, so training focuses on the hard ones; α<sub>t</sub> (α for the minority, 1 − α for the majority; “inverse” = the majority fraction) re-weights the classes and is left at 1 here. Solid lines: γ values in this sweep; dashed: for reference.</p>
${figure(svg, '')}
${remedySvg ? `<p>The other remedies in this sweep, as losses of a minority example (y = 1) over its p_t, beside CE: Poly-1 adds ε·(1 − p_t); logit adjustment trains on z + τ·log(π₁/π₀), which for a rare class raises the loss of every minority example${remedies.fraction !== null ? ` (drawn at the minority share ${esc(Math.round(remedies.fraction * 1000) / 10)}%)` : ''}; class-balanced weights scale CE by the minority weight w₁ (drawn for 1,000 training rows at that share).</p>${figure(remedySvg, '')}` : ''}
</section>`;
}

async function trainingSection(m: ReportModel): Promise<string> {
  const imbalances = m.groups.map((g) => g.title).filter((i) => m.curves.some((c) => c.imbalance === i));
  const svg = m.curves.length ? await renderSvg(trainingCurvesSpec(m.curves, imbalances)) : '';
  return `<section id="training">
<h2>9. Training curves of the best trials</h2>
<p>BCE vs the best focal setting at each ratio (and the overall winner when it is neither), one line per seed. Training loss is each trial's own loss, so its scale differs between losses; the evaluation log loss (BCE on the evaluation split) and PR-AUC are comparable.</p>
${svg ? figure(svg, '') : '<p class="empty">No per-epoch curves recorded.</p>'}
</section>`;
}

function decisionLegend(): string {
  const bands = BAND_COLORS.map((c, i) => `<span class="swatch" style="background:${c}" title="p ${i / 10}–${(i + 1) / 10}"></span>`).join('');
  return `<div class="legend">predicted P(minority): <span class="muted">0</span>${bands}<span class="muted">1</span> (boundary at 0.5 where blue turns orange) · test points: <span class="dot" style="background:${POINT_COLORS.majority}"></span> majority <span class="dot minority" style="background:${POINT_COLORS.minority}"></span> minority</div>`;
}

async function decisionSection(m: ReportModel): Promise<string> {
  const rows: string[] = [];
  for (const row of m.decision) {
    const gs = m.groups.find((g) => g.title === row.imbalance);
    const notes = (row.notes ?? []).map((n) => `<p class="empty">${esc(n)}</p>`).join('');
    if (!row.panels.length) {
      rows.push(`<div class="drow"><h3>${gs ? imbalanceTitle(gs) : esc(row.imbalance)}</h3><p class="empty">${esc(row.missing ?? '')}</p>${notes}</div>`);
      continue;
    }
    const panels: string[] = [];
    for (const p of row.panels) {
      const svg = await renderSvg(decisionSpec(p));
      const shown =
        p.points.length < p.pointsTotal ? ` · ${p.points.length} of ${p.pointsTotal} test points (all minority)` : ` · ${p.pointsTotal} test points`;
      const color = SERIES_COLORS[p.role] ?? '#111827';
      panels.push(
        figure(
          svg,
          `<span class="role" style="border-color:${color};color:${color}">${esc(p.role)}</span> ${esc(pretty(p.setting))}<br><span class="muted">seed ${esc(p.seed)} · test accuracy ${num(p.accuracy)} · minority F1 ${num(p.minorityF1)}${p.thresholdTuned !== null ? ` · tuned threshold ${num(p.thresholdTuned)}` : ''}${esc(shown)}</span>`,
          'dpanel',
        ),
      );
    }
    rows.push(`<div class="drow"><h3>${gs ? imbalanceTitle(gs) : esc(row.imbalance)}</h3><div class="panels">${panels.join('')}</div>${notes}</div>`);
  }
  return `<section id="decision">
<h2>10. Decision regions</h2>
<p>Predicted probability of the minority class over the 2-D feature space, BCE vs the best focal setting, with the test points of the same dataset (the same seed in every panel of a row). The colours change at p = 0.5; the dashed line is the trial's own threshold tuned on validation.</p>
${m.decisionNote ? `<p class="empty">${esc(m.decisionNote)}</p>` : `${decisionLegend()}${rows.join('\n')}`}
</section>`;
}

// ---------------------------------------------------------------- 8. failures

const MAX_FAILURE_ROWS = 500;

function failuresSection(m: ReportModel): string {
  const f = m.failures;
  if (!f.length) {
    return `<section id="failures"><h2>11. Failed and interrupted trials</h2><p class="ok">None: every trial that ran completed.${m.counts.queued ? ` ${m.counts.queued} trial${m.counts.queued === 1 ? ' has' : 's have'} not run yet.` : ''}</p></section>`;
  }
  const byMessage = new Map<string, { n: number; states: Set<string>; example: string }>();
  for (const x of f) {
    const e = byMessage.get(x.error) ?? { n: 0, states: new Set<string>(), example: x.setting };
    e.n++;
    e.states.add(x.state);
    byMessage.set(x.error, e);
  }
  const grouped = [...byMessage]
    .sort((a, b) => b[1].n - a[1].n)
    .map(
      ([msg, e]) =>
        `<tr><td class="num">${e.n}</td><td>${esc([...e.states].join(', '))}</td><td class="errmsg">${esc(msg)}</td><td>${esc(e.example)}</td></tr>`,
    )
    .join('');
  const list = f
    .slice(0, MAX_FAILURE_ROWS)
    .map(
      (x) =>
        `<tr><td class="state state-${esc(x.state)}">${esc(x.state)}</td><td>${esc(x.setting)}</td><td class="num">${esc(x.seed)}</td><td class="num">${esc(x.attempts)}</td><td class="errmsg">${esc(x.error)}</td><td class="mono">${esc(x.key)}</td></tr>`,
    )
    .join('');
  return `<section id="failures">
<h2>11. Failed and interrupted trials <span class="count bad">${f.length}</span></h2>
<p>Rerun failed trials with <code>focal-sweep run SPEC --retry-failed</code>; interrupted ones rerun on the next <code>run</code>. By message:</p>
<div class="table-wrap"><table class="plain"><thead><tr><th class="num">trials</th><th>state</th><th>message</th><th>example setting</th></tr></thead><tbody>${grouped}</tbody></table></div>
<details${f.length <= 20 ? ' open' : ''}><summary>Every failed or interrupted trial${f.length > MAX_FAILURE_ROWS ? ` (first ${MAX_FAILURE_ROWS} of ${f.length}; all are in the trials table below and in the <code>failures</code> SQL view)` : ''}</summary>
<div class="table-wrap"><table class="plain"><thead><tr><th>state</th><th>setting</th><th class="num">seed</th><th class="num">attempts</th><th>message</th><th>key</th></tr></thead><tbody>${list}</tbody></table></div>
</details>
</section>`;
}

// ---------------------------------------------------------------- 9. all trials

function trialsSection(m: ReportModel): string {
  // the filter's example names a ratio this sweep has
  const ratio = m.groups.at(-1)?.group.ratio.split(' ')[0] ?? '90:10';
  const data = { ...m.table, sort: m.metric, dir: m.higherIsBetter ? 'desc' : 'asc', example: `focal γ=2 ${ratio} failed` };
  return `<section id="trials">
<h2>12. All trials <span class="count">${m.table.rows.length}</span></h2>
<p>Click a column to sort; type to filter (every word must match the setting, state, key or error). Metrics are rounded to 4 significant digits here; the database has full precision: <code>focal-sweep query "select * from results" --db ${esc(m.dbPath)}</code>.</p>
<div id="trials-table"></div>
<noscript><p class="empty">The table needs JavaScript. Everything in it is in the database: <code>sqlite3 ${esc(m.dbPath)} "select * from results"</code>.</p></noscript>
<script type="application/json" id="trial-data">${jsonForScript(data)}</script>
</section>`;
}

// ---------------------------------------------------------------- page

const CSS = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#ffffff;--soft:#f8f9fb;--good:#2b8a3e;--goodbg:#ebfbee;--bad:#c92a2a;--badbg:#fff5f5;--warn:#e67700;--warnbg:#fff9db;--accent:#d9480f}
*{box-sizing:border-box}
html{font-family:${'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'};color:var(--fg);background:var(--bg);font-size:15px;line-height:1.45}
body{margin:0 auto;max-width:1240px;padding:20px 28px 60px}
h1{font-size:24px;margin:4px 0 2px}h2{font-size:19px;margin:34px 0 10px;padding-top:6px;border-top:1px solid var(--line)}h3{font-size:15px;margin:18px 0 6px}
.answer h2{border-top:none;margin-top:14px}
p{margin:6px 0 10px;max-width:1000px}code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.muted{color:var(--muted);font-weight:normal}.small{font-size:12.5px}.bad{color:var(--bad)}.warn{color:var(--warn)}.ok{color:var(--good)}.empty{color:var(--muted);font-style:italic}
header .sub{color:var(--muted);margin:0}
nav.toc{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13.5px;margin:10px 0 0;padding:8px 0;border-bottom:1px solid var(--line)}nav.toc a{color:#1c7ed6;text-decoration:none}nav.toc a:hover{text-decoration:underline}
.banner{background:var(--warnbg);border:1px solid #ffe066;padding:8px 12px;border-radius:6px;margin:10px 0}
.verdict-line{font-size:19px;font-weight:600;margin:4px 0 10px;max-width:none}
.cards{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0 12px}
.card{flex:1 1 440px;max-width:600px;border:1px solid var(--line);border-left:6px solid #adb5bd;border-radius:8px;padding:12px 16px;background:var(--soft)}
.card.verdict-better{border-left-color:var(--good)}.card.verdict-worse{border-left-color:var(--bad)}.card.verdict-unclear{border-left-color:#f59f00}
.card-head{font-size:18px;font-weight:700}.winner{font-size:16px;font-weight:600;margin:4px 0 2px;color:var(--accent)}
.tie{font-size:12.5px;color:var(--muted);margin:-2px 0 2px}
.score .big{font-size:30px;font-weight:700;letter-spacing:-.5px}.score .pm{font-size:15px;color:var(--muted)}
.vs{color:#374151}.delta{font-size:22px;font-weight:700;margin-top:6px}.delta-ci{color:#374151;font-size:13.5px}.card-foot{margin-top:8px}
table.lenses{font-size:12.5px;margin-top:8px;width:100%}table.lenses th,table.lenses td{padding:3px 6px}table.lenses td.num{white-space:nowrap}
.verdict-better .delta{color:var(--good)}.verdict-worse .delta{color:var(--bad)}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;border:1px solid;vertical-align:middle}
.badge-better{color:var(--good);background:var(--goodbg);border-color:#b2f2bb}.badge-worse{color:var(--bad);background:var(--badbg);border-color:#ffc9c9}
.badge-unclear{color:#9c5b00;background:var(--warnbg);border-color:#ffe066}.badge-same,.badge-n1,.badge-none,.badge-too_few{color:#495057;background:#f1f3f5;border-color:#dee2e6}.badge{white-space:nowrap}
ul.lead{margin:6px 0;padding-left:20px;font-size:15.5px}ul.lead li{margin:3px 0}
.fine{font-size:12.5px;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
details{margin:8px 0}summary{cursor:pointer;color:#1c7ed6}pre.spec{background:var(--soft);border:1px solid var(--line);padding:10px 12px;overflow:auto;max-height:420px;white-space:pre-wrap}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13.5px}th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;background:var(--soft)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.best th[scope=row]{white-space:nowrap}table.best tr.objective td,table.best tr.objective th{font-weight:700;background:#fff8f0}
table.best .setting{font-weight:500}table.remedies td{min-width:170px}table.remedies tr.group-start>*{border-top:2px solid #ced4da}table.remedies td.pos{background:var(--goodbg)}table.remedies td.neg{background:var(--badbg)}table.remedies td.pos,table.remedies td.neg{font-weight:normal}td.pos{color:var(--good);font-weight:600}td.neg{color:var(--bad);font-weight:600}.delta-col{background:#fbfbfc}
.role{display:inline-block;font-size:11.5px;text-transform:uppercase;letter-spacing:.4px;color:var(--muted);border:1px solid currentColor;border-radius:4px;padding:0 5px}
.role-winner{color:#7048e8}.role-best-focal{color:var(--accent)}.role-BCE{color:#495057}.role-best-weighted-BCE{color:#1971c2}
.caption,figcaption{font-size:12.5px;color:var(--muted);max-width:1000px}figcaption{color:#374151;margin-top:4px}
figure.chart{margin:6px 0;overflow-x:auto}figure.chart svg{display:block;max-width:none}
.heats{display:flex;flex-wrap:wrap;gap:10px 34px}.heat h3{margin-bottom:2px}
.dpanel .mark-rect path{shape-rendering:crispEdges}
.panels{display:flex;flex-wrap:wrap;gap:6px 22px}figure.dpanel{max-width:360px}
.legend{font-size:13px;margin:4px 0 8px;display:flex;align-items:center;flex-wrap:wrap;gap:3px}.swatch{display:inline-block;width:16px;height:12px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 3px 0 8px;border:1px solid #fff;outline:1px solid #adb5bd}.dot.minority{border-color:#111827;outline:none}
.count{display:inline-block;font-size:13px;background:#f1f3f5;border-radius:10px;padding:0 8px;vertical-align:middle;font-weight:600}.count.bad{background:var(--badbg)}
td.errmsg{max-width:520px;white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.state-failed,.state-interrupted{color:var(--bad);font-weight:600}.state-complete{color:var(--good)}.state-queued,.state-running{color:var(--muted)}
.table-controls{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0}.table-controls input{flex:1 1 320px;padding:5px 8px;font:inherit;font-size:13.5px;border:1px solid #ced4da;border-radius:5px}
.table-controls select{font:inherit;font-size:13px;padding:4px;border:1px solid #ced4da;border-radius:5px;background:#fff}
table.trials{font-size:12.5px;width:100%}table.trials td{white-space:nowrap;padding:3px 8px}table.trials td.err{max-width:320px;overflow:hidden;text-overflow:ellipsis}
table.trials th{position:sticky;top:0;padding:0}table.trials th button{all:unset;cursor:pointer;display:block;padding:5px 8px;white-space:nowrap}
table.trials th[aria-sort=ascending] button::after{content:" ▲";font-size:10px}table.trials th[aria-sort=descending] button::after{content:" ▼";font-size:10px}
table.trials tbody tr:hover{background:#f8f9fa}.table-wrap:has(table.trials){max-height:640px;overflow:auto;border:1px solid var(--line)}
.pager{display:flex;gap:12px;align-items:center;margin:8px 0;font-size:13px}.pager button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #ced4da;border-radius:5px;background:#fff;cursor:pointer}.pager button:disabled{opacity:.4;cursor:default}
footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);font-size:12.5px;color:var(--muted)}
@media print{nav.toc,.table-controls,.pager{display:none}}
`;

export const SECTIONS: [string, string][] = [
  ['answer', 'The answer'],
  ['summary', '1. Summary'],
  ['best', '2. Best settings'],
  ['attribution', '3. γ or α'],
  ['remedies', '4. Remedies'],
  ['heatmaps', '5. Heatmaps'],
  ['vs-imbalance', '6. Metrics vs imbalance'],
  ['calibration', '7. Calibration'],
  ['loss-functions', '8. Loss functions'],
  ['training', '9. Training curves'],
  ['decision', '10. Decision regions'],
  ['failures', '11. Failures'],
  ['trials', '12. All trials'],
];

/** The whole page. */
export async function renderHtml(m: ReportModel, version: string): Promise<string> {
  const s = m.analysis.sweep;
  const scriptHash = createHash('sha256').update(TABLE_SCRIPT, 'utf8').digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${scriptHash}'; base-uri 'none'; form-action 'none'`;
  const runningBanner = m.running
    ? `<div class="banner"><b>This sweep is still running</b> (run started ${esc(m.runs.at(-1)?.started_at)}): ${m.counts.complete} of ${m.counts.total} trials are complete, so the numbers below are partial. Build the report again when it finishes.</div>`
    : '';
  const body = [
    answerSection(m),
    summarySection(m),
    bestSection(m),
    attributionSection(m),
    await remediesSection(m),
    await heatmapSection(m),
    await vsImbalanceSection(m),
    await calibrationSection(m),
    await lossSection(m),
    await trainingSection(m),
    await decisionSection(m),
    failuresSection(m),
    trialsSection(m),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="focal-sweep ${esc(version)}">
<title>${esc(s.name)} — focal-sweep report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(s.name)} <span class="muted">· focal loss vs BCE</span></h1>
<p class="sub">${m.counts.complete} of ${m.counts.total} trials complete${m.counts.failed ? `, <span class="bad">${m.counts.failed} failed</span>` : ''} · ${m.groups.length} imbalance ratio${m.groups.length === 1 ? '' : 's'} · ${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'} · generated ${esc(m.generatedAt.slice(0, 16).replace('T', ' '))} UTC</p>
<nav class="toc">${SECTIONS.map(([id, t]) => `<a href="#${id}">${esc(t)}</a>`).join('')}</nav>
</header>
${runningBanner}
<main>
${body}
</main>
<footer>focal-sweep ${esc(version)} · every number comes from <code>${esc(m.dbPath)}</code>; ask it anything with <code>focal-sweep query</code> or <code>sqlite3</code>. This page makes no network requests.</footer>
<script>${TABLE_SCRIPT}</script>
</body>
</html>
`;
}
