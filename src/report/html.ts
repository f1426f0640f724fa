/**
 * The HTML report: one self-contained page (no network at view time). The header, the
 * straggler call-out and the diagnostics are rendered here as escaped HTML; the data of the
 * charts and tables travel as one JSON document in a `<script type="application/json">` and
 * are drawn in the browser by html/client.ts with uPlot (MIT), which is inlined with its license.
 *
 * Every string from a trace reaches the page either escaped by `escapeHtml` or inside the JSON
 * (escaped by `jsonForScript`), and the browser code only ever sets `textContent`.
 */
import type { StatsResult } from '../analysis/result.js';
import type { Utilization } from '../analysis/utilization.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';
import { count, duration, percent } from './format.js';
import { clientMain } from './html/client.js';
import { REPORT_CSS } from './html/style.js';
import { COMM_CSS, commHtml } from './html-comm.js';

export type { Utilization } from '../analysis/utilization.js';

/** Everything the page shows; embedded as JSON (`id="tf-data"`). */
export interface ReportData {
  title: string;
  /** `traceforge 0.1.0` */
  generator: string;
  /** `statsOf` with every view. */
  stats: StatsResult;
  /** Readable names of kernels (full name -> short name) where they differ. */
  shortNames: Record<string, string>;
  utilization: Utilization | null;
}

