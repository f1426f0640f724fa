/** `traceforge open <trace | dir>`: one command from a trace to the Perfetto UI. */
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { hostname, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceforgeError } from '../../errors.js';
import { ascendProfileOf } from '../../formats/ascend.js';
import { checkTrace } from '../../pipeline/check.js';
import { fixTrace } from '../../pipeline/fix.js';
import { mergeTraces } from '../../pipeline/merge.js';
import { traceStem } from '../../pipeline/names.js';
import { DEFAULT_PORT, serveTrace } from '../../pipeline/serve.js';
import type { CommandOutcome } from '../main.js';
import { cliFormat, cliSplit, uiLine } from '../output-options.js';
import { isPerfettoName } from '../../pipeline/output-format.js';
import { defaultFixOutput } from '../../pipeline/fix.js';
import { existingParts, splitTrace, type PartInfo } from '../../pipeline/split.js';
import { ms, n } from '../format.js';

function tryOpenBrowser(url: string): boolean {
  const p = platform();
  const cmd = p === 'darwin' ? 'open' : p === 'win32' ? 'cmd' : 'xdg-open';
  if (p === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) return false;
  try {
    const child = spawn(cmd, p === 'win32' ? ['/c', 'start', '', url] : [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('open')
    .description('Open a trace (or a directory of ranks, merged first) in the Perfetto UI: fixes non-nesting slices on the fly (in a temp file) and serves it on 127.0.0.1:9001.')
    .argument('<inputs...>', 'a trace, a torch_npu profile directory, or a directory / files of ranks')
    .option('--no-browser', 'do not start a browser; just print the URL')
    .option('--port <n>', 'port to serve on (the Perfetto UI only accepts 9001; other ports are for testing)', String(DEFAULT_PORT))
    .option('--no-fix', 'serve the trace as it is, even when slices do not nest')
    .option('--format <fmt>', 'json (default), or perfetto: convert to Perfetto\'s native TrackEvent protobuf first (lanes as child tracks, a fraction of the memory in the UI)')
    .option('--split <spec>', 'split on the fly (steps:N or time:MS, as fix --split) and serve one part (--part, default 00)')
    .option('--step <regex>', 'with --split steps:N: the step annotations')
    .option('--part <NN>', 'serve part NN: of --split, else the <stem>-part-NN file that fix / merge --split wrote beside the trace named')
    .action((inputs: string[], o: { browser: boolean; port: string; fix: boolean; format?: string; split?: string; step?: string; part?: string }) => run(async () => {
      const format = o.format === undefined ? 'json' : cliFormat(o.format, undefined);
      const split = cliSplit(o.split, o.step);
      if (o.part !== undefined && !/^\d+$/.test(o.part)) throw new TraceforgeError('E_USAGE', `--part takes a part number (00, 1, 12, ...), not "${o.part}"`);
      const part = o.part !== undefined ? Number(o.part) : undefined;
      if (format === 'perfetto' && !o.fix) throw new TraceforgeError('E_USAGE', '--no-fix cannot be combined with --format perfetto: slices on one TrackEvent track must nest');
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TraceforgeError('E_USAGE', `--port takes a port number, not ${o.port}`);
      const log = (line: string): void => void process.stderr.write(line + '\n');
      const tmp = mkdtempSync(join(tmpdir(), 'traceforge-open-'));
      const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
      /** The part asked for among the parts just written, with what they are. */
      const pick = (parts: readonly PartInfo[]): string => {
        const k = part ?? 0;
        if (k >= parts.length) throw new TraceforgeError('E_USAGE', `--part ${o.part}: the split made ${parts.length} part(s), 00 to ${String(parts.length - 1).padStart(2, '0')}`);
        log(`${n(parts.length)} part(s); serving part ${String(k).padStart(2, '0')}: ${ms(parts[k]!.startMs)} – ${ms(parts[k]!.endMs)}${parts[k]!.steps ? ` (${parts[k]!.steps!.first}${parts[k]!.steps!.count > 1 ? ` .. ${parts[k]!.steps!.last}` : ''})` : ''}, ${n(parts[k]!.events)} events${parts.length > 1 ? '; the others: --part NN' : ''}`);
        return parts[k]!.path;
      };
      try {
        let file: string;
        let single = inputs.length === 1 ? inputs[0]! : undefined;
        if (part !== undefined && !split.split) {
          // a part written earlier by fix / merge --split, named after the given trace (or after fix's default output)
          if (single === undefined) throw new TraceforgeError('E_USAGE', '--part without --split takes one trace: the output fix / merge --split wrote its parts for');
          const found = [...existingParts(single), ...existingParts(defaultFixOutput(single))].filter((x) => x.k === part);
          if (found.length === 0) {
            throw new TraceforgeError('E_NOT_FOUND', `${single}: no part ${o.part} of it found (the <stem>-part-NN files fix / merge --split write beside their output); write parts with fix / merge --split, or add --split here to split on the fly`);
          }
          single = found[0]!.path;
          log(`part ${String(part).padStart(2, '0')}: ${single}`);
        }
        const ascend = single ? ascendProfileOf(single) : undefined;
        const isDir = single !== undefined && !ascend && statSync(single, { throwIfNoEntry: false })?.isDirectory() === true;
        if (single === undefined || isDir) {
          log(split.split ? 'merging the ranks and splitting the result first ...' : 'merging the ranks first ...');
          const m = await mergeTraces({ inputs, output: tmp, fix: o.fix, format, ...split });
          if (m.results.length > 1) log(`note: ${m.results.length} groups found; opening the first, ${m.results[0]!.output}`);
          const r = m.results[0]!;
          const warn = uiLine(r.ui);
          if (warn) log(warn);
          file = r.split ? pick(r.split.parts) : r.output;
        } else if (split.split) {
          const trace = ascend?.trace ?? single;
          if (isPerfettoName(trace)) throw new TraceforgeError('E_USAGE', `${trace}: --split cuts JSON traces; this one is already Perfetto's native format`);
          if (!o.fix && format === 'json') {
            log('splitting it in a temp file (the input is untouched) ...');
            file = pick((await splitTrace(trace, join(tmp, `${traceStem(trace)}.json.gz`), split.split, { ...(split.step ? { step: split.step } : {}) })).parts);
          } else {
            log(`${format === 'perfetto' ? 'converting' : 'fixing'} and splitting it in a temp file (the input is untouched) ...`);
            const r = await fixTrace(trace, { format, output: join(tmp, `${traceStem(trace)}.fixed.${format === 'perfetto' ? 'pftrace' : 'json.gz'}`), ...split });
            file = pick(r.split!.parts);
          }
        } else {
          const trace = ascend?.trace ?? single;
          if (isPerfettoName(trace)) {
            file = trace;
          } else if (format === 'perfetto') {
            log('writing it as a Perfetto TrackEvent trace in a temp file (the input is untouched) ...');
            file = (await fixTrace(trace, { format, output: join(tmp, `${traceStem(trace)}.pftrace`) })).output;
          } else {
            const c = await checkTrace(trace);
            if (o.fix && (c.nonNesting > 0 || ascend)) {
              log(c.nonNesting > 0 ? `${c.nonNesting} slice(s) do not nest; fixing in a temp file (the input is untouched) ...` : 'making the torch_npu trace Perfetto-safe in a temp file ...');
              const r = await fixTrace(trace, { output: join(tmp, `${traceStem(trace)}.fixed.json.gz`) });
              const warn = uiLine(r.ui);
              if (warn) log(warn);
              file = r.output;
            } else file = trace;
          }
        }
        const h = await serveTrace(file, { port });
        log(`serving ${file} at ${h.url}`);
        log(`open: ${h.perfettoUrl}`);
        if (process.env['SSH_CONNECTION'] || process.env['SSH_CLIENT']) {
          log(`remote machine: on your laptop run   ssh -L ${port}:127.0.0.1:${port} ${hostname()}   then open the link above there`);
        }
        if (o.browser && !tryOpenBrowser(h.perfettoUrl)) log('(no browser here: open the link yourself)');
        log('waiting for the Perfetto UI to fetch the trace (Ctrl-C to stop) ...');
        const stop = new Promise<void>((res) => process.once('SIGINT', () => { log('stopped'); res(); }));
        await Promise.race([h.served.then(() => log('trace sent; done')), stop]);
        await h.close();
      } finally {
        cleanup();
      }
    }));
}
