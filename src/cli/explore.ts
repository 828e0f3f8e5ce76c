// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim explore FILE`: run a scenario program taking an inspect/
 * snapshot after every call and write one self-contained HTML page (the
 * explorer, built from web/ into web/dist/explorer.html) with the snapshots
 * embedded as JSON. `--open` serves the page on localhost and opens it.
 *
 * The embedded data is packed: the big per-run arrays (domain runs, tier and
 * PFN runs, frames) are flat number arrays in a shared table, each stored
 * once however many steps it stays the same.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { PROFILE_NAMES, type ProfileName } from '../base/profile.js';
import { type RunResult, runProgram } from '../fuzz/executor.js';
import { type Program, parseProgram } from '../fuzz/program.js';
import { diffSnapshots } from '../inspect/diff.js';
import { Inspector } from '../inspect/snapshot.js';
import type { ExplorerData, ExplorerStep, PackedSnapshot } from '../inspect/page-data.js';
import type { MachineSnapshot } from '../inspect/types.js';

export type { ExplorerData, ExplorerStep, PackedSnapshot };
import { callText, resultText } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The page template (vite build of web/, committed; test/web checks it matches a fresh build). */
export const TEMPLATE = join(ROOT, 'web', 'dist', 'explorer.html');
/** Where the template takes the data. */
export const DATA_MARK = '"__EXPLORER_DATA__"';

class Tables {
  readonly list: number[][] = [];
  private readonly seen = new Map<string, number>();
  put(a: number[]): number {
    const k = a.join(',');
    let i = this.seen.get(k);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(a);
      this.seen.set(k, i);
    }
    return i;
  }
}

/** Pack one snapshot: runs as flat arrays (see web/src/data.ts for the layout). */
function pack(s: MachineSnapshot, t: Tables): PackedSnapshot {
  return {
    ...s,
    frames: t.put(s.frames.flatMap((f) => [f.pfn, f.n, f.ref, f.pin])),
    pages: s.pages.map((p) => ({
      ...p,
      tiers: t.put(p.tiers.flatMap((x) => [x.first, x.last, (x.xarray ? 1 : 0) | (x.domain ? 2 : 0), x.accessUsers])),
      pfns: t.put(p.pfns.flatMap((x) => [x.index, x.pfn, x.n])),
    })),
    domains: s.domains.map((d) => ({ ...d, runs: t.put(d.runs.flatMap((r) => [r.iova, r.length, r.paddr, r.pgsize, r.dirty ? 1 : 0])) })),
  };
}

export interface ExplorerRun {
  data: ExplorerData;
  run: RunResult;
  /** The snapshots unpacked (for tests and tools). */
  snapshots: MachineSnapshot[];
}

/** Run `p` with a snapshot after every call; the page's data. */
export function explorerData(p: Program, opts: { profile?: ProfileName; title?: string } = {}): ExplorerRun {
  const snaps: MachineSnapshot[] = [];
  const snapOf = new Map<number, number>();
  const warns = new Map<number, string[]>();
  let insp: Inspector | undefined;
  let seenWarnings = 0;
  const rr = runProgram(p, {
    profile: opts.profile,
    panicOnWarn: false,
    onCall: (r, m) => {
      insp ??= new Inspector(m);
      const w = m.warnings.slice(seenWarnings).map((x) => `${x.assertion}: ${x.message}`);
      seenWarnings = m.warnings.length;
      if (w.length) warns.set(r.index, w);
      snapOf.set(r.index, snaps.length);
      snaps.push(insp.snapshot());
    },
  });
  const t = new Tables();
  const steps: ExplorerStep[] = rr.results.map((r) => {
    const c = p.calls[r.index];
    const s: ExplorerStep = {
      index: r.index,
      op: r.op,
      text: c ? callText(c) : r.op,
      result: resultText(r),
      met: r.met,
      warnings: warns.get(r.index) ?? [],
      snapshot: snapOf.get(r.index) ?? Math.max(0, snaps.length - 1),
    };
    if (r.errno) s.errno = r.errno;
    if (r.expected !== undefined) s.expected = r.expected;
    if (typeof c?.comment === 'string') s.comment = c.comment;
    return s;
  });
  const diffs = snaps.map((s, i) => (i === 0 ? diffSnapshots(emptyLike(s), s) : diffSnapshots(snaps[i - 1], s)));
  const data: ExplorerData = {
    version: 1,
    title: opts.title ?? (typeof p.name === 'string' ? p.name : 'program'),
    profile: rr.profile ?? 'latest',
    failed: rr.failed,
    reasons: rr.reasons ?? [],
    steps,
    snapshots: snaps.map((s) => pack(s, t)),
    diffs,
    tables: t.list,
  };
  if (typeof p.description === 'string') data.description = p.description;
  return { data, run: rr, snapshots: snaps };
}

