// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim explore FILE`: run a scenario program taking an inspect/
 * snapshot after every call and write one self-contained HTML page (the
 * explorer, built from web/ into web/template/explorer.html) with the snapshots
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
export const TEMPLATE = join(ROOT, 'web', 'template', 'explorer.html');
/** Where the template takes the data. */
export const DATA_MARK = '"__EXPLORER_DATA__"';

/** The shared table: each distinct flat array once (found by a hash, confirmed element by element). */
class Tables {
  readonly list: number[][] = [];
  private readonly byHash = new Map<number, number[]>();
  put(a: number[]): number {
    let h = a.length;
    for (let i = 0; i < a.length; i++) h = (Math.imul(h, 31) + (a[i] | 0) + ((a[i] / 4294967296) | 0)) | 0;
    const same = this.byHash.get(h);
    if (same) for (const k of same) if (equal(this.list[k], a)) return k;
    this.list.push(a);
    if (same) same.push(this.list.length - 1);
    else this.byHash.set(h, [this.list.length - 1]);
    return this.list.length - 1;
  }
}

function equal(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Records as one flat array of `width` numbers each. */
function flat<T>(list: readonly T[], width: number, put: (out: number[], at: number, x: T) => void): number[] {
  const out = new Array<number>(list.length * width);
  for (let i = 0; i < list.length; i++) put(out, i * width, list[i]);
  return out;
}

/** Pack one snapshot: runs as flat arrays (layouts in inspect/page-data.ts). */
function pack(s: MachineSnapshot, t: Tables): PackedSnapshot {
  return {
    ...s,
    frames: t.put(
      flat(s.frames, 4, (o, i, f) => {
        o[i] = f.pfn;
        o[i + 1] = f.n;
        o[i + 2] = f.ref;
        o[i + 3] = f.pin;
      }),
    ),
    pages: s.pages.map((p) => ({
      ...p,
      tiers: t.put(
        flat(p.tiers, 4, (o, i, x) => {
          o[i] = x.first;
          o[i + 1] = x.last;
          o[i + 2] = (x.xarray ? 1 : 0) | (x.domain ? 2 : 0);
          o[i + 3] = x.accessUsers;
        }),
      ),
      pfns: t.put(
        flat(p.pfns, 3, (o, i, x) => {
          o[i] = x.index;
          o[i + 1] = x.pfn;
          o[i + 2] = x.n;
        }),
      ),
    })),
    domains: s.domains.map((d) => ({
      ...d,
      runs: t.put(
        flat(d.runs, 5, (o, i, r) => {
          o[i] = r.iova;
          o[i + 1] = r.length;
          o[i + 2] = r.paddr;
          o[i + 3] = r.pgsize;
          o[i + 4] = r.dirty ? 1 : 0;
        }),
      ),
    })),
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
      try {
        const s = insp.snapshot();
        snapOf.set(r.index, snaps.length);
        snaps.push(s);
      } catch (e) {
        // A state the snapshot cannot read (a model bug the run found): the step shows the last good one.
        w.push(`inspect: snapshot failed: ${(e as Error).message}`);
      }
      if (w.length) warns.set(r.index, w);
    },
  });
  if (snaps.length === 0) snaps.push(new Inspector(rr.machine).snapshot());
  const t = new Tables();
  // A call with no snapshot of its own (it raised, or the snapshot failed) shows the one before it.
  let lastSnap = 0;
  const steps: ExplorerStep[] = rr.results.map((r) => {
    lastSnap = snapOf.get(r.index) ?? lastSnap;
    const c = p.calls[r.index];
    const s: ExplorerStep = {
      index: r.index,
      op: r.op,
      text: c ? callText(c) : r.op,
      result: resultText(r),
      met: r.met,
      warnings: warns.get(r.index) ?? [],
      snapshot: lastSnap,
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
  return { ...s, processes: [], contexts: [], objects: [], ioas: [], pages: [], domains: [], devices: [], accesses: [], frames: [], accounting: { users: [], mms: [], memcgs: [] }, framesInUse: 0, tablePages: 0, warnings: 0 };
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
    process.once('SIGINT', () => {
      srv.closeAllConnections();
      srv.close();
    });
  });
}

export function register(program: Command): void {
  program
    .command('explore')
    .description('Run a scenario program (or a fuzz reproducer) and write one self-contained HTML page to watch its state change call by call.')
    .argument('<file>', 'program (JSON or YAML)')
    .option('-o, --output <out>', 'the HTML file to write (default: FILE with .html)')
    .option('--open', 'serve the page on localhost and open it in a browser')
    .option('--json', 'write the calls, the snapshot after each and the diffs as JSON instead of the page (default OUT: FILE with .json)')
    .addOption(new Option('--profile <name>', 'kernel profile (default: the program’s)').choices([...PROFILE_NAMES]))
    .action(async (file: string, o: { output?: string; open?: boolean; json?: boolean; profile?: ProfileName }, cmd: Command) => {
      if (o.json && o.open) {
        cmd.error('explore: --open shows the page; it does not go with --json', { exitCode: 2 });
        return;
      }
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
      const out = o.output ?? `${file.replace(/\.(ya?ml|json)$/i, '')}.${o.json ? 'json' : 'html'}`;
      if (o.json) {
        const r = explorerData(parsed.program, { profile: o.profile });
        const { steps, diffs, title, profile, failed, reasons } = r.data;
        writeFileSync(out, `${JSON.stringify({ version: 1, title, profile, failed, reasons, steps, snapshots: r.snapshots, diffs })}\n`);
        process.stdout.write(`${out}: ${steps.length} calls, ${r.snapshots.length} snapshots\n`);
        process.exitCode = failed ? 1 : 0;
        return;
      }
      const r = writeExplorerPage(out, parsed.program, { profile: o.profile });
      const bytes = readFileSync(out).length;
      process.stdout.write(`${out}: ${r.data.steps.length} calls, ${r.snapshots.length} snapshots, ${(bytes / 1024).toFixed(0)} KiB${r.run.failed ? ' (the program failed: see the marked calls)' : ''}\n`);
      if (o.open) await serveAndOpen(out);
      process.exitCode = r.run.failed ? 1 : 0;
    });
}
