import type { Command } from 'commander';
import type { CommandOutcome } from '../main.js';
export function register(_program: Command, _run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {}
