/**
 * `traceforge demo` (what `npm start` runs): the main job on the bundled real sample — merge the
 * two H200 tensor-parallel ranks in examples/tp2 into one timeline with the overlap fix applied,
 * then show where the GPU time goes and which rank waits in all-reduce.
 */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative, resolve } from 'node:path';
import { mergeTraces } from '../../pipeline/merge.js';
import { checkTrace } from '../../pipeline/check.js';
import { statsOf } from '../../pipeline/stats.js';
import { sectionsOf } from '../../report/sections.js';
import { renderTables } from '../../report/table.js';
import { bytes, n } from '../format.js';
import type { CommandOutcome } from '../main.js';

const SAMPLE = fileURLToPath(new URL('../../../../examples/tp2', import.meta.url));

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('demo')
    .description('Merge + fix + stats of the bundled 2-rank H200 sample (examples/tp2); what `npm start` runs.')
    .option('--out <dir>', 'where to write the merged trace', 'out')
    .action((o: { out: string }) => run(async () => {
      const say = (line = ''): void => void process.stdout.write(line + '\n');
      const outDir = resolve(o.out);
      mkdirSync(outDir, { recursive: true });
      const shown = (p: string): string => relative(process.cwd(), p) || p;
      say(`traceforge demo — sample: ${shown(SAMPLE)} (2 tensor-parallel ranks, H200, NCCL all-reduce; real profiler output)`);
      say();
      const before = await Promise.all(['1763900000-TP-0', '1763900000-TP-1'].map((r) => checkTrace(join(SAMPLE, `${r}.trace.json.gz`))));
      say(`1. check: ${before.map((c) => `${c.file.split('/').pop()}: ${n(c.nonNesting)} slices do not nest (Perfetto drops or spills them)`).join('\n          ')}`);
      const merged = await mergeTraces({ inputs: [SAMPLE], output: outDir });
      const r = merged.results[0]!;
      say(`2. merge + fix: ${r.ranks.map((x) => x.label).join(' + ')} → one timeline; ${n(r.eventsIn)} events in, ${n(r.slicesMoved)} slices moved to ${n(r.lanesAdded)} overlap tracks, flow ids made unique per rank`);
      const after = await checkTrace(r.output);
      say(`   check of the result: ${n(after.nonNesting)} slices do not nest`);
      say();
      const stats = await statsOf([r.output], { views: ['summary', 'kernel', 'rank'] });
      const width = process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 100;
      say('3. stats (traceforge stats ' + shown(r.output) + ' --by summary,kernel,rank):');
      say();
      process.stdout.write(renderTables(sectionsOf(stats, { top: 10 }), width));
      say();
      say(`wrote ${shown(r.output)} (${bytes(r.outputBytes)})`);
      say('open it in Perfetto:');
      say(`  node dist/src/cli/main.js open ${shown(r.output)}     (serves it to https://ui.perfetto.dev)`);
      say(`  or drag ${shown(r.output)} into https://ui.perfetto.dev`);
    }));
}
