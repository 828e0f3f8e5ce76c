// SPDX-License-Identifier: GPL-2.0-only
/**
 * Progress on standard error for commands that run longer than a moment
 * (selftest, bench, minimize, fuzz): a cli-progress bar when standard error
 * is a terminal, nothing otherwise (logs and pipes stay clean). `say` prints
 * a line above the bar.
 */
import { createRequire } from 'node:module';

/** The part of cli-progress used here (the package ships no types). */
interface Bar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (opts: object, preset?: object) => Bar;
  Presets: Record<string, object>;
}
const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;

export interface Progress {
  /** Whether a bar is drawn. */
  readonly live: boolean;
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  /** Print a line (on standard error) without breaking the bar. */
  say(line: string): void;
  stop(): void;
}

/** A bar with `format` (cli-progress tokens: {bar} {value} {total} and payload keys), or a silent stand-in. */
export function progress(format: string, total: number, payload: object = {}, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) {
    return { live: false, update() {}, setTotal() {}, say: (l) => process.stderr.write(`${l}\n`), stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 20, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  let stopped = false;
  return {
    live: true,
    update: (v, p) => bar.update(v, p),
    setTotal: (t) => bar.setTotal(t),
    say: (l) => process.stderr.write(`\r\x1b[K${l}\n`),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
