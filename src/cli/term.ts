// SPDX-License-Identifier: GPL-2.0-only
/**
 * Terminal conventions shared by every `iommufd-sim` command: when to colour
 * (NO_COLOR, FORCE_COLOR, TTY), a quiet end on a closed pipe (`| head`), the
 * number of cores, the output width, and option-value parsers that turn bad
 * values into usage errors (exit 2) instead of stack traces.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';

/** Colour on `stream`: never with NO_COLOR (any value but ''), always with FORCE_COLOR (not 0), else a TTY that is not dumb. */
export function colorEnabled(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR === '' || env.FORCE_COLOR !== '0';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

let colorsApplied = false;
/**
 * Apply the colour rule to every table: cli-table3 colours headers and borders
 * through @colors/colors, which knows FORCE_COLOR and TTYs but not NO_COLOR.
 */
export function applyColorPolicy(): void {
  if (colorsApplied) return;
  colorsApplied = true;
  try {
    const req = createRequire(createRequire(import.meta.url).resolve('cli-table3'));
    const colors = req('@colors/colors/safe') as { enable(): void; disable(): void };
    if (colorEnabled(process.stdout)) colors.enable();
    else colors.disable();
  } catch {
    // cli-table3 without @colors/colors draws no colour at all.
  }
}

/** `text` in ANSI colour `code` (31 red, 32 green, 33 yellow, 2 dim) when colour is on for stdout. */
export function paint(code: number, text: string, on = colorEnabled(process.stdout)): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

let pipeGuarded = false;
/**
 * Writing into a closed pipe (`iommufd-sim ops | head`) ends the command
 * quietly with status 0: the reader had all it wanted. (Node ignores
 * SIGPIPE, so without this the write error would end it with a stack trace.)
 */
export function endQuietlyOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}

/** The cores this process may use (the default and the cap of --workers). */
export function cores(): number {
  return Math.max(1, availableParallelism());
}

/** Width output should fit: the terminal's, else 100 columns. */
export function outputWidth(): number {
  const c = process.stdout.isTTY ? process.stdout.columns : undefined;
  return c && c >= 40 ? c : 100;
}

/** Parse a whole number for an option: decimal or 0x hex, within [min, max]; a usage error otherwise. */
export function parseWhole(text: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(t)) throw new InvalidArgumentError(`expected a whole number${min > 0 ? ` >= ${min}` : ''}, got "${text}".`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${text}".`);
  return n;
}

/** A commander argParser for whole numbers in [min, max]. */
export function wholeArg(min: number, max?: number): (value: string) => number {
  return (value: string) => parseWhole(value, min, max);
}

/** A commander argParser for a duration in seconds (> 0, fractions allowed). */
export function secondsArg(value: string): number {
  const t = value.trim();
  const n = /^\d+(\.\d+)?$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 365 * 24 * 3600) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}".`);
  return n;
}
