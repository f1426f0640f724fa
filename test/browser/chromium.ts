/**
 * The browser the tests drive: the Chromium that ships inside the `@sparticuz/chromium` npm
 * package (a devDependency: `npm ci` installs it like any other package, nothing is downloaded
 * at install or run time, no system browser is looked for). playwright-core drives it; its
 * version is pinned to the one whose own Chromium has the same major version.
 *
 * On first use the package unpacks its brotli-compressed binary (and its fonts and SwiftShader)
 * into `$TMPDIR`; here that happens in a private directory that is renamed into place when
 * complete (`<tmp>/traceforge-chromium-<version>`), so a stale or half-unpacked `/tmp/chromium`
 * of another version or of a concurrent first run is never used.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { chromium, type Browser } from 'playwright-core';

/** Flags that keep the browser off the network (it never needs it: the report is one file). */
export const NO_NETWORK_ARGS = [
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-default-apps', '--disable-domain-reliability', '--disable-client-side-phishing-detection',
  '--disable-quic', '--no-pings', '--metrics-recording-only', '--disable-breakpad',
];

/** The package's version (its major is the Chromium major). */
export function packagedChromiumVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = path.join(path.dirname(require.resolve('@sparticuz/chromium')), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Path of the unpacked binary, unpacking it once per package version. */
export async function packagedChromiumPath(): Promise<string> {
  const final = path.join(os.tmpdir(), `traceforge-chromium-${packagedChromiumVersion()}`);
  const exe = path.join(final, 'chromium');
  if (existsSync(exe)) return exe;
  const work = mkdtempSync(`${final}.part-`);
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = work; // the package unpacks into os.tmpdir()
  try {
    const got = await sparticuz.executablePath();
    if (path.dirname(got) !== work) throw new Error(`@sparticuz/chromium unpacked to ${got}, not into ${work}`);
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
  try {
    renameSync(work, final);
  } catch {
    rmSync(work, { recursive: true, force: true }); // a concurrent run got there first
  }
  if (!existsSync(exe)) throw new Error(`no chromium at ${exe} after unpacking @sparticuz/chromium`);
  return exe;
}

/**
 * sparticuz's recommended flags (headless shell, no sandbox, SwiftShader for canvas/WebGL), minus
 * `--single-process`, which it needs on AWS Lambda only and which makes the whole browser exit
 * when one context closes (the tests open a context per locale in one browser).
 */
export function browserArgs(): string[] {
  return [...sparticuz.args.filter((a) => a !== '--single-process'), ...NO_NETWORK_ARGS];
}

/**
 * One headless browser for a test file. It runs under the C locale with `--lang=en-US@posix`,
 * which is what a Chromium started with `LANG=C` reports as `navigator.language`; contexts can
 * set another locale (`browser.newContext({ locale: 'de-DE' })`).
 */
export async function launchPackagedChromium(): Promise<Browser> {
  const executablePath = await packagedChromiumPath();
  return chromium.launch({
    executablePath, headless: true, args: [...browserArgs(), `--lang=${POSIX_LANGUAGE}`],
    env: { ...process.env, LANG: 'C', LC_ALL: 'C' },
  });
}

/** `navigator.language` of a Chromium started under LANG=C: not a valid BCP 47 tag. */
export const POSIX_LANGUAGE = 'en-US@posix';
