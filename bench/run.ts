// SPDX-License-Identifier: GPL-2.0-only
/**
 * Benchmark runner
 * (`npm run bench [-- --out FILE] [--suite NAME] [--filter TEXT] [--quick]`).
 *
 * Every module in bench/suites/ exports `run(opts): Promise<BenchResult[]>`;
 * the runner calls them in name order, prints one table and writes the JSON
 * array of results to --out. It re-executes itself under
 * `node --expose-gc --import tsx` when global.gc is missing, so heap figures
 * are measured after a full collection. A progress bar (suites done, the
 * one running) goes to standard error when it is a terminal; a bad option
 * is a usage error (exit 2).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { progress } from '../src/cli/progress.js';
import { fitTables } from '../src/cli/run-view.js';
import { applyColorPolicy, outputWidth } from '../src/cli/term.js';

/** One measured figure set; `name` identifies it, the rest are numbers (or short strings). */
export interface BenchResult {
  name: string;
  /** Nanoseconds per 4 KiB page processed. */
  nsPerPage?: number;
  /** JS heap + ArrayBuffer bytes per page. */
  heapBytesPerPage?: number;
  [extra: string]: number | string | undefined;
}

export interface SuiteOptions {
  /** Smaller sizes (for CI smoke runs). */
  quick: boolean;
  /** Only benchmarks whose name ('suite: name') contains this text; suites may skip the others. */
  filter: string | undefined;
}

export type Suite = (opts: SuiteOptions) => Promise<BenchResult[]>;

const self = fileURLToPath(import.meta.url);

const USAGE = 'usage: iommufd-sim bench [-- --quick] [--suite NAME] [--filter TEXT] [--out FILE]';
const HELP = `Run the benchmarks of bench/suites/ and print one table.

  --quick          smaller sizes and shorter runs
  --suite NAME     only this suite (repeatable)
  --filter TEXT    only rows whose name ('suite: name') contains TEXT
  --out FILE       also write the results to FILE as JSON
  -h, --help       this text`;

async function main(): Promise<number> {
  applyColorPolicy();
  let values: { out?: string; filter?: string; suite?: string[]; quick?: boolean; help?: boolean };
  try {
    values = parseArgs({
      options: {
        out: { type: 'string' },
        filter: { type: 'string' },
        suite: { type: 'string', multiple: true },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n\n${HELP}\n`);
    return 0;
  }
  const dir = join(dirname(self), 'suites');
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const all: BenchResult[] = [];
  const chosen = files.filter((f) => !values.suite || values.suite.includes(f.replace(/\.(ts|js)$/, '')));
  if (values.suite) {
    const known = files.map((f) => f.replace(/\.(ts|js)$/, ''));
    const unknown = values.suite.filter((x) => !known.includes(x));
    if (unknown.length) {
      process.stderr.write(`bench: unknown suite ${unknown.join(', ')} (known: ${known.join(', ')})\n`);
      return 2;
    }
  }
  const bar = progress('bench |{bar}| {value}/{total} suites | {suite} | {secs}s', chosen.length, { suite: '', secs: 0 });
  const t0 = Date.now();
  let done = 0;
  let current = '';
  // Redraw each second between a suite's awaits (the time shown moves even when the count does not).
  const tick = setInterval(() => bar.update(done, { suite: current, secs: Math.round((Date.now() - t0) / 1000) }), 1000);
  for (const f of chosen) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { run?: Suite };
    if (typeof mod.run !== 'function') continue;
    const suite = f.replace(/\.(ts|js)$/, '');
    current = suite;
    bar.update(done, { suite, secs: Math.round((Date.now() - t0) / 1000) });
    const results = await mod.run({ quick: values.quick ?? false, filter: values.filter });
    done++;
    for (const r of results) {
      const name = `${suite}: ${r.name}`;
      if (!values.filter || name.includes(values.filter)) all.push({ ...r, name });
    }
  }
  clearInterval(tick);
  bar.stop();
  printTable(all);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(all, null, 2)}\n`);
  return 0;
}

function fmt(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function printTable(rows: BenchResult[]): void {
  const extra: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!['name', 'nsPerPage', 'heapBytesPerPage'].includes(k) && !extra.includes(k)) extra.push(k);
  const head = ['benchmark', 'ns/page', 'heap B/page', ...extra];
  const t = new Table({ head });
  for (const r of rows) t.push([r.name, fmt(r.nsPerPage), fmt(r.heapBytesPerPage), ...extra.map((k) => fmt(r[k]))]);
  console.log(fitTables(t.toString(), outputWidth()));
}

if (typeof globalThis.gc !== 'function' && process.env.IOMMUFD_SIM_BENCH_CHILD !== '1') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, IOMMUFD_SIM_BENCH_CHILD: '1' },
  });
  process.exit(r.status ?? 1);
} else {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
