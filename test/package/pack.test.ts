/**
 * The package as users get it: `npm pack` of this repository, installed from the tarball into an
 * empty directory without the network (`npm install --offline`: its dependencies come from the
 * npm cache, where `npm ci` put them), and its `traceforge` command run on the bundled example.
 *
 * `npm ci` caches package tarballs, not the registry's version lists, so an offline install
 * cannot resolve a range such as `^3.12.0` by itself: the empty project gets a package-lock.json
 * that pins the tarball (by its sha512) and the production dependencies at the versions and
 * integrity hashes of this repository's own lock — what `npm ci` fetched.
 *
 * The tarball is packed from the `dist/` that `npm test` has just compiled, with
 * `--ignore-scripts`: `prepare` (which builds dist/ on a plain `npm pack`) would rewrite dist/
 * while the other test files run from it. That `prepare` builds is checked on package.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT, crossingsByTrack, loadTrace, loadTraceFile, readDecompressed, slicesOf, sum, withTempDir } from '../helpers.js';

interface Pkg { name: string; version: string; bin: Record<string, string>; files: string[]; scripts: Record<string, string>; dependencies: Record<string, string> }
const PKG = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Pkg;
const EXAMPLE = 'examples/tp2/1763900000-TP-0.trace.json.gz';

/** package.json and package-lock.json of a project that depends on the tarball `tgz` (in `app`). */
function writeInstallProject(app: string, tgz: string): void {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(path.join(app, tgz))).digest('base64')}`;
  const dep = { traceforge: `file:${tgz}` };
  const packages: Record<string, unknown> = {
    '': { name: 'traceforge-install-check', version: '1.0.0', dependencies: dep },
    'node_modules/traceforge': { version: PKG.version, resolved: `file:${tgz}`, integrity, license: 'MIT', dependencies: PKG.dependencies, bin: PKG.bin },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k !== '' && !v.dev && !v.devOptional) packages[k] = v;
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'traceforge-install-check', version: '1.0.0', private: true, dependencies: dep }, null, 2));
  writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify({ name: 'traceforge-install-check', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
}

function run(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  // npm_config_* of the `npm test` that runs us stay (same cache); offline is asked for explicitly
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('package.json: the bin is in the published files, and prepare builds dist/', () => {
  assert.equal(PKG.bin['traceforge'], 'dist/src/cli/main.js');
  assert.ok(PKG.files.includes('dist/src') && PKG.files.includes('examples'));
  assert.match(PKG.scripts['prepare'] ?? '', /^tsc -p tsconfig\.json$/);
  assert.ok(readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n'));
});

test('npm pack, npm install --offline of the tarball into an empty directory, then traceforge --version, stats and fix on the bundled example', async () => {
  await withTempDir('pack', async (dir) => {
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO_ROOT);
    assert.equal(pack.status, 0, pack.stderr);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const files = new Set(info!.files.map((f) => f.path));
    for (const f of ['package.json', 'README.md', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', EXAMPLE]) assert.ok(files.has(f), `${f} in the tarball`);
    for (const f of files) assert.match(f, /^(package\.json|README\.md|LICENSE|dist\/src\/|examples\/)/, `${f} should not be published`);

    const app = path.join(dir, 'app');
    mkdirSync(app);
    copyFileSync(path.join(dir, info!.filename), path.join(app, info!.filename));
    writeInstallProject(app, info!.filename);
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund'], app);
    assert.equal(install.status, 0, `npm install --offline failed:\n${install.stderr}`);
    const installed = path.join(app, 'node_modules', 'traceforge');
    assert.ok(existsSync(path.join(installed, 'dist', 'src', 'cli', 'main.js')));
    assert.ok(!existsSync(path.join(installed, 'src')), 'the sources are not shipped, dist/ is');
    for (const dep of Object.keys(PKG.dependencies)) assert.ok(existsSync(path.join(app, 'node_modules', dep, 'package.json')), `dependency ${dep} installed`);
    const bin = path.join(app, 'node_modules', '.bin', 'traceforge');

    const version = run(bin, ['--version'], app);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), PKG.version);

    // stats: every kernel, copy and set name of the example, as a plain walk of its JSON finds them
    const example = path.join(installed, EXAMPLE);
    const kernels = new Set(loadTraceFile(example).events.filter((e) => e.ph === 'X' && ['kernel', 'gpu_memcpy', 'gpu_memset'].includes(e.cat ?? '')).map((e) => e.name!));
    assert.ok(kernels.has('ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)'));
    const stats = run(bin, ['stats', example, '--by', 'kernel', '--format', 'json'], app);
    assert.equal(stats.status, 0, stats.stderr);
    const parsed = JSON.parse(stats.stdout) as { kernels: { name: string; calls: number }[] };
    assert.deepEqual(new Set(parsed.kernels.map((k) => k.name)), kernels);
    const table = run(bin, ['stats', example], app);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /ncclDevKernel_AllReduce_Sum_bf16_RING_LL/);

    // fix: a valid trace with every input event, nothing crossing on any track
    const out = path.join(dir, 'fixed.json.gz');
    const fix = run(bin, ['fix', example, '-o', out], app);
    assert.equal(fix.status, 0, fix.stderr);
    assert.match(fix.stderr, /slice\(s\) moved to \d+ new track/);
    const input = loadTraceFile(example);
    const output = loadTrace(readDecompressed(out));
    const json = JSON.parse(output.buf.toString('utf8')) as { traceEvents: unknown[] };
    assert.ok(json.traceEvents.length > input.events.length);
    assert.ok(sum(crossingsByTrack(slicesOf(input)).values()) > 0, 'the example has crossing slices');
    for (const [track, n] of crossingsByTrack(slicesOf(output))) assert.equal(n, 0, `track ${track}`);
  });
});
