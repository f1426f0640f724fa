/**
 * The report page's own script (internal to report/html.ts). `clientMain` runs in the browser:
 * html.ts inlines its source (`clientMain.toString()`), so it must not use anything from this
 * module's scope: no imports at run time, no helpers outside the function. Type imports only.
 *
 * Tables are plain DOM: rows are built once and sorting reorders an index array and re-appends
 * the rows in one fragment (one layout); tables of more than 2000 rows are virtualized (only the
 * rows in view exist). Text from the trace is only ever set as `textContent` or `title`.
 */
import type uPlot from 'uplot';
import type { ReportData } from '../html.js';
import type { RankTotals } from '../../analysis/ranks.js';
import type { KernelStat } from '../../analysis/kernels.js';

export function clientMain(data: ReportData, U: typeof uPlot): void {
  const s = data.stats;
  /** What the devices are called: from the data (the page's code names none). */
  const DEV = s.device ?? 'device';
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  const AXIS = { stroke: '#4b5563', grid: { stroke: '#eceff3', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 } };
  const NBSP = '\u00a0';
  const VIRTUAL_ROWS = 2000;
  const ROW_H = 28;
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  // Every number on the page is formatted in this one locale, whatever the browser's language
  // (which can even be an invalid tag such as `en-US@posix`): toFixed (locale-free) or NUM.
  // uPlot's own formatter is pinned to the same locale by html.ts (fixedLocaleScript).
  const NUM = new Intl.NumberFormat('en-US');

  // ------------------------------------------------------------------------------- formatting
  const duration = (us: number | null | undefined): string => {
    if (us === null || us === undefined || !Number.isFinite(us)) return '—';
    const a = Math.abs(us);
    if (a === 0) return '0';
    if (a < 1) return `${Math.round(us * 1000)}${NBSP}ns`;
    if (a < 10) return `${us.toFixed(2)}${NBSP}µs`;
    if (a < 1000) return `${us.toFixed(1)}${NBSP}µs`;
    if (a < 10_000) return `${(us / 1000).toFixed(3)}${NBSP}ms`;
    if (a < 1_000_000) return `${(us / 1000).toFixed(2)}${NBSP}ms`;
    return `${(us / 1e6).toFixed(3)}${NBSP}s`;
  };
  const percent = (x: number | null | undefined): string => {
    if (x === null || x === undefined || !Number.isFinite(x)) return '—';
    if (x === 0) return '0%';
    if (x > 0 && x < 0.001) return '<0.1%';
    return `${(x * 100).toFixed(1)}%`;
  };
  const count = (n: number): string => NUM.format(n);
  const ms = (us: number): number => us / 1000;
  const shape = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v).replace(/,/g, ', '));
  const typeList = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (!Array.isArray(v)) return String(v);
    const out: string[] = [];
    for (let i = 0; i < v.length;) {
      let j = i;
      while (j + 1 < v.length && v[j + 1] === v[i]) j++;
      const t = v[i] === '' ? '-' : String(v[i]);
      out.push(j > i ? `${t} ×${j - i + 1}` : t);
      i = j + 1;
    }
    return out.join(', ');
  };
  const short = (name: string): string => data.shortNames[name] ?? name;
  const catColor = new Map<string, string>();
  (s.categories ?? []).forEach((c, k) => catColor.set(c.category, PALETTE[k % PALETTE.length]!));
  const colorOf = (k: number): string => PALETTE[k % PALETTE.length]!;

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const byId = (id: string): HTMLElement | null => document.getElementById(id);
  const note = (id: string, text: string): void => { byId(id)?.append(el('p', 'tf-muted tf-empty', text)); };

  // ---------------------------------------------------------------------------------- tables
  interface Col<R> {
    key: string;
    label: string;
    /** Numeric: right-aligned, sorted by number, first click sorts descending. */
    num?: boolean;
    value: (r: R) => number | string | null;
    text?: (r: R) => string;
    title?: (r: R) => string;
    /** 0..1: a bar behind the cell. */
    bar?: (r: R) => number | null;
    dot?: (r: R) => string | undefined;
    cls?: string;
    width?: string;
    help?: string;
  }
  interface TableOptions<R> {
    sort?: string;
    desc?: boolean;
    filter?: (r: R) => string;
    empty?: string;
    /** As wide as its content (small tables of numbers), not the page. */
    compact?: boolean;
  }

  function table<R>(hostId: string, name: string, cols: Col<R>[], rows: R[], opts: TableOptions<R> = {}): void {
    const host = byId(hostId);
    if (!host) return;
    if (rows.length === 0) { host.append(el('p', 'tf-muted tf-empty', opts.empty ?? 'Nothing to show.')); return; }
    const virtual = rows.length > VIRTUAL_ROWS;
    const order: number[] = rows.map((_, i) => i);
    let visible = order;
    const keys = new Map<string, (number | string | null)[]>();
    let hay: string[] | undefined;

    const tall = rows.length > 20;
    const tbl = el('table', `tf-table${virtual ? ' tf-virtual' : ''}${opts.compact ? ' tf-compact' : ''}`);
    tbl.dataset['table'] = name;
    const colgroup = el('colgroup');
    for (const c of cols) { const ce = el('col'); if (c.width) ce.style.width = c.width; colgroup.append(ce); }
    const thead = el('thead');
    const htr = el('tr');
    const ths = cols.map((c, k) => {
      const th = el('th', c.num ? 'num' : undefined);
      th.dataset['col'] = c.key;
      th.setAttribute('aria-sort', 'none');
      const b = el('button', 'tf-sort', c.label);
      b.type = 'button';
      if (c.help) b.title = c.help;
      b.addEventListener('click', () => {
        const cur = th.getAttribute('aria-sort');
        const desc = cur === 'none' ? c.num === true : cur === 'ascending';
        sortBy(k, desc);
      });
      th.append(b);
      htr.append(th);
      return th;
    });
    thead.append(htr);
    const tbody = el('tbody');
    tbl.append(colgroup, thead, tbody);

    const makeRow = (i: number): HTMLTableRowElement => {
      const r = rows[i]!;
      const tr = el('tr');
      for (const c of cols) {
        const td = el('td', [c.num ? 'num' : '', c.cls ?? ''].join(' ').trim() || undefined);
        const v = c.value(r);
        if (c.num && typeof v === 'number') td.dataset['v'] = String(v);
        const dot = c.dot?.(r);
        if (dot) { const d = el('span', 'tf-dot'); d.style.background = dot; td.append(d); }
        td.append(c.text ? c.text(r) : v === null ? '—' : String(v));
        const t = c.title?.(r);
        if (t) td.title = t;
        const bar = c.bar?.(r);
        if (bar !== null && bar !== undefined && bar > 0) {
          const p = Math.min(100, bar * 100).toFixed(1);
          td.classList.add('tf-bar');
          td.style.backgroundImage = `linear-gradient(to left, #4e79a7 ${p}%, transparent ${p}%)`;
        }
        tr.append(td);
      }
      return tr;
    };
    const built: HTMLTableRowElement[] = virtual ? [] : rows.map((_, i) => makeRow(i));

    const scroller = el('div', `tf-scroll${tall ? ' tf-tall' : ''}${opts.compact ? ' tf-compact' : ''}`);
    scroller.append(tbl);
    const counter = el('span', 'tf-count');
    if (opts.filter || tall) {
      const bar = el('div', 'tf-toolbar');
      if (opts.filter) {
        const input = el('input', 'tf-filter');
        input.type = 'search';
        input.placeholder = 'Filter by name…';
        input.setAttribute('aria-label', `Filter ${name}`);
        let pending = false;
        input.addEventListener('input', () => {
          if (pending) return;
          pending = true;
          requestAnimationFrame(() => { pending = false; applyFilter(input.value); render(); });
        });
        bar.append(input);
      }
      bar.append(counter);
      host.append(bar);
    }
    host.append(scroller);

    let query = '';
    function applyFilter(q?: string): void {
      if (q !== undefined) query = q.trim().toLowerCase();
      if (!query || !opts.filter) { visible = order; return; }
      hay ??= rows.map((r) => opts.filter!(r).toLowerCase());
      visible = order.filter((i) => hay![i]!.includes(query));
      if (virtual) scroller.scrollTop = 0;
    }

    const topPad = el('tr', 'tf-pad');
    const bottomPad = el('tr', 'tf-pad');
    const topTd = el('td');
    const bottomTd = el('td');
    topTd.colSpan = bottomTd.colSpan = cols.length;
    topPad.append(topTd);
    bottomPad.append(bottomTd);

    function renderWindow(): void {
      const view = scroller.clientHeight || 600;
      const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - 10);
      const last = Math.min(visible.length, first + Math.ceil(view / ROW_H) + 20);
      topTd.style.height = `${first * ROW_H}px`;
      bottomTd.style.height = `${(visible.length - last) * ROW_H}px`;
      const frag = document.createDocumentFragment();
      frag.append(topPad);
      for (let j = first; j < last; j++) frag.append(makeRow(visible[j]!));
      frag.append(bottomPad);
      tbody.replaceChildren(frag);
    }

    function render(): void {
      if (virtual) renderWindow();
      else {
        const frag = document.createDocumentFragment();
        for (const i of visible) frag.append(built[i]!);
        tbody.replaceChildren(frag);
      }
      counter.textContent = visible.length === rows.length ? `${count(rows.length)} rows` : `${count(visible.length)} of ${count(rows.length)} rows`;
    }

    function sortBy(k: number, desc: boolean): void {
      const c = cols[k]!;
      let vals = keys.get(c.key);
      if (!vals) { vals = rows.map((r) => c.value(r)); keys.set(c.key, vals); }
      const v = vals;
      const dir = desc ? -1 : 1;
      order.sort((a, b) => {
        const x = v[a]!;
        const y = v[b]!;
        // missing values last in either direction
        if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
        const d = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
        return d * dir || a - b;
      });
      ths.forEach((th, j) => th.setAttribute('aria-sort', j === k ? (desc ? 'descending' : 'ascending') : 'none'));
      applyFilter();
      render();
    }

    if (virtual) {
      let pending = false;
      scroller.addEventListener('scroll', () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => { pending = false; renderWindow(); });
      }, { passive: true });
    }
    const initial = opts.sort === undefined ? -1 : cols.findIndex((c) => c.key === opts.sort);
    if (initial >= 0) sortBy(initial, opts.desc ?? cols[initial]!.num === true);
    else render();
  }

  // ---------------------------------------------------------------------------------- charts
  const charts: { plot: uPlot; host: HTMLElement }[] = [];
  function chart(hostId: string, opts: Omit<uPlot.Options, 'width'>, plotData: uPlot.AlignedData): void {
    const host = byId(hostId);
    if (!host) return;
    const plot = new U({ ...opts, width: Math.max(320, host.clientWidth) } as uPlot.Options, plotData, host);
    charts.push({ plot, host });
  }
  let resizing = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => {
      for (const c of charts) c.plot.setSize({ width: Math.max(320, c.host.clientWidth), height: c.plot.height });
    });
  });
  /** Widest of the texts in the axis font, in CSS pixels. */
  const textWidth = (texts: string[]): number => {
    const ctx = document.createElement('canvas').getContext('2d');
    if (!ctx) return 160;
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    return Math.ceil(Math.max(0, ...texts.map((t) => ctx.measureText(t).width)));
  };
  const msAxis = (_u: uPlot, splits: number[]): string[] => splits.map((v) => `${NUM.format(v)} ms`);
  const legendMs = (_u: uPlot, v: number | null): string => (v === null || v === undefined ? '—' : duration(v * 1000));

  // device time by category: horizontal bars, one color per category
  const cats = [...(s.categories ?? [])].sort((a, b) => b.totalUs - a.totalUs);
  if (cats.length > 0) {
    const idx = cats.map((_, k) => k);
    chart('chart-categories', {
      height: Math.max(180, 36 * cats.length + 50),
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: [-0.6, cats.length - 0.4] },
        y: { ori: 0, range: (_u, _lo, hi) => [0, (hi > 0 ? hi : 1) * 1.28] },
      },
      axes: [
        { ...AXIS, scale: 'x', side: 3, size: textWidth(cats.map((c) => c.category)) + 24, gap: 6, grid: { show: false }, splits: () => idx, values: () => cats.map((c) => c.category) },
        { ...AXIS, scale: 'y', side: 2, values: msAxis },
      ],
      series: [
        {},
        {
          label: `${DEV} time`, width: 0, points: { show: false }, fill: PALETTE[0]!,
          paths: U.paths.bars!({ size: [0.7, 34], disp: { fill: { unit: 3, values: () => cats.map((c) => catColor.get(c.category) ?? PALETTE[0]!) } } }),
        },
      ],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
          ctx.fillStyle = '#374151';
          ctx.textBaseline = 'middle';
          ctx.textAlign = 'left';
          cats.forEach((c, k) => {
            const x = u.valToPos(ms(c.totalUs), 'y', true) + 6 * devicePixelRatio;
            const y = u.valToPos(k, 'x', true);
            ctx.fillText(`${duration(c.totalUs)} · ${percent(c.share)}`, x, y);
          });
          ctx.restore();
        }],
      },
    }, [idx, cats.map((c) => ms(c.totalUs))]);
  } else note('chart-categories', 'No device activity in the traces.');
  table('table-categories', 'categories', [
    { key: 'category', label: 'Category', value: (c) => c.category, dot: (c) => catColor.get(c.category) },
    { key: 'calls', label: 'Calls', num: true, value: (c) => c.calls, text: (c) => count(c.calls), width: '80px' },
    { key: 'kernels', label: 'Kernels', num: true, value: (c) => c.kernels, text: (c) => count(c.kernels), width: '84px', help: 'distinct kernel names' },
    { key: 'total', label: 'Total', num: true, value: (c) => c.totalUs, text: (c) => duration(c.totalUs), width: '96px' },
    { key: 'share', label: 'Share', num: true, value: (c) => c.share, text: (c) => percent(c.share), bar: (c) => c.share, width: '80px', help: `of ${DEV} busy time` },
  ], cats, { sort: 'total', compact: true });

  // device utilization over time
  const ut = data.utilization;
  if (ut && ut.startsUs.length > 0) {
    const x = ut.startsUs.map(ms);
    const many = ut.ranks.length > 8;
    const pct = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
    let series: uPlot.Series[];
    let ys: (number | null)[][];
    if (!many) {
      series = ut.ranks.map((r, k) => ({
        label: r.label, stroke: colorOf(k), width: 1.5, paths: U.paths.stepped!({ align: 1 }), points: { show: false },
        ...(ut.ranks.length === 1 ? { fill: 'rgba(78,121,167,.15)' } : {}),
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
      }));
      ys = ut.ranks.map((r) => r.busy.map(pct));
    } else {
      const agg = (f: (l: number[]) => number): (number | null)[] => x.map((_, b) => {
        const l = ut.ranks.map((r) => r.busy[b]).filter((v): v is number => v !== null && v !== undefined);
        return l.length > 0 ? pct(f(l)) : null;
      });
      series = [['max', PALETTE[2]!], ['mean', PALETTE[0]!], ['min', PALETTE[4]!]].map(([label, stroke]) => ({
        label: `${label} of ${ut.ranks.length} ranks`, stroke: stroke!, width: 1.5, paths: U.paths.stepped!({ align: 1 }), points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
      }));
      ys = [agg((l) => Math.max(...l)), agg((l) => l.reduce((a, b) => a + b, 0) / l.length), agg((l) => Math.min(...l))];
    }
    chart('chart-utilization', {
      height: 280,
      scales: { x: { time: false, range: [0, ms(ut.endUs)] }, y: { range: [0, 100] } },
      axes: [
        { ...AXIS, values: msAxis, label: `time from the first event (buckets of ${duration(ut.bucketUs)})`, labelSize: 22 },
        { ...AXIS, values: (_u, v) => v.map((p) => `${p}%`), size: 52 },
      ],
      series: [{ label: 'time', value: legendMs }, ...series],
    }, [x, ...ys]);
  } else note('chart-utilization', 'No device activity with timestamps in the traces.');

  // per-step times
  const steps = s.steps ?? [];
  if (steps.length > 0) {
    const labels = [...new Set(steps.map((st) => st.label))];
    const perRank = labels.map((l) => steps.filter((st) => st.label === l));
    const n = Math.max(...perRank.map((l) => l.length));
    const x = Array.from({ length: n }, (_, i) => i);
    const stepMs = (i: number, l: typeof steps): number | null => {
      const st = l[i];
      const d = st ? st.wallUs ?? st.gpuUs : null;
      return d === null || d === undefined ? null : ms(d);
    };
    let series: uPlot.Series[] = [];
    let ys: (number | null)[][] = [];
    if (labels.length <= 8) {
      labels.forEach((label, k) => {
        const l = perRank[k]!;
        series.push({ label: `${label} step`, stroke: colorOf(k), width: 2, points: { show: n <= 200, size: 5, fill: colorOf(k) }, value: legendMs });
        ys.push(x.map((i) => stepMs(i, l)));
        if (labels.length <= 4) {
          series.push({ label: `${label} ${DEV} busy`, stroke: colorOf(k), width: 1.2, dash: [5, 4], points: { show: false }, value: legendMs });
          ys.push(x.map((i) => (l[i] ? ms(l[i]!.busyUs) : null)));
        }
      });
    } else {
      const at = (i: number): number[] => perRank.map((l) => stepMs(i, l)).filter((v): v is number => v !== null);
      series = [
        { label: 'slowest rank', stroke: PALETTE[2]!, width: 2, points: { show: false }, value: legendMs },
        { label: 'median rank', stroke: PALETTE[0]!, width: 2, points: { show: false }, value: legendMs },
      ];
      ys = [
        x.map((i) => { const l = at(i); return l.length > 0 ? Math.max(...l) : null; }),
        x.map((i) => { const l = at(i).sort((a, b) => a - b); return l.length > 0 ? l[l.length >> 1]! : null; }),
      ];
    }
    chart('chart-steps', {
      height: 280,
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: (_u, _lo, hi) => [0, (hi > 0 ? hi : 1) * 1.08] } },
      axes: [
        { ...AXIS, label: 'step (position among the rank\'s steps)', labelSize: 22, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (_u, v) => v.map((i) => NUM.format(i)) },
        { ...AXIS, values: msAxis, size: 76 },
      ],
      series: [{ label: 'step', value: (_u, v) => (v === null ? '—' : `#${v}`) }, ...series],
    }, [x, ...ys]);
  } else note('chart-steps', s.notes.find((m) => m.startsWith('step view:'))?.replace(/^step view: /, '') ?? 'No step annotations in the traces.');
  table('table-steps', 'steps', [
    { key: 'rank', label: 'Rank', value: (st) => st.label, width: '90px' },
    { key: 'step', label: 'Step', value: (st) => st.name, cls: 'tf-mono' },
    { key: 'index', label: '#', num: true, value: (st) => st.index, width: '56px' },
    { key: 'start', label: 'Start', num: true, value: (st) => st.startUs, text: (st) => duration(st.startUs), width: '96px', help: 'from the earliest event of all ranks' },
    { key: 'wall', label: 'Wall', num: true, value: (st) => st.wallUs, text: (st) => duration(st.wallUs), width: '96px', help: 'CPU annotation' },
    { key: 'gpu', label: `${DEV} window`, num: true, value: (st) => st.gpuUs, text: (st) => duration(st.gpuUs), width: '104px', help: `${DEV} annotation` },
    { key: 'busy', label: `${DEV} busy`, num: true, value: (st) => st.busyUs, text: (st) => duration(st.busyUs), width: '96px' },
    { key: 'comm', label: 'Communication', num: true, value: (st) => st.communicationUs, text: (st) => duration(st.communicationUs), width: '124px' },
    { key: 'kernels', label: 'Kernels', num: true, value: (st) => st.kernels, text: (st) => count(st.kernels), width: '80px' },
  ], steps, { empty: 'No steps.', compact: true });

  // idle time by cause (per step, else per device) and the launch queue depth per stream
  const idle = s.idle;
  const CAUSES: [string, string][] = [['hostBound', 'host-bound'], ['sync', 'synchronization'], ['launchLatency', 'launch latency'], ['crossStream', 'cross-stream'], ['inGraph', 'in-graph'], ['other', 'other']];
  type IdleRow = NonNullable<typeof idle>['devices'][number];
  if (idle && idle.devices.some((d) => d.available)) {
    const rows = idle.steps.length > 0 ? idle.steps.map((st) => ({ name: `${st.label} step ${st.index}`, causes: st.causes as Record<string, number> }))
      : idle.devices.filter((d) => d.available).map((d) => ({ name: `${d.label} ${d.device}`, causes: d.causes as Record<string, number> }));
    const x = rows.map((_, i) => i);
    chart('chart-idle', {
      height: 280,
      scales: { x: { time: false, range: [-0.5, rows.length - 0.5] }, y: { range: (_u, _lo, hi) => [0, (hi > 0 ? hi : 1) * 1.08] } },
      axes: [
        { ...AXIS, label: idle.steps.length > 0 ? 'step' : 'device', labelSize: 22, splits: () => x, values: () => rows.map((r) => r.name) },
        { ...AXIS, values: msAxis, size: 76 },
      ],
      series: [{ label: 'row', value: (_u, v) => (v === null ? '—' : rows[v]?.name ?? '') },
        ...CAUSES.map(([, label], k) => ({ label, stroke: colorOf(k), width: 2, points: { show: false }, value: legendMs }))],
    }, [x, ...CAUSES.map(([key]) => rows.map((r) => ms(r.causes[key] ?? 0)))]);
  } else note('chart-idle', s.notes.find((m) => m.startsWith('idle and launch views:')) ?? 'No idle time could be attributed (no launches linked).');
  table<IdleRow>('table-idle', 'idle', [
    { key: 'rank', label: 'Rank', value: (d) => d.label, width: '90px' },
    { key: 'device', label: 'Device', value: (d) => d.device, width: '90px' },
    { key: 'idle', label: 'Idle', num: true, value: (d) => d.idleUs, text: (d) => duration(d.idleUs), width: '96px', help: 'gaps in the union of device activity inside its window' },
    ...CAUSES.map(([key, label]) => ({ key, label, num: true, value: (d: IdleRow) => d.causes?.[key as 'other'] ?? null, text: (d: IdleRow) => (d.causes ? duration(d.causes[key as 'other']) : 'n/a'), width: '104px' })),
  ], idle?.devices ?? [], { empty: 'No idle view.', compact: true });
  table('table-idle-cpu', 'idle-cpu', [
    { key: 'kind', label: 'Kind', value: (c) => c.kind, width: '90px' },
    { key: 'name', label: 'Python function, op or annotation', value: (c) => c.name, cls: 'tf-mono' },
    { key: 'us', label: 'Idle covered', num: true, value: (c) => c.us, text: (c) => duration(c.us), width: '110px', help: 'host-bound idle time while it was the innermost frame of its kind on the launching thread' },
    { key: 'stall', label: 'In stalls', num: true, value: (c) => c.stallUs, text: (c) => duration(c.stallUs), width: '96px', help: 'inside gaps of 100 µs or more' },
    { key: 'share', label: 'Share', num: true, value: (c) => c.share, text: (c) => percent(c.share), bar: (c) => c.share, width: '80px', help: 'of host-bound idle time' },
  ], idle?.cpu ?? [], { sort: 'stall', empty: 'Nothing ran on the launching threads during host-bound idle time (or no idle view).' });
  const queues = s.launch?.queues ?? [];
  if (queues.length > 0) {
    const shown = queues.slice(0, 8);
    const n = Math.max(...shown.map((q) => q.series.length));
    const x = Array.from({ length: n }, (_, b) => ms(shown.find((q) => q.series[b])!.series[b]!.tUs));
    chart('chart-queue', {
      height: 240,
      scales: { x: { time: false }, y: { range: (_u, _lo, hi) => [0, (hi > 0 ? hi : 1) * 1.1] } },
      axes: [{ ...AXIS, values: msAxis, label: 'time from the stream\'s first launch (max per bucket)', labelSize: 22 }, { ...AXIS, size: 52 }],
      series: [{ label: 'time', value: legendMs }, ...shown.map((q, k) => ({
        label: `${q.label} stream ${q.stream} (median ${count(q.median)}, max ${count(q.max)})`, stroke: colorOf(k), width: 1.5,
        paths: U.paths.stepped!({ align: 1 }), points: { show: false },
      }))],
    }, [x, ...shown.map((q) => Array.from({ length: n }, (_, b) => q.series[b]?.depth ?? null))]);
  } else note('chart-queue', 'No launches linked to device activity.');

  // ranks side by side
  const rv = s.ranks;
  if (rv && rv.totals.length > 0) {
    const metrics: [string, (t: RankTotals) => number][] = [
      [`${DEV} busy`, (t) => t.busyUs],
      ['compute', (t) => t.computeUs],
      ['communication', (t) => t.communicationUs],
      ['exposed communication', (t) => t.exposedCommunicationUs],
      ['collective wait', (t) => t.collectiveWaitUs],
    ];
    const M = metrics.length;
    const x: number[] = [];
    rv.totals.forEach((_, k) => { for (let m = 0; m < M; m++) x.push(k * (M + 1) + m); });
    // one series per metric, with a value only in its own slot of each rank's group
    const ys = metrics.map(([, f], m) => {
      const col: (number | null)[] = new Array<number | null>(x.length).fill(null);
      rv.totals.forEach((t, k) => { col[k * M + m] = ms(f(t)); });
      return col;
    });
    const centers = rv.totals.map((_, k) => k * (M + 1) + (M - 1) / 2);
    const straggler = rv.collectives.straggler;
    chart('chart-ranks', {
      height: 300,
      cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-1, rv.totals.length * (M + 1) - 1] }, y: { range: (_u, _lo, hi) => [0, (hi > 0 ? hi : 1) * 1.08] } },
      axes: [
        { ...AXIS, grid: { show: false }, splits: () => centers, values: () => rv.totals.map((t) => (t.label === straggler ? `${t.label} (straggler)` : t.label)) },
        { ...AXIS, values: msAxis, size: 76 },
      ],
      series: [
        { label: 'rank', value: (_u, v) => (v === null ? '—' : rv.totals[Math.floor(v / (M + 1))]?.label ?? '') },
        ...metrics.map(([label], m): uPlot.Series => ({
          label, fill: colorOf(m), stroke: colorOf(m), width: 0, points: { show: false },
          paths: U.paths.bars!({ size: [0.92, 48] }), value: legendMs,
        })),
      ],
    }, [x, ...ys]);
  } else note('chart-ranks', 'No ranks to compare.');
  const utilOf = new Map((s.summary ?? []).map((r) => [r.label, r.utilization] as const));
  table('table-rank-totals', 'rank-totals', [
    { key: 'rank', label: 'Rank', value: (t) => t.label, text: (t) => (t.label === rv?.collectives.straggler ? `${t.label} ⚑` : t.label), title: (t) => (t.label === rv?.collectives.straggler ? 'the straggler: arrives last at collectives' : '') },
    { key: 'span', label: 'Span', num: true, value: (t) => t.spanUs, text: (t) => duration(t.spanUs), width: '96px' },
    { key: 'busy', label: `${DEV} busy`, num: true, value: (t) => t.busyUs, text: (t) => duration(t.busyUs), width: '96px' },
    { key: 'util', label: 'Utilization', num: true, value: (t) => utilOf.get(t.label) ?? null, text: (t) => percent(utilOf.get(t.label)), bar: (t) => utilOf.get(t.label) ?? null, width: '100px' },
    { key: 'compute', label: 'Compute', num: true, value: (t) => t.computeUs, text: (t) => duration(t.computeUs), width: '96px' },
    { key: 'comm', label: 'Communication', num: true, value: (t) => t.communicationUs, text: (t) => duration(t.communicationUs), width: '124px' },
    { key: 'exposed', label: 'Exposed comm.', num: true, value: (t) => t.exposedCommunicationUs, text: (t) => duration(t.exposedCommunicationUs), width: '124px', help: 'communication not overlapped with compute' },
    { key: 'wait', label: 'Collective wait', num: true, value: (t) => t.collectiveWaitUs, text: (t) => duration(t.collectiveWaitUs), width: '124px', help: 'time its collectives waited for the last rank' },
    { key: 'kernels', label: 'Activities', num: true, value: (t) => t.kernels, text: (t) => count(t.kernels), width: '90px' },
  ], rv?.totals ?? [], { compact: true });
  table('table-collectives', 'collectives', [
    { key: 'rank', label: 'Rank', value: (p) => p.label },
    { key: 'collectives', label: 'Paired', num: true, value: (p) => p.collectives, text: (p) => count(p.collectives), width: '80px', help: 'collectives paired with every other participant' },
    { key: 'last', label: 'Last to arrive', num: true, value: (p) => p.lastArrivals, text: (p) => count(p.lastArrivals), width: '120px' },
    { key: 'lateness', label: 'Lateness', num: true, value: (p) => p.totalLatenessUs, text: (p) => duration(p.totalLatenessUs), width: '104px', help: 'total, over the collectives it was last in' },
    { key: 'lateMedian', label: 'Median lateness', num: true, value: (p) => p.medianLatenessUs, text: (p) => duration(p.medianLatenessUs), width: '130px' },
    { key: 'wait', label: 'Waited', num: true, value: (p) => p.waitUs, text: (p) => duration(p.waitUs), width: '104px', help: 'total time waiting for the last participant' },
    { key: 'waitMedian', label: 'Median wait', num: true, value: (p) => p.medianWaitUs, text: (p) => duration(p.medianWaitUs), width: '110px' },
  ], rv && rv.ranks.length > 1 ? rv.collectives.perRank : [], { empty: 'Only one rank: nothing to pair.', compact: true });
  const rankLabels = rv?.ranks ?? [];
  const perRankCols: Col<NonNullable<typeof rv>['kernels'][number]>[] = rankLabels.length <= 8
    ? rankLabels.map((label, k) => ({ key: `rank:${label}`, label, num: true, value: (r) => r.totalsUs[k] ?? null, text: (r) => duration(r.totalsUs[k]), width: '96px' }))
    : [];
  table('table-rank-kernels', 'rank-kernels', [
    { key: 'name', label: 'Kernel', value: (r) => r.name, text: (r) => short(r.name), title: (r) => r.name, cls: 'tf-name' },
    { key: 'category', label: 'Category', value: (r) => r.category, dot: (r) => catColor.get(r.category), width: '170px' },
    ...perRankCols,
    { key: 'min', label: 'Least', num: true, value: (r) => r.minUs, text: (r) => `${duration(r.minUs)} ${r.minRank}`, width: '150px' },
    { key: 'max', label: 'Most', num: true, value: (r) => r.maxUs, text: (r) => `${duration(r.maxUs)} ${r.maxRank}`, width: '150px' },
    { key: 'spread', label: 'Spread', num: true, value: (r) => r.spreadUs, text: (r) => duration(r.spreadUs), width: '96px', help: 'most − least total over the ranks' },
  ], rankLabels.length > 1 ? rv!.kernels : [], { sort: 'spread', filter: (r) => r.name, empty: 'Only one rank: nothing to compare.' });

  // top kernels
  table('table-kernels', 'kernels', [
    { key: 'name', label: 'Kernel', value: (k) => k.name, text: (k) => short(k.name), title: (k) => k.name, cls: 'tf-name' },
    { key: 'category', label: 'Category', value: (k) => k.category, dot: (k) => catColor.get(k.category), width: '170px' },
    { key: 'calls', label: 'Calls', num: true, value: (k) => k.calls, text: (k) => count(k.calls), width: '76px' },
    { key: 'total', label: 'Total', num: true, value: (k) => k.totalUs, text: (k) => duration(k.totalUs), width: '96px' },
    { key: 'share', label: 'Share', num: true, value: (k) => k.share, text: (k) => percent(k.share), bar: (k) => k.share, width: '76px', help: `of ${DEV} busy time` },
    { key: 'mean', label: 'Mean', num: true, value: (k) => k.meanUs, text: (k) => duration(k.meanUs), width: '90px' },
    { key: 'median', label: 'Median', num: true, value: (k) => k.medianUs, text: (k) => duration(k.medianUs), width: '90px' },
    { key: 'min', label: 'Min', num: true, value: (k) => k.minUs, text: (k) => duration(k.minUs), width: '90px' },
    { key: 'max', label: 'Max', num: true, value: (k) => k.maxUs, text: (k) => duration(k.maxUs), width: '90px' },
    ...(s.attribution ? [{ key: 'origin', label: 'Op / source', value: (k: KernelStat) => k.op ?? k.source ?? '', cls: 'tf-mono', width: '220px',
      title: (k: KernelStat) => `${k.op ?? '(no op)'} ${percent(k.opShare ?? null)}\n${k.source ?? '(no source)'} ${percent(k.sourceShare ?? null)}; launched from ${k.sources ?? 0} source(s)` }] : []),
  ], s.kernels ?? [], { sort: 'total', filter: (k) => k.name, empty: 'No device activity in the traces.' });

  // top ops
  const opsNote = s.notes.find((m) => m.startsWith('op view:'));
  table('table-ops', 'ops', [
    { key: 'name', label: 'Operator', value: (o) => o.name, cls: 'tf-mono', title: (o) => o.name, width: '180px' },
    { key: 'dims', label: 'Input shapes', value: (o) => shape(o.inputDims), title: (o) => shape(o.inputDims), cls: 'tf-mono' },
    { key: 'types', label: 'Input types', value: (o) => typeList(o.inputTypes), title: (o) => typeList(o.inputTypes), cls: 'tf-mono', width: '150px' },
    { key: 'calls', label: 'Calls', num: true, value: (o) => o.calls, text: (o) => count(o.calls), width: '70px' },
    { key: 'devTotal', label: 'Device total', num: true, value: (o) => o.deviceTotalUs, text: (o) => duration(o.deviceTotalUs), width: '114px', help: 'kernels of the op and of its children' },
    { key: 'devSelf', label: 'Device self', num: true, value: (o) => o.deviceSelfUs, text: (o) => duration(o.deviceSelfUs), width: '108px', help: 'kernels the op launched itself' },
    { key: 'cpuTotal', label: 'CPU total', num: true, value: (o) => o.cpuTotalUs, text: (o) => duration(o.cpuTotalUs), width: '92px' },
    { key: 'cpuSelf', label: 'CPU self', num: true, value: (o) => o.cpuSelfUs, text: (o) => duration(o.cpuSelfUs), width: '90px' },
    {
      key: 'kernels', label: 'Top kernels', value: (o) => o.kernels.map((k) => short(k.name)).join(', '), cls: 'tf-mono', width: '180px',
      title: (o) => o.kernels.map((k) => `${k.name} — ${k.calls} calls, ${duration(k.totalUs)}`).join('\n'),
    },
  ], s.ops ?? [], { sort: 'devTotal', filter: (o) => `${o.name} ${shape(o.inputDims)}`, empty: opsNote?.replace(/^op view: /, '') ?? 'No CPU operators in the traces.' });

  // torch_npu op_statistic per rank (NPU profiles only)
  if (document.getElementById('table-op-types')) {
    type OpTypeRow = NonNullable<typeof s.opTypes>[number]['rows'][number] & { label: string };
    table<OpTypeRow>('table-op-types', 'op-types', [
      { key: 'rank', label: 'Rank', value: (o) => o.label, width: '90px' },
      { key: 'type', label: 'OP type', value: (o) => o.opType, cls: 'tf-mono', title: (o) => o.opType },
      { key: 'core', label: 'Core type', value: (o) => o.coreType, cls: 'tf-mono', width: '150px' },
      { key: 'count', label: 'Count', num: true, value: (o) => o.count, text: (o) => count(o.count), width: '76px' },
      { key: 'total', label: 'Total', num: true, value: (o) => o.totalUs, text: (o) => duration(o.totalUs), width: '96px' },
      { key: 'min', label: 'Min', num: true, value: (o) => o.minUs, text: (o) => duration(o.minUs), width: '90px' },
      { key: 'avg', label: 'Avg', num: true, value: (o) => o.avgUs, text: (o) => duration(o.avgUs), width: '90px' },
      { key: 'max', label: 'Max', num: true, value: (o) => o.maxUs, text: (o) => duration(o.maxUs), width: '90px' },
      { key: 'ratio', label: 'Ratio', num: true, value: (o) => o.ratioPct, text: (o) => `${o.ratioPct.toFixed(1)}%`, bar: (o) => o.ratioPct / 100, width: '80px' },
    ], (s.opTypes ?? []).flatMap((t) => t.rows.map((r) => ({ ...r, label: t.label }))), { sort: 'total', filter: (o) => `${o.opType} ${o.coreType}`, empty: 'No OP types recorded.' });
  }
  // roofline (efficiency view): log-log, roofs as series, ops as points sized by time
  const eff = s.efficiency;
  const pts = (eff?.rows ?? []).filter((r) => r.intensity !== null && r.tflops !== null && r.intensity > 0 && r.tflops > 0);
  const sig = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : v.toLocaleString('en-US', { maximumSignificantDigits: 3 }));
  if (eff && pts.length > 0) {
    const roofs = new Map<string, { tflops: number; tbps: number; label: string }>();
    for (const r of eff.rows) if (r.peakTflops !== null && r.peakTbps !== null) roofs.set(`${r.peakTflops}/${r.peakTbps}`, { tflops: r.peakTflops, tbps: r.peakTbps, label: `${r.precision ?? ''} ${sig(r.peakTflops)} TFLOP/s, ${sig(r.peakTbps)} TB/s` });
    const xs = pts.map((r) => r.intensity!);
    const ys = pts.map((r) => r.tflops!);
    const rl = [...roofs.values()];
    // log scales on whole decades: uPlot's log axis splits loop forever from an unaligned minimum
    const decade = (v: number, up: boolean): number => Math.pow(10, up ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v)));
    const lo = decade(Math.min(...xs, ...rl.map((r) => r.tflops / r.tbps)) / 2, false);
    const hi = decade(Math.max(...xs, ...rl.map((r) => r.tflops / r.tbps)) * 2, true);
    const grid: number[] = [];
    for (let k = 0; k <= 120; k++) grid.push(lo * Math.pow(hi / lo, k / 120));
    const ymax = decade(Math.max(...ys, ...rl.map((r) => r.tflops)) * 1.5, true);
    const ymin = decade(Math.min(...ys) / 2, false);
    const total = pts.reduce((a, r) => a + r.totalUs, 0);
    chart('chart-roofline', {
      height: 380,
      legend: { show: rl.length > 0 },
      scales: { x: { time: false, distr: 3, range: [lo, hi] }, y: { distr: 3, range: [ymin, ymax] } },
      axes: [
        { ...AXIS, label: 'arithmetic intensity (FLOP per byte)', labelSize: 22, values: (_u, v) => v.map(sig) },
        { ...AXIS, label: 'achieved TFLOP/s', labelSize: 22, size: 64, values: (_u, v) => v.map(sig) },
      ],
      series: [
        { label: 'FLOP/B', value: (_u, v) => (v === null ? '—' : sig(v)) },
        ...rl.map((r, k): uPlot.Series => ({ label: `roof ${r.label}`, stroke: colorOf(k + 2), width: 1.5, points: { show: false }, value: (_u, v) => (v === null ? '—' : sig(v)) })),
      ],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          pts.forEach((r) => {
            const x = u.valToPos(r.intensity!, 'x', true);
            const y = u.valToPos(r.tflops!, 'y', true);
            const rad = Math.max(3, Math.sqrt(r.totalUs / total) * 28) * devicePixelRatio;
            ctx.beginPath();
            ctx.arc(x, y, rad, 0, 2 * Math.PI);
            ctx.fillStyle = r.bound === 'compute' ? 'rgba(225,87,89,.55)' : 'rgba(78,121,167,.55)';
            ctx.fill();
          });
          ctx.restore();
        }],
      },
    }, [grid, ...rl.map((r) => grid.map((x) => Math.min(r.tflops, r.tbps * x)))]);
  } else note('chart-roofline', eff ? 'No operator with a performance model and both FLOPs and bytes.' : 'No efficiency data (torch_npu profiles: see stats --by efficiency for the pipe bounds).');
  table('table-efficiency', 'efficiency', [
    { key: 'name', label: 'Operator', value: (o) => o.name, cls: 'tf-mono', title: (o) => `${o.name}\n${o.params}${o.missing ? `\n${o.missing}` : ''}`, width: '180px' },
    { key: 'dims', label: 'Input shapes', value: (o) => shape(o.inputDims), title: (o) => shape(o.inputDims), cls: 'tf-mono' },
    { key: 'family', label: 'Model', value: (o) => o.family ?? 'no model', width: '90px' },
    { key: 'calls', label: 'Calls', num: true, value: (o) => o.calls, text: (o) => count(o.calls), width: '70px' },
    { key: 'time', label: 'Time', num: true, value: (o) => o.totalUs, text: (o) => duration(o.totalUs), width: '90px' },
    { key: 'flops', label: 'GFLOP/call', num: true, value: (o) => o.flops, text: (o) => (o.flops === null ? '—' : sig(o.flops / 1e9)), width: '96px' },
    { key: 'tflops', label: 'TFLOP/s', num: true, value: (o) => o.tflops, text: (o) => (o.tflops === null ? '—' : sig(o.tflops)), width: '84px', help: 'time-weighted over calls' },
    { key: 'tbps', label: 'TB/s', num: true, value: (o) => o.tbps, text: (o) => (o.tbps === null ? '—' : sig(o.tbps)), width: '76px' },
    { key: 'peak', label: '% peak', num: true, value: (o) => o.computeShare, text: (o) => percent(o.computeShare), bar: (o) => o.computeShare, width: '80px' },
    { key: 'bw', label: '% BW', num: true, value: (o) => o.bandwidthShare, text: (o) => percent(o.bandwidthShare), bar: (o) => o.bandwidthShare, width: '76px' },
    { key: 'bound', label: 'Bound', value: (o) => o.bound ?? '—', width: '84px' },
  ], eff?.rows ?? [], { sort: 'time', filter: (o) => `${o.name} ${shape(o.inputDims)}`, empty: 'No efficiency data.' });

  // sources and modules (attribution)
  for (const [id, rows, what] of [['table-sources', s.sources, 'Source'], ['table-modules', s.modules, 'Module']] as const) {
    table(id, id.slice(6), [
      { key: 'name', label: what, value: (r) => r.name, title: (r) => r.name, cls: 'tf-mono' },
      { key: 'calls', label: 'Kernels', num: true, value: (r) => r.calls, text: (r) => count(r.calls), width: '80px' },
      { key: 'gpu', label: `${DEV} time`, num: true, value: (r) => r.gpuUs, text: (r) => duration(r.gpuUs), width: '100px' },
      { key: 'share', label: 'Share', num: true, value: (r) => r.share, text: (r) => percent(r.share), bar: (r) => r.share, width: '76px', help: `of ${DEV} busy time` },
      { key: 'ops', label: 'Top ops', value: (r) => r.ops.map((o) => o.name).join(', '), title: (r) => r.ops.map((o) => `${o.name} — ${o.calls} calls, ${duration(o.totalUs)}`).join('\n'), cls: 'tf-mono', width: '260px' },
      { key: 'kernels', label: 'Top kernels', value: (r) => r.kernels.map((k) => short(k.name)).join(', '), title: (r) => r.kernels.map((k) => `${k.name} — ${k.calls} calls, ${duration(k.totalUs)}`).join('\n'), cls: 'tf-mono', width: '220px' },
    ], rows ?? [], { sort: 'gpu', filter: (r) => r.name, empty: 'No attribution (the trace has no launch calls).' });
  }

  document.documentElement.dataset['ready'] = 'true';
}
