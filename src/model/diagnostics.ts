/**
 * Named, counted data problems. Nothing is dropped silently: every problem that does not stop
 * the work is counted under one of these names, with the first few examples kept.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface DiagnosticKind {
  readonly severity: Severity;
  readonly description: string;
}

/** Every diagnostic traceforge can report, with a one-sentence description. */
export const DIAGNOSTICS = {
  slice_overlapping_complete_event: {
    severity: 'error',
    description: 'a complete (X) event starts inside another on the same track and ends after it; Perfetto drops (v51-v56) or spills (v57+) it',
  },
  complete_event_missing_dur: {
    severity: 'warning',
    description: 'a complete (X) event has no numeric dur; it is treated as zero-length',
  },
  event_missing_ts: {
    severity: 'warning',
    description: 'an event other than metadata has no numeric ts',
  },
  event_missing_ph: {
    severity: 'warning',
    description: 'an event has no ph (phase) field',
  },
  event_missing_track: {
    severity: 'warning',
    description: 'an event has no pid or no tid; it is placed on the track of the missing value',
  },
  negative_duration: {
    severity: 'warning',
    description: 'a complete (X) event has a negative dur; it is treated as zero-length',
  },
  track_unsorted: {
    severity: 'info',
    description: 'a track\'s complete events are not in timestamp order in the file (traceforge sorts; some tools assume order)',
  },
  suspect_device_duration: {
    severity: 'warning',
    description: 'a device slice (kernel, copy, set) lasts longer than it can: it contains several later slices of its stream, or is over 10x the median of the other calls of its name and runs into the next; fix puts it on a "(suspect duration)" track',
  },
  perfetto_end_without_begin: {
    severity: 'error',
    description: 'Perfetto trace: a TYPE_SLICE_END with no open slice on its track (trace processor drops it; the slices around it get wrong ends)',
  },
  perfetto_begin_without_end: {
    severity: 'warning',
    description: 'Perfetto trace: a TYPE_SLICE_BEGIN that no TYPE_SLICE_END closes (shown as lasting to the end of the trace)',
  },
  perfetto_unknown_iid: {
    severity: 'error',
    description: 'Perfetto trace: an event refers to an interned name or category its sequence never defined (shown without a name)',
  },
  perfetto_undescribed_track: {
    severity: 'warning',
    description: 'Perfetto trace: events on a track uuid with no TrackDescriptor (unnamed, outside the track tree)',
  },
  flow_missing_end: {
    severity: 'warning',
    description: 'a flow start (s) has no matching finish (f) with the same category and id',
  },
  flow_missing_start: {
    severity: 'warning',
    description: 'a flow finish (f) has no matching start (s) with the same category and id',
  },
  device_activity_unmatched_launch: {
    severity: 'info',
    description: 'a device activity (kernel, copy, set) has a correlation id that no runtime / driver call carries; the idle view counts its gap as other, the launch view as unmatched',
  },
  npu_task_unmatched_launch: {
    severity: 'info',
    description: 'a torch_npu device task has no CANN call with its connection_id and no HostToDevice or torch_to_npu flow that leads to a recorded launch (Level 0 records no CANN calls); the idle view counts its gap as other, the launch view as unmatched',
  },
  activity_before_launch: {
    severity: 'info',
    description: 'a device activity starts before the launch call linked to it: the host and device clocks disagree (torch_npu converts the device clock to the host\'s; up to 23.75 µs on the level-1 fixtures); its launch delay is negative as recorded, and a gap it ends is host-bound up to its start',
  },
  perfetto_ui_memory: {
    severity: 'warning',
    description: 'the JSON written is estimated to need more memory than the Perfetto UI has in the browser (~2 GB; JSON costs about 3x its size there), so the UI will probably fail to load it: cut it with --split steps:N or time:MS, write --format perfetto, or open it through trace_processor --httpd',
  },
  flow_unbound: {
    severity: 'info',
    description: 'a flow event does not fall inside any complete event of its track, so it binds to no slice',
  },
  graph_replay_unattributed: {
    severity: 'info',
    description: 'a kernel of a CUDA/HIP graph replay matched no capture or mapping trace (or the candidates disagreed); its time is "(graph replay, unattributed)"',
  },
  graph_routes_disagree: {
    severity: 'warning',
    description: 'the capture and the mapping trace name different ops for a graph replay kernel; it is left unattributed',
  },
  collective_unpaired: {
    severity: 'info',
    description: 'a collective instance was not found on every rank of its process group (a rank is not in the input, or its profile did not cover the instance); it has no latency, skew or bandwidth',
  },
  collective_size_mismatch: {
    severity: 'warning',
    description: 'the ranks of one collective instance record different message sizes or dtypes; its bytes and bandwidth are missing',
  },
  collective_dtype_unknown: {
    severity: 'warning',
    description: 'a collective\'s dtype has no known element size, so its bytes and bandwidth are missing',
  },
} as const satisfies Record<string, DiagnosticKind>;

export type DiagnosticName = keyof typeof DIAGNOSTICS;

export interface DiagnosticExample {
  file: string;
  /** Event index in the file's events array. */
  index: number;
  name?: string | undefined;
  /** The event's ts as written in the file. */
  ts?: string | undefined;
  /** Extra detail (e.g. the track, the other event). */
  detail?: string | undefined;
}

export interface DiagnosticEntry {
  name: DiagnosticName;
  severity: Severity;
  description: string;
  count: number;
  examples: DiagnosticExample[];
}

export class Diagnostics {
  private readonly entries = new Map<DiagnosticName, DiagnosticEntry>();
  constructor(readonly maxExamples = 5) {}

  add(name: DiagnosticName, example?: DiagnosticExample, count = 1): void {
    let e = this.entries.get(name);
    if (!e) {
      const k = DIAGNOSTICS[name];
      e = { name, severity: k.severity, description: k.description, count: 0, examples: [] };
      this.entries.set(name, e);
    }
    e.count += count;
    if (example && e.examples.length < this.maxExamples) e.examples.push(example);
  }

  count(name: DiagnosticName): number {
    return this.entries.get(name)?.count ?? 0;
  }

  /** Entries, most severe first, then by name. */
  list(): DiagnosticEntry[] {
    const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
    return [...this.entries.values()].sort((a, b) => rank[a.severity] - rank[b.severity] || a.name.localeCompare(b.name));
  }

  get isEmpty(): boolean { return this.entries.size === 0; }

  merge(other: Diagnostics): void {
    for (const e of other.list()) {
      for (const ex of e.examples) this.add(e.name, ex, 0);
      this.add(e.name, undefined, e.count);
    }
  }
}

/** Human text: one line per diagnostic, then its first examples indented. */
export function formatDiagnostics(d: Diagnostics, maxExamples = 3): string {
  const lines: string[] = [];
  for (const e of d.list()) {
    lines.push(`  ${e.severity.padEnd(7)} ${e.name}: ${e.count.toLocaleString('en-US')} — ${e.description}`);
    for (const ex of e.examples.slice(0, maxExamples)) {
      const parts = ex.index >= 0 ? [`event #${ex.index}`] : [];
      if (ex.name !== undefined) parts.push(JSON.stringify(ex.name.length > 60 ? ex.name.slice(0, 57) + '...' : ex.name));
      if (ex.ts !== undefined) parts.push(`ts ${ex.ts}`);
      if (ex.detail) parts.push(ex.detail);
      lines.push(`      e.g. ${ex.file}: ${parts.join(', ')}`);
    }
  }
  return lines.join('\n');
}
