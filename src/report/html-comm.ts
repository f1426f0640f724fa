/**
 * The report's communication section, rendered on the server as static, escaped HTML (no
 * client code): the comm view's tables (report/comm-sections.ts), a rank × collective-instance
 * heatmap of arrival lateness, and for all-to-all the rank-pair bytes heatmap when split sizes
 * were recorded. Numbers are formatted with the fixed 'en-US' locale (report/format.ts), never
 * the viewer's.
 */
import type { StatsResult } from '../analysis/result.js';
import { bytesText, commSections } from './comm-sections.js';
import { count, duration } from './format.js';
import type { Section } from './sections.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (t: string): string => t.replace(/[&<>"']/g, (c) => ESC[c]!);

/** Most instances drawn in the lateness heatmap (the page stays small). */
export const MAX_HEATMAP_INSTANCES = 600;

function sectionTable(s: Section): string {
  const head = s.columns.map((c) => `<th class="${c.align === 'right' ? 'num' : ''}"><span class="tf-sort">${esc(c.title)}</span></th>`).join('');
  const body = s.rows.map((r) => `<tr>${r.map((cell, k) => `<td class="${s.columns[k]?.align === 'right' ? 'num' : ''}" title="${esc(cell.text)}">${esc(cell.text)}</td>`).join('')}</tr>`).join('');
  const notes = s.notes.length > 0 ? `<ul class="tf-notes">${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<h3>${esc(s.title)}</h3><div class="tf-scroll tf-compact"><table class="tf-table tf-compact"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${notes}`;
}

/** Background of a heat cell: white to orange by share of the maximum. */
const heat = (x: number, max: number): string => `rgba(242,142,43,${max > 0 ? (0.08 + 0.92 * Math.min(1, x / max)).toFixed(3) : '0'})`;

function latenessHeatmap(s: StatsResult): string {
  const cl = s.comm?.collectives;
  if (!cl || cl.instances.length === 0 || cl.ranks.length < 2) return '';
  const list = cl.instances.slice(0, MAX_HEATMAP_INSTANCES);
  let max = 0;
  for (const i of list) for (const v of i.lateUs) if (v !== null && v > max) max = v;
  const rows = cl.ranks.map((label, k) => {
    const cells = list.map((i) => {
      const v = i.lateUs[k];
      if (v === null || v === undefined) return '<td class="tf-heat tf-none" title="not in this group"></td>';
      return `<td class="tf-heat" style="background:${heat(v, max)}" title="${esc(`${label} · ${i.group} ${i.collective} #${i.seq} · ${bytesText(i.bytes)} · ${v === 0 ? 'first to arrive' : `late by ${duration(v)}`}`)}"></td>`;
    }).join('');
    return `<tr><th>${esc(label)}</th>${cells}</tr>`;
  }).join('');
  const more = cl.instances.length > list.length ? ` (the first ${count(list.length)} of ${count(cl.instances.length)})` : '';
  return `<h3>Arrival lateness per rank and collective instance${esc(more)}</h3>`
    + `<p class="tf-muted">One column per collective seen on every rank of its group, in time order; darker = later than the first rank to arrive (darkest: ${esc(duration(max))}). Hover a cell for its value.</p>`
    + `<div class="tf-scroll"><table class="tf-heatmap"><tbody>${rows}</tbody></table></div>`;
}

function pairHeatmaps(s: StatsResult): string {
  const list = s.comm?.collectives?.pairBytes ?? [];
  return list.map((p) => {
    let max = 0;
    for (const r of p.bytes) for (const v of r) if (v > max) max = v;
    const name = (k: number): string => p.labels[k] || `rank ${p.ranks[k]}`;
    const head = p.ranks.map((_, k) => `<th>${esc(name(k))}</th>`).join('');
    const rows = p.bytes.map((r, i) => `<tr><th>${esc(name(i))}</th>${r.map((v, j) => `<td class="tf-heat num" style="background:${heat(v, max)}" title="${esc(`${name(i)} → ${name(j)}: ${bytesText(v)}`)}">${esc(bytesText(v))}</td>`).join('')}</tr>`).join('');
    return `<h3>All-to-all bytes from rank (rows) to rank (columns), process group ${esc(p.group)}, ${count(p.instances)} instances</h3>`
      + `<div class="tf-scroll tf-compact"><table class="tf-heatmap tf-pairs"><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
  }).join('');
}

/** The body of the report's communication section; '' when the comm view found nothing. */
export function commHtml(s: StatsResult): string {
  const c = s.comm;
  if (!c || (!c.collectives && !c.ascend && c.phases.every((p) => p.communicationUs === 0))) return '';
  const secs = commSections(s, { top: 30 });
  const verdicts = c.ascend ? `<div class="tf-callout${c.ascend.verdicts.some((v) => v.subject !== null) ? ' tf-warn' : ''}">${c.ascend.verdicts.map((v) => `<div><strong>${esc(v.rule)}:</strong> ${esc(v.verdict)} <span class="tf-muted">(${esc(v.source)})</span></div>`).join('')}</div>` : '';
  return verdicts + latenessHeatmap(s) + pairHeatmaps(s) + secs.map(sectionTable).join('');
}

/** Styles of the heatmaps (appended to the page's stylesheet). */
export const COMM_CSS = `
.tf-heatmap { border-collapse: collapse; font-size: 12px; }
.tf-heatmap th { text-align: right; padding: 2px 8px; font-weight: 600; white-space: nowrap; position: sticky; left: 0; background: #fff; }
.tf-heatmap td.tf-heat { width: 6px; min-width: 6px; height: 20px; padding: 0; border: 1px solid #fff; }
.tf-heatmap.tf-pairs td.tf-heat { width: auto; padding: 2px 8px; }
.tf-heatmap td.tf-none { background: repeating-linear-gradient(45deg, #f3f4f6, #f3f4f6 3px, #fff 3px, #fff 6px); }
`;
