/** GitHub-flavoured Markdown: a heading and a table per section, notes as a list. */
import type { Section } from './sections.js';

function escape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*/g, '\\*').replace(/_/g, '\\_');
}

export function renderMarkdownSection(sec: Section): string {
  const lines = [`### ${escape(sec.title)}`, ''];
  const cols = sec.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.csvOnly);
  if (sec.rows.length === 0) lines.push('_nothing to show_');
  else {
    lines.push(`| ${cols.map(({ c }) => escape(c.title) || ' ').join(' | ')} |`);
    lines.push(`|${cols.map(({ c }) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`);
    for (const r of sec.rows) lines.push(`| ${cols.map(({ i }) => escape((r[i]?.text ?? '').trim())).join(' | ')} |`);
  }
  if (sec.notes.length > 0) lines.push('', ...sec.notes.map((n) => `- ${escape(n)}`));
  return lines.join('\n') + '\n';
}

export function renderMarkdown(sections: readonly Section[]): string {
  return sections.map(renderMarkdownSection).join('\n');
}
