/**
 * CSV (RFC 4180): raw values (µs numbers, full kernel names). One view gives one plain table;
 * several give blocks separated by an empty line, each opened by a `# name` line.
 */
import type { Section } from './sections.js';

function field(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A section as CSV: every column (also CSV-only ones), no sub-rows. */
export function renderCsvSection(sec: Section): string {
  const lines = [sec.columns.map((c) => field(c.key)).join(',')];
  sec.rows.forEach((r, k) => {
    if (sec.sub?.[k]) return;
    lines.push(sec.columns.map((_, i) => field(r[i]?.value ?? null)).join(','));
  });
  return lines.join('\r\n') + '\r\n';
}

export function renderCsv(sections: readonly Section[]): string {
  if (sections.length === 1) return renderCsvSection(sections[0]!);
  return sections.map((s) => `# ${s.name}\r\n${renderCsvSection(s)}`).join('\r\n');
}
