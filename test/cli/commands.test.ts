/**
 * The command line loads only the module of the command it runs (cli/main.ts): every command
 * must still be listed by the overall help, reachable by its name (export and sql share a
 * module), and an unknown name must still get commander's suggestion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT, runCli } from '../helpers.js';

/** Every `.command('NAME')` in the command modules: the list the CLI must offer. */
const NAMES = readdirSync(path.join(REPO_ROOT, 'src', 'cli', 'commands'))
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => [...readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'commands', f), 'utf8').matchAll(/\.command\('([a-z]+)'\)/g)].map((m) => m[1]!))
  .sort();

describe('command line: commands loaded by name', () => {
  it('the overall help lists every command', () => {
    assert.ok(NAMES.length >= 11, NAMES.join(' '));
    const r = runCli(['--help']);
    assert.equal(r.status, 0);
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((n) => n !== 'help').sort();
    assert.deepEqual(listed, NAMES);
  });

  it('each command answers --help with its own usage, export and sql included', () => {
    for (const name of NAMES) {
      const r = runCli([name, '--help']);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: traceforge ${name} `), name);
    }
  });

  it('help CMD and an unknown command still work', () => {
    const help = runCli(['help', 'merge']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: traceforge merge /);
    const typo = runCli(['stat']);
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /unknown command 'stat'[\s\S]*Did you mean stats\?/);
  });
});