function emptyLike(s: MachineSnapshot): MachineSnapshot {
  return { ...s, processes: [], contexts: [], objects: [], ioas: [], pages: [], domains: [], devices: [], accesses: [], frames: [], accounting: { users: [], mms: [], memcgs: [] }, framesInUse: 0, warnings: 0 };
}

/** The page for `data`: the template with the JSON in place of its mark (`<` escaped so no `</script>` can end it early). */
export function explorerHtml(data: ExplorerData, template = readFileSync(TEMPLATE, 'utf8')): string {
  const at = template.indexOf(DATA_MARK);
  if (at < 0) throw new Error(`${TEMPLATE}: no data mark ${DATA_MARK}`);
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return template.slice(0, at) + json + template.slice(at + DATA_MARK.length);
}

/**
 * Run `program` and write its explorer page to `out` (what `run --html FILE`
 * and the fuzzer's findings use). Returns the run, for the caller's own report.
 */
export function writeExplorerPage(out: string, program: Program, opts: { profile?: ProfileName; title?: string } = {}): ExplorerRun {
  const r = explorerData(program, opts);
  writeFileSync(out, explorerHtml(r.data));
  return r;
}

/** Serve `file` on 127.0.0.1 and open it in the desktop's browser; resolves when the server closes. */
function serveAndOpen(file: string): Promise<void> {
  const body = readFileSync(file);
  return new Promise((done) => {
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    });
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
      process.stdout.write(`serving ${file} at ${url} (Ctrl-C to stop)\n`);
      const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
      const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
      child.on('error', () => process.stdout.write(`could not run ${opener}; open ${url} yourself\n`));
      child.unref();
    });
    srv.on('close', done);
    process.once('SIGINT', () => srv.close());
  });
}

export function register(program: Command): void {
  program
    .command('explore')
    .description('Run a scenario program (or a fuzz reproducer) and write one self-contained HTML page to watch its state change call by call.')
    .argument('<file>', 'program (JSON or YAML)')
    .option('-o, --output <out>', 'the HTML file to write (default: FILE with .html)')
    .option('--open', 'serve the page on localhost and open it in a browser')
    .addOption(new Option('--profile <name>', 'kernel profile (default: the program’s)').choices([...PROFILE_NAMES]))
    .action(async (file: string, o: { output?: string; open?: boolean; profile?: ProfileName }, cmd: Command) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        cmd.error(`explore: cannot read ${file}: ${(e as Error).message}`, { exitCode: 2 });
        return;
      }
      const parsed = parseProgram(text, file);
      if (!parsed.ok) {
        cmd.error(`explore: ${parsed.error}`, { exitCode: 2 });
        return;
      }
      const out = o.output ?? `${file.replace(/\.(ya?ml|json)$/i, '')}.html`;
      const r = writeExplorerPage(out, parsed.program, { profile: o.profile });
      const bytes = readFileSync(out).length;
      process.stdout.write(`${out}: ${r.data.steps.length} calls, ${r.snapshots.length} snapshots, ${(bytes / 1024).toFixed(0)} KiB${r.run.failed ? ' (the program failed: see the marked calls)' : ''}\n`);
      if (o.open) await serveAndOpen(out);
      process.exitCode = r.run.failed ? 1 : 0;
    });
}
