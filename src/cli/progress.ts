/** A progress bar on stderr when it is a terminal (and not in CI); silent otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, label?: string): void;
  /** A line for the user now, while the work goes on (above the bar when there is one). */
  note(line: string): void;
  stop(): void;
}

const writeLine = (line: string): void => void process.stderr.write(line + '\n');
const silent: Progress = { update() {}, note: writeLine, stop() {} };

export function progressBar(total: number, label: string): Progress {
  if (!process.stderr.isTTY || process.env['CI'] || total <= 0) return silent;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: ' {label} |{bar}| {percentage}% | {value}/{total} MB | {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  const mb = (b: number): number => Math.round(b / 1e5) / 10;
  bar.start(mb(total), 0, { label });
  return {
    update(done, l) { bar.update(Math.min(mb(done), mb(total)), l ? { label: l } : undefined); },
    // clear the bar's line, print, and let the next update draw the bar again below
    note(line) { process.stderr.write('\r\x1b[2K'); writeLine(line); },
    stop() { bar.stop(); },
  };
}
