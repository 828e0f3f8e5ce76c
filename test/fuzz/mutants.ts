// SPDX-License-Identifier: GPL-2.0-only
/**
 * Wrong-answer bugs for the mutation campaign: each a one-line change to a
 * model file, applied to a temporary copy of src/ (never to the tree), then
 * fuzzed on `latest` from an empty corpus by a child process running the
 * copy. Each is a bug of the kind the answer oracles are for: the invariants
 * hold, an answer is wrong. The generator knows none of them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mutant {
  name: string;
  /** The file under src/ and the one line changed in it (`from` must occur exactly once). */
  file: string;
  from: string;
  to: string;
  /** What is wrong, in the kernel's terms. */
  what: string;
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'memlock-off-by-one',
    file: 'iommufd/pages.ts',
    from: 'if (cur + n > limit) return -ENOMEM;',
    to: 'if (cur + n >= limit) return -ENOMEM;',
    what: 'incr_user_locked_vm() refuses a charge that reaches RLIMIT_MEMLOCK exactly',
  },
  {
    name: 'fixed-iova-touching',
    file: 'iommufd/io-pagetable.ts',
    from: 'if (this.areaItree.iterFirst(iova, last)) return -EEXIST;',
    to: 'if (this.areaItree.iterFirst(iova, last + 1n)) return -EEXIST;',
    what: 'iopt_check_iova() treats a fixed range that ends just before an area as overlapping it',
  },
  {
    name: 'copy-from-area-start',
    file: 'iommufd/io-pagetable.ts',
    from: 'startByte: areaStartByte(area, it.curIova)',
    to: 'startByte: areaStartByte(area, area.iova)',
    what: 'iopt_get_pages() of an IOAS_COPY sub-range starts at the source area, not at the copied IOVA',
  },
  {
    name: 'unmap-length-short',
    file: 'iommufd/io-pagetable.ts',
    from: 'unmappedBytes += areaLast - areaFirst + 1n;',
    to: 'unmappedBytes += areaLast - areaFirst;',
    what: 'iopt_unmap_iova_range() reports one byte less per area unmapped',
  },
  {
    name: 'batch-drops-page-offset',
    file: 'iommufd/pfn-reader.ts',
    from: 'const paddr = batch.pfns[cur] * PAGE_SIZE + pageOffset;',
    to: 'const paddr = batch.pfns[cur] * PAGE_SIZE;',
    what: "batch_to_domain() maps the first run of an area from its page's start, ignoring the area's page offset",
  },
  {
    name: 'user-pin-relative-index',
    file: 'iommufd/pfn-reader.ts',
    from: 'const uptr = pages.uptr + BigInt(start) * BigInt(PAGE_SIZE);',
    to: 'const uptr = pages.uptr + BigInt(start - this.upagesStart) * BigInt(PAGE_SIZE);',
    what: 'pfn_reader_user_pin() pins from an address relative to the previous batch instead of the pages start',
  },
  {
    name: 'pinned-vm-to-current',
    file: 'iommufd/pages.ts',
    from: 'pages.sourceMm.pinnedVm += inc ? n : -n;',
    to: 'env.current().mm.pinnedVm += inc ? n : -n;',
    what: "do_update_pinned() moves pinned_vm of the calling process's mm instead of the pages' source mm",
  },
];

export interface MutantRun {
  name: string;
  found: boolean;
  signature?: string;
  /** Campaign time (ms) when the first finding's program ran. */
  ms?: number;
  programs: number;
  elapsedMs: number;
  /** The finding's reasons and the program that showed it. */
  reasons?: string[];
  program?: unknown;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** The campaign the child runs on the copy: one worker, `latest`, empty corpus, stop at the first finding. */
const RUNNER = `
import { runCampaign } from './src/fuzz/campaign.ts';
const [seconds, maxPrograms, seed] = process.argv.slice(2).map(Number);
const r = await runCampaign({ seconds, seed, workers: 1, profile: 'latest', maxPrograms, minimize: false, stopWhen: (s) => s.findings.length > 0 });
const f = r.findings[0];
process.stdout.write(JSON.stringify({ found: f !== undefined, signature: f?.signature, ms: f?.foundAtMs, programs: r.programs, elapsedMs: r.elapsedMs, reasons: f?.reasons, program: f?.original }) + '\\n');
`;

/** Fuzz a copy of src/ with `m` applied (undefined: the unpatched control). */
export function runMutant(m: Mutant | undefined, opts: { seconds: number; maxPrograms: number; seed: number }): MutantRun {
  const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-mutant-'));
  try {
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    if (m) {
      const path = join(dir, 'src', m.file);
      const text = readFileSync(path, 'utf8');
      const at = text.indexOf(m.from);
      if (at < 0 || text.indexOf(m.from, at + 1) >= 0) throw new Error(`mutant ${m.name}: the line to change is not in ${m.file} exactly once`);
      writeFileSync(path, text.slice(0, at) + m.to + text.slice(at + m.from.length));
    }
    writeFileSync(join(dir, 'run.mts'), RUNNER);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'run.mts', String(opts.seconds), String(opts.maxPrograms), String(opts.seed)], {
      cwd: dir,
      encoding: 'utf8',
      timeout: (opts.seconds + 60) * 1000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`mutant ${m?.name ?? 'control'}: the campaign failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return { name: m?.name ?? 'control', ...(JSON.parse(line) as Omit<MutantRun, 'name'>) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