/** The charting library, inlined as it is shipped. */
export interface ChartAssets {
  script: string;
  css: string;
  license: string;
  version: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON safe inside a `<script>` element: `<`, `>` and `&` as \u escapes (so no `</script>` or
 * `<!--` can appear), and the line separators U+2028/U+2029 escaped too. `JSON.parse` of the
 * element's text gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Script text inlined in a `<script>` element: a `</script` inside it would end the element. */
function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** The one locale every number on the report page is formatted in. */
export const REPORT_LOCALE = 'en-US';

/**
 * uPlot's script, run with one fixed locale. At load it builds its number formatter from
 * `navigator.language` (`new Intl.NumberFormat(nav.language)`), which is both locale-dependent
 * (axis ticks and legend values in German or Arabic digits) and fatal where the browser's
 * language is not a BCP 47 tag: a Chromium started under `LANG=C` reports `en-US@posix`, the
 * constructor throws `RangeError: Invalid language tag` and no chart is drawn. Inside this
 * wrapper `navigator` is an object whose language is `en-US` (uPlot reads nothing else from it),
 * so uPlot's own `fmtNum` and every default it formats with use the page's one locale.
 */
export function fixedLocaleScript(uplotScript: string): string {
  return `var uPlot = (function (navigator) {\n${uplotScript}\n;return uPlot;\n})({ language: ${JSON.stringify(REPORT_LOCALE)} });`;
}

/** A block comment's text: no `*\/` inside. */
function commentText(text: string): string {
  return text.replace(/\*\//g, '* /');
}

interface Fact { label: string; value: string; sub?: string; tone?: 'warn' }

/** The header's cards: what was profiled and the headline numbers. */
export function factsOf(s: StatsResult): Fact[] {
  const dev = s.device ?? 'GPU';
  const sum = s.summary ?? [];
  const devices = sum.reduce((a, r) => a + r.devices, 0);
  const busy = sum.reduce((a, r) => a + r.busyUs, 0);
  const capacity = sum.reduce((a, r) => a + r.devices * r.spanUs, 0);
  const span = sum.reduce((a, r) => Math.max(a, r.spanUs), 0);
  const activities = sum.reduce((a, r) => a + r.kernels, 0);
  const comm = sum.reduce((a, r) => a + r.communicationUs, 0);
  const exposed = sum.reduce((a, r) => a + r.exposedCommunicationUs, 0);
  const labels = s.inputs.map((i) => i.label);
  const stepsPerRank = new Map<string, number>();
  for (const st of s.steps ?? []) stepsPerRank.set(st.label, (stepsPerRank.get(st.label) ?? 0) + 1);
  const stepCounts = [...new Set(stepsPerRank.values())];
  const top = [...(s.categories ?? [])].sort((a, b) => b.totalUs - a.totalUs)[0];
  const straggler = s.ranks?.collectives.straggler ?? null;
  const facts: Fact[] = [
    { label: labels.length === 1 ? 'Rank' : 'Ranks', value: count(labels.length), sub: labels.length <= 8 ? labels.join(', ') : `${labels[0]} … ${labels[labels.length - 1]}` },
    { label: 'Devices', value: count(devices), sub: `${dev}${devices === 1 ? '' : 's'} with activity` },
    { label: 'Profiled span', value: duration(span), sub: labels.length > 1 ? 'longest rank' : 'first to last event' },
    {
      label: 'Steps', value: stepCounts.length === 0 ? '—' : stepCounts.length === 1 ? count(stepCounts[0]!) : `${Math.min(...stepCounts)}–${Math.max(...stepCounts)}`,
      sub: stepCounts.length === 0 ? 'no step annotations matched' : labels.length > 1 ? 'per rank' : 'annotated steps',
    },
    { label: `${dev} busy`, value: duration(busy), sub: `utilization ${percent(capacity > 0 ? busy / capacity : null)}` },
    { label: 'Device activities', value: count(activities), sub: `${count(s.kernels?.length ?? 0)} distinct kernels` },
    { label: 'Communication', value: duration(comm), sub: `exposed: ${duration(exposed)}` },
  ];
  if (top) facts.push({ label: 'Top category', value: top.category, sub: `${percent(top.share)} of ${dev} busy time` });
  if (labels.length > 1) facts.push({ label: 'Straggler', value: straggler ?? 'none', sub: straggler ? 'arrives last at collectives' : 'no rank arrives last consistently', ...(straggler ? { tone: 'warn' as const } : {}) });
  return facts;
}

function factsHtml(s: StatsResult): string {
  return factsOf(s).map((f) => `<div class="tf-fact${f.tone ? ` tf-${f.tone}` : ''}"><div class="tf-fact-label">${escapeHtml(f.label)}</div>`
    + `<div class="tf-fact-value" title="${escapeHtml(f.value)}">${escapeHtml(f.value)}</div>${f.sub ? `<div class="tf-fact-sub" title="${escapeHtml(f.sub)}">${escapeHtml(f.sub)}</div>` : ''}</div>`).join('');
}

/** Who arrives last at collectives and who waits: the rank view's headline, in words. */
export function stragglerHtml(s: StatsResult): string {
  const r = s.ranks;
  if (!r || r.ranks.length < 2) return '<div class="tf-callout">Only one rank: pass a directory of rank traces, several files or a merged trace to compare ranks.</div>';
  const c = r.collectives;
  if (c.paired === 0) return '<div class="tf-callout">No collectives could be paired across ranks, so no straggler can be named.</div>';
  const who = c.perRank.find((p) => p.label === c.straggler);
  const waiter = c.perRank.find((p) => p.label === c.mostWaiting);
  const parts: string[] = [];
  if (who) {
    parts.push(`<strong>Straggler: ${escapeHtml(who.label)}</strong> started last in ${count(who.lastArrivals)} of ${count(who.collectives)} paired collectives, `
      + `late by ${escapeHtml(duration(who.totalLatenessUs))} in total (median ${escapeHtml(duration(who.medianLatenessUs))}).`);
  } else {
    parts.push('<strong>No straggler:</strong> no rank arrives last at collectives.');
  }
  if (waiter) parts.push(`${escapeHtml(waiter.label)} waited longest for the others: ${escapeHtml(duration(waiter.waitUs))} over ${count(waiter.collectives)} collectives.`);
  parts.push(`Median spread between the first and the last rank to arrive: ${escapeHtml(duration(c.medianLatenessUs))} over ${count(c.paired)} paired collectives.`);
  return `<div class="tf-callout${who ? ' tf-warn' : ''}">${parts.join(' ')}</div>`;
}

function diagnosticHtml(d: DiagnosticEntry): string {
  const ex = d.examples.map((e) => {
    const bits = [`${e.file}#${e.index}`, e.name, e.ts !== undefined ? `ts ${e.ts}` : undefined, e.detail].filter((b): b is string => b !== undefined && b !== '');
    return `<li><code>${escapeHtml(bits.join(' · '))}</code></li>`;
  }).join('');
  return `<li class="tf-diag tf-sev-${escapeHtml(d.severity)}"><span class="tf-badge">${escapeHtml(d.severity)}</span> <code>${escapeHtml(d.name)}</code> × ${count(d.count)}: ${escapeHtml(d.description)}`
    + `${ex ? `<ul class="tf-examples">${ex}</ul>` : ''}</li>`;
}

function diagnosticsHtml(s: StatsResult): string {
  const parts: string[] = [];
  if (s.diagnostics.length === 0) parts.push('<p class="tf-ok">No data problems were found while reading the traces.</p>');
  else parts.push(`<ul class="tf-diags">${s.diagnostics.map(diagnosticHtml).join('')}</ul>`);
  // the op-type view's note on inputs that are not torch_npu profiles is no news on the page
  const notes = s.notes.filter((n) => !n.startsWith('op-type view: op_statistic is a torch_npu'));
  if (notes.length > 0) parts.push(`<h3>Notes</h3><ul class="tf-notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  if (s.opLinks) {
    const l = s.opLinks;
    parts.push(`<p class="tf-muted">Op view: ${count(l.linkedKernels)} device activities linked to a CPU op by External id, ${count(l.unlinkedKernels)} not linked (${escapeHtml(duration(l.unlinkedUs))}).</p>`);
  }
  return parts.join('');
}

/** How much device time has an op and a source, and by which route. */
function attributionHtml(s: StatsResult): string {
  const a = s.attribution;
  if (!a) return '';
  const routes = a.routes.map((r) => `${escapeHtml(r.route)} ${escapeHtml(percent(r.share))} (${count(r.kernels)})`).join(', ');
  return `<p class="tf-muted">${escapeHtml(percent(a.withOp.share))} of device time has an op, ${escapeHtml(percent(a.withSource.share))} a Python source; by route: ${routes}.</p>`;
}

function inputsHtml(s: StatsResult): string {
  const files = [...new Set(s.inputs.map((i) => i.file))];
  const shown = files.slice(0, 6).map((f) => `<code>${escapeHtml(f)}</code>`).join(', ');
  return `${files.length === 1 ? 'File' : `${count(files.length)} files`}: ${shown}${files.length > 6 ? ', …' : ''}`;
}

interface SectionSpec { id: string; title: string; lede: string; body: string }

const SECTIONS = (s: StatsResult, dev = s.device ?? 'GPU'): SectionSpec[] => [
  {
    id: 'categories', title: `${dev} time by category`,
    lede: `Sum of device activity durations per kernel category, over all ranks; shares are of ${dev} busy time (overlapping kernels each count, so shares can add up to more than 100%).`,
    body: '<div class="tf-split"><div class="tf-chart" id="chart-categories"></div><div class="tf-table-host" id="table-categories"></div></div>',
  },
  {
    id: 'utilization', title: `${dev} utilization over time`,
    lede: 'Share of each rank\'s devices busy with at least one kernel, copy or set, per time bucket; time from the earliest event of all ranks.',
    body: '<div class="tf-chart tf-wide" id="chart-utilization"></div>',
  },
  {
    id: 'steps', title: 'Per-step times',
    lede: `Duration of each step annotation per rank (the CPU annotation, else its ${dev} mirror), and the ${dev} busy time inside it.`,
    body: '<div class="tf-chart tf-wide" id="chart-steps"></div><div class="tf-table-host" id="table-steps"></div>',
  },
  {
    id: 'idle', title: `Why the ${dev} waits`,
    lede: `Idle time per device split into causes (host-bound: the launch had not been issued; synchronization: the launching thread sat in a sync; launch latency: issued, not started; cross-stream; in-graph; other: no launch found), per step; what the CPU was doing while the ${dev} waited for it; and the launch queue depth per stream.`,
    body: '<div class="tf-chart tf-wide" id="chart-idle"></div><div class="tf-table-host" id="table-idle"></div>'
      + '<h3>What the CPU was doing during host-bound idle</h3><div class="tf-table-host" id="table-idle-cpu"></div>'
      + '<h3>Launch queue depth (launched, not finished)</h3><div class="tf-chart tf-wide" id="chart-queue"></div>',
  },
  {
    id: 'ranks', title: 'Ranks side by side',
    lede: `Per rank: ${dev} busy, compute and communication time, communication not hidden behind compute, and the time its collectives waited for the last rank to arrive.`,
    body: `${stragglerHtml(s)}<div class="tf-chart tf-wide" id="chart-ranks"></div><div class="tf-table-host" id="table-rank-totals"></div>`
      + '<h3>Collectives</h3><div class="tf-table-host" id="table-collectives"></div>'
      + '<h3>Kernels that differ most across ranks</h3><div class="tf-table-host" id="table-rank-kernels"></div>',
  },
  ...(commHtml(s) ? [{
    id: 'comm', title: 'Communication',
    lede: 'Collectives paired across ranks by process group and sequence: bandwidth per collective and message size, arrival skew, waiting, and communication not hidden behind compute; torch_npu communication files with the vendor\'s slow-rank and slow-link rules.',
    body: commHtml(s),
  }] : []),
  {
    id: 'kernels', title: 'Top kernels',
    lede: 'Every kernel, copy and set by name over all ranks. Click a column title to sort; hover a name for the full signature.',
    body: '<div class="tf-table-host" id="table-kernels"></div>',
  },
  {
    id: 'ops', title: 'Top operators by input shape',
    lede: 'CPU operators grouped by name, input shapes and types (like torch key_averages(group_by_input_shape=True)); device time from the kernels they launched.',
    body: '<div class="tf-table-host" id="table-ops"></div>',
  },
  ...(s.opTypes && s.opTypes.length > 0 ? [{
    id: 'op-types', title: 'Operator types (op_statistic)',
    lede: 'torch_npu\'s op_statistic table per rank: device tasks per OP type and core type (communication left out), computed the vendor\'s way; ratio is of the rank\'s total.',
    body: '<div class="tf-table-host" id="table-op-types"></div>',
  }] : []),
  {
    id: 'efficiency', title: 'Roofline: achieved FLOP/s against the peak',
    lede: 'One point per operator and input shapes with a performance model: arithmetic intensity (FLOPs per byte moved) across, achieved TFLOP/s up, both log scales; the area of a point is its device time. Lines: the device\'s roofs (bandwidth × intensity, then the compute peak of each precision).',
    body: '<div class="tf-chart tf-wide" id="chart-roofline"></div><div class="tf-table-host" id="table-efficiency"></div>',
  },
  {
    id: 'sources', title: `${dev} time by Python source and nn.Module`,
    lede: 'Each device activity traced to its launch, its CPU op and the Python frames around the launch (with_stack); graph replays through their capture or mapping trace. Source: the first user frame below the innermost nn.Module.',
    body: `${attributionHtml(s)}<div class="tf-table-host" id="table-sources"></div><h3>By nn.Module</h3><div class="tf-table-host" id="table-modules"></div>`,
  },
  {
    id: 'diagnostics', title: 'Diagnostics',
    lede: 'Data problems met while reading the traces, with the first few offending events, and notes on how the inputs were read.',
    body: diagnosticsHtml(s),
  },
];

/** The whole page. Pure: no I/O. */
export function renderReportHtml(data: ReportData, assets: ChartAssets): string {
  const s = data.stats;
  const sections = SECTIONS(s);
  const nav = sections.map((x) => `<a href="#${x.id}">${escapeHtml(x.title)}</a>`).join('');
  const body = sections.map((x) => `<section id="${x.id}"><h2>${escapeHtml(x.title)}</h2><p class="tf-lede">${escapeHtml(x.lede)}</p>${x.body}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(data.generator)}">
<title>${escapeHtml(data.title)} · traceforge report</title>
<style>${assets.css}</style>
<style>${REPORT_CSS}${COMM_CSS}</style>
</head>
<body>
<header class="tf-header">
<div class="tf-brand">traceforge report</div>
<h1>${escapeHtml(data.title)}</h1>
<p class="tf-inputs">${inputsHtml(s)}</p>
<div class="tf-facts">${factsHtml(s)}</div>
</header>
<nav class="tf-nav">${nav}</nav>
<noscript><p class="tf-callout tf-warn">The charts and tables of this report are drawn by JavaScript; enable it to see them.</p></noscript>
<main>
${body}
</main>
<footer class="tf-footer">Made by ${escapeHtml(data.generator)} · charts by uPlot ${escapeHtml(assets.version)} (MIT license, inlined below) · everything is in this one file; nothing is loaded from the network.</footer>
<script type="application/json" id="tf-data">${jsonForScript(data)}</script>
<script>/*! uPlot ${commentText(assets.version)}\n${commentText(assets.license)} */
${scriptText(fixedLocaleScript(assets.script))}</script>
<script>
(${scriptText(clientMain.toString())})(JSON.parse(document.getElementById('tf-data').textContent), uPlot);
</script>
</body>
</html>
`;
}
