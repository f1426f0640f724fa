#!/usr/bin/env node
/**
 * The command line. The only place that calls process.exit: user errors (TraceforgeError,
 * usage) print one line and exit 2; anything else is a bug and prints its stack (exit 70).
 * Commands live one per file in ./commands; each registers its options (a command that needs
 * heavy modules imports them inside its action).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isTraceforgeError } from '../errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Exit status set by a command (e.g. check: 1 when problems were found). */
export interface CommandOutcome { exitCode: number }

type Loader = () => Promise<{ register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void }>;

const exportAndSql: Loader = () => import('./commands/export.js');

/** The module of each command, by the command's name (a module may register several). */
const COMMANDS: Record<string, Loader> = {
  fix: () => import('./commands/fix.js'),
  check: () => import('./commands/check.js'),
  merge: () => import('./commands/merge.js'),
  stats: () => import('./commands/stats.js'),
  open: () => import('./commands/open.js'),
  demo: () => import('./commands/demo.js'),
  info: () => import('./commands/info.js'),
  diff: () => import('./commands/diff.js'),
  report: () => import('./commands/report.js'),
  export: exportAndSql,
  sql: exportAndSql,
};

/**
 * The modules to load: only the named command's when the first argument names one (loading
 * every command's modules took ~0.14 s of each run, a sixth of `stats` on the 154 MB bench
 * trace); all of them for the overall help, `help CMD`, or an unknown command (so that commander
 * lists them or names the nearest).
 */
function loaders(argv: readonly string[]): Loader[] {
  const first = argv[2];
  const only = first !== undefined && Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  return only ? [only] : [...new Set(Object.values(COMMANDS))];
}

function fail(e: unknown): never {
  if (isTraceforgeError(e)) {
    process.stderr.write(`traceforge: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`traceforge: internal error (a bug — please report it):\n${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(70);
}

async function run(fn: () => Promise<CommandOutcome | void>): Promise<void> {
  try {
    const r = await fn();
    process.exitCode = r ? r.exitCode : 0;
  } catch (e) {
    fail(e);
  }
}

async function main(): Promise<void> {
  const program = new Command('traceforge')
    .description('Make GPU/NPU profiler traces of LLM serving usable: fix overlapping slices for Perfetto, merge ranks, find where the time goes.')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const load of loaders(process.argv)) (await load()).register(program, run);
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    fail(e);
  }
}

void main();
