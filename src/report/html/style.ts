/** The report page's stylesheet (internal to report/html.ts). No fonts or images to load. */
export const REPORT_CSS = `
:root {
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f6f7f9; --accent: #4e79a7;
  --warn: #b45309; --warn-bg: #fff7ed; --warn-line: #fdba74; --err: #b91c1c; --ok: #15803d;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; color: var(--ink); background: #fff; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .tf-mono { font-family: var(--mono); font-size: 12.5px; }
.tf-header { background: linear-gradient(135deg, #1e3a5f 0%, #2f5d8a 100%); color: #fff; padding: 22px 32px 26px; }
.tf-brand { font-size: 12px; letter-spacing: .12em; text-transform: uppercase; opacity: .75; }
.tf-header h1 { margin: 4px 0 4px; font-size: 26px; font-weight: 650; word-break: break-word; }
.tf-inputs { margin: 0 0 16px; opacity: .85; font-size: 13px; word-break: break-all; }
.tf-inputs code { color: #dbeafe; font-size: 12px; }
.tf-facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(185px, 1fr)); gap: 10px; }
.tf-fact { background: rgba(255,255,255,.1); border: 1px solid rgba(255,255,255,.18); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.tf-fact-label { font-size: 11.5px; text-transform: uppercase; letter-spacing: .06em; opacity: .8; }
.tf-fact-value { font-size: 20px; font-weight: 650; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tf-fact-sub { font-size: 12px; opacity: .8; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tf-fact.tf-warn { background: rgba(251,146,60,.25); border-color: rgba(253,186,116,.8); }
.tf-nav { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,.96); border-bottom: 1px solid var(--line); padding: 8px 32px; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; }
.tf-nav a { color: var(--accent); text-decoration: none; }
.tf-nav a:hover { text-decoration: underline; }
main { padding: 8px 32px 24px; max-width: 1500px; }
section { padding: 18px 0 10px; border-bottom: 1px solid var(--line); scroll-margin-top: 44px; }
section:last-child { border-bottom: 0; }
h2 { font-size: 19px; margin: 0 0 2px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.tf-lede { color: var(--muted); margin: 0 0 12px; max-width: 980px; }
.tf-muted { color: var(--muted); }
.tf-empty { padding: 14px 16px; background: var(--soft); border-radius: 6px; margin: 4px 0; }
.tf-split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px; align-items: start; }
@media (max-width: 1000px) { .tf-split { grid-template-columns: 1fr; } }
.tf-chart { min-width: 0; margin: 4px 0 10px; }
.tf-callout { border: 1px solid #cbd5e1; background: #f8fafc; border-left: 4px solid var(--accent); border-radius: 6px; padding: 10px 14px; margin: 0 0 12px; max-width: 1100px; }
.tf-callout.tf-warn { border-color: var(--warn-line); border-left-color: #f28e2b; background: var(--warn-bg); }
.tf-callout strong { color: var(--warn); }
.tf-toolbar { display: flex; align-items: center; gap: 12px; margin: 2px 0 6px; }
.tf-filter { font: inherit; padding: 5px 9px; border: 1px solid #d1d5db; border-radius: 6px; width: 320px; max-width: 60vw; }
.tf-count { color: var(--muted); font-size: 12.5px; }
.tf-scroll { overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.tf-scroll.tf-tall { max-height: 640px; }
.tf-scroll.tf-compact { width: fit-content; max-width: 100%; }
.tf-table.tf-compact { table-layout: auto; width: auto; }
.tf-table.tf-compact td, .tf-table.tf-compact th { min-width: 70px; }
.tf-table.tf-compact td:first-child { padding-right: 28px; }
.tf-table { border-collapse: separate; border-spacing: 0; width: 100%; table-layout: fixed; font-size: 13px; }
.tf-table th { position: sticky; top: 0; z-index: 1; background: var(--soft); border-bottom: 1px solid #d1d5db; text-align: left; padding: 0; font-weight: 600; white-space: nowrap; }
.tf-table th.num { text-align: right; }
.tf-sort { all: unset; cursor: pointer; display: block; width: 100%; padding: 7px 10px; box-sizing: border-box; overflow: hidden; text-overflow: ellipsis; }
.tf-sort:hover { background: #eceff3; }
.tf-sort:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.tf-table th[aria-sort="descending"] .tf-sort::after { content: " ▼"; font-size: 10px; color: var(--accent); }
.tf-table th[aria-sort="ascending"] .tf-sort::after { content: " ▲"; font-size: 10px; color: var(--accent); }
.tf-table td { padding: 0 10px; height: 28px; border-bottom: 1px solid #f0f1f3; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tf-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tf-table td.tf-name { font-family: var(--mono); font-size: 12.5px; }
.tf-table tbody tr:nth-child(even) td { background-color: #fbfbfc; }
.tf-table tbody tr:hover td { background-color: #eef4fb; }
.tf-table tr.tf-pad td { padding: 0; border: 0; background: none; }
.tf-table td.tf-bar { background-size: 100% 3px; background-position: bottom; background-repeat: no-repeat; }
.tf-dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 7px; vertical-align: 0; }
.tf-diags, .tf-notes { padding-left: 18px; margin: 6px 0; }
.tf-diag { margin: 6px 0; }
.tf-badge { display: inline-block; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; padding: 1px 6px; border-radius: 4px; background: #e5e7eb; }
.tf-sev-error .tf-badge { background: #fee2e2; color: var(--err); }
.tf-sev-warning .tf-badge { background: #ffedd5; color: var(--warn); }
.tf-sev-info .tf-badge { background: #e0f2fe; color: #0369a1; }
.tf-examples { margin: 4px 0; color: var(--muted); }
.tf-examples code { word-break: break-all; }
.tf-ok { color: var(--ok); }
.tf-footer { color: var(--muted); font-size: 12px; padding: 14px 32px 28px; border-top: 1px solid var(--line); }
.u-legend { font-size: 12.5px; }
.u-legend .u-marker { border-radius: 2px; }
`;
