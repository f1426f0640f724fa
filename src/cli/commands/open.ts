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
import { cliFormat } from './fix.js';
import { isPerfettoName } from '../../pipeline/perfetto.js';

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
    .action((inputs: string[], o: { browser: boolean; port: string; fix: boolean; format?: string }) => run(async () => {
      const format = o.format === undefined ? 'json' : cliFormat(o.format, undefined);
      if (format === 'perfetto' && !o.fix) throw new TraceforgeError('E_USAGE', '--no-fix cannot be combined with --format perfetto: slices on one TrackEvent track must nest');
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TraceforgeError('E_USAGE', `--port takes a port number, not ${o.port}`);
      const log = (line: string): void => void process.stderr.write(line + '\n');
      const tmp = mkdtempSync(join(tmpdir(), 'traceforge-open-'));
      const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
      try {
        let file: string;
        const single = inputs.length === 1 ? inputs[0]! : undefined;
        const ascend = single ? ascendProfileOf(single) : undefined;
        const isDir = single !== undefined && !ascend && statSync(single, { throwIfNoEntry: false })?.isDirectory() === true;
        if (single === undefined || isDir) {
          log('merging the ranks first ...');
          const m = await mergeTraces({ inputs, output: tmp, fix: o.fix, format });
          if (m.results.length > 1) log(`note: ${m.results.length} groups found; opening the first, ${m.results[0]!.output}`);
          file = m.results[0]!.output;
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
              file = (await fixTrace(trace, { output: join(tmp, `${traceStem(trace)}.fixed.json.gz`) })).output;
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
