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

const COMMANDS: Loader[] = [
  () => import('./commands/fix.js'),
  () => import('./commands/check.js'),
  () => import('./commands/merge.js'),
  () => import('./commands/stats.js'),
  () => import('./commands/open.js'),
  () => import('./commands/demo.js'),
  () => import('./commands/info.js'),
  () => import('./commands/diff.js'),
  () => import('./commands/report.js'),
  () => import('./commands/export.js'),
];

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
  for (const load of COMMANDS) (await load()).register(program, run);
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    fail(e);
  }
}

void main();
