/**
 * `export`: the tables of docs/SCHEMA.md as Parquet, Hive-partitioned by rank
 * (`DIR/kernels/rank=3/part-0.parquet`). The traces are read by `statsOf` (one streaming pass
 * per file, files on worker threads); analysis/export-rows.ts turns each rank into columns and
 * formats/parquet.ts writes them. Every file is written under `DIR/.tmp-export-*` first and
 * each finished partition renamed into place, so a reader never sees a half-written partition,
 * and exporting a rank again replaces that rank's partitions only.
 */
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { TABLE_NAMES, collectiveRows, idleRows, kernelRows, opRows, rankRows, stepRows, type ExportRank, type ExportTable, type TableName } from '../analysis/export-rows.js';
import { closeDb, openDb, writeParquet } from '../formats/parquet.js';
import { statsOf, type StatsOptions, type StatsRanks } from './stats.js';

export type ExportOptions = Pick<StatsOptions, 'categories' | 'step' | 'profileId' | 'capture' | 'mapping' | 'library' | 'dropSuspect' | 'onProgress'>;

export interface ExportedRank { rank: number; label: string; file: string; tables: { name: TableName; rows: number; bytes: number }[] }
export interface ExportResult { dir: string; ranks: ExportedRank[]; notes: string[] }

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/** The partition key of each rank: its rank number, else its position; duplicates are an error. */
function partitionKeys(x: StatsRanks): number[] {
  const keys = x.ranks.map((r, k) => r.rank ?? k);
  const seen = new Map<number, string>();
  x.ranks.forEach((r, k) => {
    const other = seen.get(keys[k]!);
    if (other !== undefined) {
      throw new TraceforgeError('E_RANKS', `export: ranks ${other} and ${r.label} both have rank ${keys[k]} (partition rank=${keys[k]}); export each group (e.g. prefill, decode) into its own directory`, r.file);
    }
    seen.set(keys[k]!, r.label);
  });
  return keys;
}

/** Exports the traces (files, directories, a merged trace) into `dir`. */
export async function exportTraces(inputs: readonly string[], dir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new TraceforgeError('E_OUTPUT', `${dir}: exists and is not a directory`, dir);
  let got: StatsRanks | undefined;
  // the records of these views, not the views: kernel (torch_npu: kernel_details.csv), source
  // (the attribution: launch links, op, source, module), step (annotations), rank (collective args)
  const stats = await statsOf(inputs, { ...opts, collectFor: ['kernel', 'source', 'step', 'rank'], onRanks: (x) => { got = x; } });
  const x = got!;
  const keys = partitionKeys(x);
  try { await mkdir(dir, { recursive: true }); } catch (e) { throw new TraceforgeError('E_OUTPUT', `${dir}: cannot create the output directory (${message(e)})`, dir); }
  let tmp: string;
  try { tmp = await mkdtemp(join(dir, '.tmp-export-')); } catch (e) { throw new TraceforgeError('E_OUTPUT', `${dir}: cannot write there (${message(e)})`, dir); }
  const duck = await openDb();
  const out: ExportedRank[] = [];
  try {
    const collectives = collectiveRows(x.ranks, x.cats);
    for (let k = 0; k < x.ranks.length; k++) {
      const r: ExportRank = { rank: x.ranks[k]!, npu: x.npu[k]!, top: x.tops[k], timeline: x.timelines[k], att: x.atts?.[k], steps: x.steps };
      const tables: Record<TableName, () => ExportTable> = {
        kernels: () => kernelRows(r, x.cats), ops: () => opRows(r), ranks: () => rankRows(r),
        steps: () => stepRows(r), collectives: () => collectives[k]!, idle: () => idleRows(r),
      };
      const done: ExportedRank = { rank: keys[k]!, label: r.rank.label, file: r.rank.file, tables: [] };
      for (const name of TABLE_NAMES) {
        const t = tables[name]();
        const part = join(tmp, name, `rank=${keys[k]}`);
        const file = join(part, 'part-0.parquet');
        try {
          await mkdir(part, { recursive: true });
          await writeParquet(duck.db, t, file);
        } catch (e) {
          throw new TraceforgeError('E_OUTPUT', `${join(dir, name, `rank=${keys[k]}`, 'part-0.parquet')}: cannot write (${message(e)})`, file);
        }
        done.tables.push({ name, rows: t.rows, bytes: (await stat(file)).size });
      }
      out.push(done);
    }
    // every partition is complete: swap each into place (the old one moved aside, then removed)
    for (const name of TABLE_NAMES) {
      await mkdir(join(dir, name), { recursive: true });
      for (const key of keys) {
        const target = join(dir, name, `rank=${key}`);
        try {
          const old = join(tmp, `old-${name}-${key}`);
          const had = await rename(target, old).then(() => true, (e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return false; throw e; });
          await rename(join(tmp, name, `rank=${key}`), target);
          if (had) await rm(old, { recursive: true, force: true });
        } catch (e) {
          throw new TraceforgeError('E_OUTPUT', `${target}: cannot replace the partition (${message(e)})`, target);
        }
      }
    }
  } finally {
    closeDb(duck);
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, ranks: out, notes: stats.notes };
}
