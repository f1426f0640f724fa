/**
 * torch_npu's communication files (text export, Level 1+, multi-rank runs):
 * `ASCEND_PROFILER_OUTPUT/communication.json` (per step, per op: elapse / transit / wait /
 * synchronization / idle time and bandwidth per transport type) and
 * `communication_matrix.json` (per step, per op type and group: bandwidth per link
 * `src-dst` of group-local ranks). Layouts: docs ASCEND.md §3 (torch_npu
 * `prof_view/_communication_parser.py`). Times in the files are ms (floats with sub-ns
 * digits); they are kept as integer ns here (rounded once, per value).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TraceforgeError } from '../errors.js';

export type TransportType = 'HCCS' | 'PCIE' | 'RDMA' | 'SDMA' | 'SIO' | 'LOCAL' | string;

export interface AscendBandwidth {
  transport: TransportType;
  /** Bytes (MB × 10⁶, rounded) and ns. */
  bytes: number;
  ns: number;
  /** The file's `Bandwidth(GB/s)` (absent in `Total Op Info`). */
  bandwidthGBs: number | null;
  largePacketRatio: number | null;
}

export interface AscendCommOp {
  step: string;
  /** `collective` or `p2p`. */
  kind: string;
  /** Op name (`hcom_allReduce__586_0_1`) and group hash; `Total Op Info` for the per-step total. */
  name: string;
  group: string;
  /** Epoch µs as written (absent in totals). */
  startUs: number | null;
  elapseNs: number;
  transitNs: number;
  waitNs: number;
  syncNs: number;
  idleNs: number;
  waitRatio: number | null;
  syncRatio: number | null;
  bandwidth: AscendBandwidth[];
}

export interface AscendLink {
  step: string;
  kind: string;
  /** `allreduce`, `reduce` (reduceScatter), ... as the file's key has it. */
  opType: string;
  /** `top1`, `middle`, `bottom1..3`, `total`. */
  which: string;
  group: string;
  /** Group-local ranks. */
  src: number;
  dst: number;
  transport: TransportType;
  bytes: number;
  ns: number;
  bandwidthGBs: number | null;
  opName: string | null;
}

export interface AscendCommFiles {
  ops: AscendCommOp[];
  links: AscendLink[];
  /** The files read (missing ones are not listed). */
  files: string[];
}

const ms = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1e6) : 0);
const mb = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1e6) : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TraceforgeError('E_INPUT', `${path}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`, path);
  }
}

/** The communication files of one ASCEND_PROFILER_OUTPUT directory; undefined when it has neither. */
export function readAscendComm(output: string): AscendCommFiles | undefined {
  const cPath = join(output, 'communication.json');
  const mPath = join(output, 'communication_matrix.json');
  const files: string[] = [];
  const ops: AscendCommOp[] = [];
  const links: AscendLink[] = [];
  if (existsSync(cPath)) {
    files.push(cPath);
    for (const [step, v] of Object.entries(obj(readJson(cPath)))) {
      for (const [kind, list] of Object.entries(obj(v))) {
        for (const [key, o] of Object.entries(obj(list))) {
          const at = key.lastIndexOf('@');
          const name = at >= 0 ? key.slice(0, at) : key;
          const group = at >= 0 ? key.slice(at + 1) : '';
          const t = obj(obj(o)['Communication Time Info']);
          const bw = obj(obj(o)['Communication Bandwidth Info']);
          ops.push({
            step, kind, name, group,
            startUs: numOrNull(t['Start Timestamp(us)']),
            elapseNs: ms(t['Elapse Time(ms)']), transitNs: ms(t['Transit Time(ms)']), waitNs: ms(t['Wait Time(ms)']),
            syncNs: ms(t['Synchronization Time(ms)']), idleNs: ms(t['Idle Time(ms)']),
            waitRatio: numOrNull(t['Wait Time Ratio']), syncRatio: numOrNull(t['Synchronization Time Ratio']),
            bandwidth: Object.entries(bw).map(([transport, b]) => {
              const x = obj(b);
              return { transport, bytes: mb(x['Transit Size(MB)']), ns: ms(x['Transit Time(ms)']), bandwidthGBs: numOrNull(x['Bandwidth(GB/s)']), largePacketRatio: numOrNull(x['Large Packet Ratio']) };
            }),
          });
        }
      }
    }
  }
  if (existsSync(mPath)) {
    files.push(mPath);
    for (const [step, v] of Object.entries(obj(readJson(mPath)))) {
      for (const [kind, list] of Object.entries(obj(v))) {
        for (const [key, o] of Object.entries(obj(list))) {
          const m = /^(.*?)-(top\d*|middle|bottom\d*|total)@(.*)$/.exec(key);
          const opType = m ? m[1]! : key.replace(/@.*$/, '');
          const which = m ? m[2]! : 'total';
          const group = m ? m[3]! : key.includes('@') ? key.slice(key.lastIndexOf('@') + 1) : '';
          for (const [link, l] of Object.entries(obj(o))) {
            const lm = /^(\d+)-(\d+)$/.exec(link);
            if (!lm) continue;
            const x = obj(l);
            links.push({
              step, kind, opType, which, group, src: Number(lm[1]), dst: Number(lm[2]),
              transport: typeof x['Transport Type'] === 'string' ? x['Transport Type'] : '',
              bytes: mb(x['Transit Size(MB)']), ns: ms(x['Transit Time(ms)']), bandwidthGBs: numOrNull(x['Bandwidth(GB/s)']),
              opName: typeof x['Op Name'] === 'string' ? x['Op Name'] : null,
            });
          }
        }
      }
    }
  }
  return files.length > 0 ? { ops, links, files } : undefined;
}
