// SPDX-License-Identifier: GPL-2.0-only
/**
 * Wrong-answer bugs for the mutation campaign: each a one-line change to a
 * model file, applied to a temporary copy of src/ (never to the tree), then
 * fuzzed on `latest` from an empty corpus by a child process running the
 * copy. Each is a bug of the kind the answer oracles are for: the invariants
 * hold, an answer is wrong. The generator knows none of them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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
  {
    name: 'skip-carry-keeps-first-pfn',
    file: 'iommufd/pfn-batch.ts',
    from: 'this.pfns[0] += skip;',
    to: '',
    what: 'batch_skip_carry() drops the count of the skipped PFNs but not the PFNs themselves',
  },
  {
    name: 'batch-counts-unadded',
    file: 'iommufd/pfn-batch.ts',
    from: 'this.totalPfns += k;',
    to: 'this.totalPfns += n;',
    what: 'batch_from_pages() counts the PFNs it was offered, not those that fitted in the batch',
  },
  {
    name: 'domain-read-rereads-chunk',
    file: 'iommufd/pfn-reader.ts',
    from: '    firstIova = pageBase;\n',
    to: '',
    what: 'batch_from_domain() reads every later chunk from the IOVA of the first one',
  },
  {
    name: 'release-pins-keeps-npinned',
    file: 'iommufd/pfn-reader.ts',
    from: '      pagesSubNpinned(this.env, pages, n);\n',
    to: '',
    what: "pfn_reader_release_pins() unpins the read-ahead pages without taking them off npinned",
  },
  {
    name: 'reserved-last-byte',
    file: 'iommufd/io-pagetable.ts',
    from: 'if (this.reservedItree.iterFirst(iova, last)) return -EINVAL;',
    to: 'if (this.reservedItree.iterFirst(iova, last - 1n)) return -EINVAL;',
    what: 'iopt_check_iova() lets a fixed range end on the first byte of a reserved range',
  },
  {
    name: 'unmap-removes-straddling',
    file: 'iommufd/io-pagetable.ts',
    from: 'if (areaFirst < start || areaLast > last) {',
    to: 'if (areaFirst < start && areaLast > last) {',
    what: 'iopt_unmap_iova_range() removes an area that sticks out of the range on one side',
  },
  {
    name: 'detach-keeps-aperture',
    file: 'iommufd/io-pagetable.ts',
    from: 'this.unfillDomain(domain);\n    this.removeReservedIova(domain);',
    to: 'this.unfillDomain(domain);',
    what: "iopt_table_remove_domain() leaves the detached domain's aperture reserved",
  },
  {
    name: 'rw-slow-keeps-offset',
    file: 'iommufd/pages.ts',
    from: '      offset = 0;\n      copied += n;',
    to: '      copied += n;',
    what: "batch_rw() copies every page at the first page's offset",
  },
  {
    name: 'xarray-unwind-short',
    file: 'iommufd/pages.ts',
    from: 'if (k !== 0) clearXarray(pages, start, start + k - 1);',
    to: 'if (k > 1) clearXarray(pages, start, start + k - 2);',
    what: 'pages_to_xarray() leaves the last stored entry behind when a store fails',
  },
  {
    name: 'rw-from-area-start',
    file: 'iommufd/access.ts',
    from: 'rc = pagesRwAccess(this.env, area.pages!, areaStartByte(area, it.curIova)',
    to: 'rc = pagesRwAccess(this.env, area.pages!, areaStartByte(area, area.iova)',
    what: 'iommufd_access_rw() copies from the start of the area instead of the IOVA asked',
  },
  {
    name: 'rw-data-not-advanced',
    file: 'iommufd/access.ts',
    from: '      off += bytes;\n',
    to: '',
    what: "iommufd_access_rw() copies every area's part into the start of the buffer",
  },
  {
    name: 'access-write-checks-read',
    file: 'iommufd/access.ts',
    from: 'if (flags & IOMMUFD_ACCESS_RW_WRITE) return (area.iommuProt & IOMMU_WRITE) !== 0;',
    to: 'if (flags & IOMMUFD_ACCESS_RW_WRITE) return (area.iommuProt & IOMMU_READ) !== 0;',
    what: 'check_area_prot() lets an access write to an area mapped read-only',
  },
  {
    name: 'map-writeable-from-readable',
    file: 'iommufd/ioas.ts',
    from: 'if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;',
    to: 'if (flags & IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_WRITE;',
    what: 'conv_iommu_prot() makes the mapping writeable when READABLE is asked',
  },
  {
    name: 'huge-pages-get-inverted',
    file: 'iommufd/ioas.ts',
    from: 'ucmd.cmd.val64 = iopt.disableLargePages ? 0n : 1n;',
    to: 'ucmd.cmd.val64 = iopt.disableLargePages ? 1n : 0n;',
    what: 'IOMMU_OPTION_HUGE_PAGES GET reports the opposite of the IOAS setting',
  },
  {
    name: 'rlimit-mode-get-inverted',
    file: 'iommufd/ioas.ts',
    from: 'ucmd.cmd.val64 = ctx.accountMode === IOPT_PAGES_ACCOUNT_MM ? 1n : 0n;',
    to: 'ucmd.cmd.val64 = ctx.accountMode === IOPT_PAGES_ACCOUNT_USER ? 1n : 0n;',
    what: 'IOMMU_OPTION_RLIMIT_MODE GET reports per-mm accounting as per-user and the reverse',
  },
  {
    name: 'mm-memlock-off-by-one',
    file: 'mm/accounting.ts',
    from: 'if (!bypassRlim && locked + pages > memlockLimitPages(task)) return -ENOMEM;',
    to: 'if (!bypassRlim && locked + pages >= memlockLimitPages(task)) return -ENOMEM;',
    what: '__account_locked_vm() refuses a charge that reaches RLIMIT_MEMLOCK exactly (per-mm mode)',
  },
  {
    // In the generic IO page table (AMDv1 format) the mock runs on `latest` (profile mockPageTable); the same
    // line of the 6.12 xarray mock (mock-domain.ts readPfns) is never reached there.
    name: 'mock-read-cpu-page-stride',
    file: 'iommu/generic-pt/iommu-pt.ts',
    from: 'const va = k === 0 ? first : base + k * 4096;',
    to: 'const va = k === 0 ? first : base + k * 2048;',
    what: "the mock domain's iova_to_phys read-back (batch_from_domain()) steps one 2 KiB IOPTE per CPU page",
  },
  {
    name: 'hwpt-destroy-keeps-domain',
    file: 'iommufd/hw-pagetable.ts',
    from: 'if (this.domain) this.ioas.iopt.removeDomain(this.domain);',
    to: '',
    what: "iommufd_hwpt_paging_destroy() frees the domain without taking it out of the IOAS",
  },
  {
    name: 'copy-piece-short',
    file: 'iommufd/io-pagetable.ts',
    from: 'length: areaLast - it.curIova + 1n, alloc',
    to: 'length: areaLast - it.curIova, alloc',
    what: 'iopt_get_pages() takes one byte less of each source area of an IOAS_COPY',
  },
  {
    name: 'pin-undo-skipped',
    file: 'iommufd/access.ts',
    from: '    if (iova < it.curIova) {',
    to: '    if (iova > it.curIova) {',
    what: 'iommufd_access_pin_pages() keeps the pins of the areas before the one that failed',
  },
  // Two domains on one IOAS (an IOMMU_HWPT_ALLOC paging HWPT beside a device's auto domain).
  {
    name: 'unfill-keeps-storage',
    file: 'iommufd/io-pagetable.ts',
    from: 'if (area.storageDomain === domain) area.storageDomain = storage;',
    to: '',
    what: 'iopt_unfill_domain() leaves an area reading its PFNs from the domain being removed',
  },
  {
    name: 'fill-domains-unwind-failed',
    file: 'iommufd/pages.ts',
    from: 'const end = i < failedAt ? doneFirstEnd : doneAllEnd;',
    to: 'const end = i <= failedAt ? doneFirstEnd : doneAllEnd;',
    what: 'iopt_area_fill_domains() unwinds the domain that failed as if it had taken the whole batch',
  },
  // The HWPT and nesting code.
  {
    name: 'hwpt-abort-keeps-attach',
    file: 'iommufd/hw-pagetable.ts',
    from: '      hwptDetachDevice(idev, pasid);\n',
    to: '',
    what: "iommufd_hwpt_paging_alloc() leaves the device attached when the new domain cannot join the IOAS (an attach refused with EADDRINUSE keeps the device on the aborted HWPT)",
  },
  {
    name: 'hwpt-not-on-ioas-list',
    file: 'iommufd/hw-pagetable.ts',
    from: '  hwpt.onIoasList = true;\n',
    to: '',
    what: "iommufd_hwpt_paging_alloc() never marks the HWPT as on the IOAS's list, so destroying it frees a domain the IOAS still maps into",
  },
  {
    name: 'nested-no-parent-user',
    file: 'iommufd/hw-pagetable.ts',
    from: '  ctx.objects.incUsers(parent);\n',
    to: '',
    what: 'iommufd_hwpt_nested_alloc() takes no user on the NEST_PARENT HWPT, so IOMMU_DESTROY of the parent succeeds (not EBUSY) under a nested HWPT',
  },
];

/** Mutants not run: none now (the two-domain ones came in with IOMMU_HWPT_ALLOC in the generator). */
export const WAITING_FOR_HWPT_ALLOC: readonly Mutant[] = [];

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

/**
 * Model bugs found by campaigns with every op and not fixed yet (syzkaller's
 * ignores): programs failing so are neither findings nor corpus entries, in
 * the control and under every mutant alike. Each names its bug; drop it when
 * the bug is fixed.
 */
export const KNOWN_MODEL_BUGS: readonly string[] = [
  // (none now: the HW_QUEUE_ALLOC RangeError of a huge length is fixed, c6be46a)
];

/**
 * Kernel findings the model reproduces on `latest` as the kernel behaves (test/fuzz/kernel-findings/), which a
 * campaign reports unless told to ignore them (`fuzz --ignore`): not the mutant's finding, nor the control's.
 * A 60 s control met the first after 7.2.13's reference cycle was modelled, and mm-memlock-off-by-one was
 * "found" through it.
 */
export const KNOWN_KERNEL_FINDINGS: readonly string[] = [
  // v7.2-map-file-own-context-cycle.yaml: IOAS_MAP_FILE of the context's own descriptor keeps it open after exit
  'LEAK an iommufd context is still open',
];

/** The campaign the child runs on the copy: one worker, `latest` with every op (newOps), empty corpus, stop at the first finding. */
const RUNNER = `
import { runCampaign } from './src/fuzz/campaign.ts';
const [seconds, maxPrograms, seed] = process.argv.slice(2).map(Number);
const ignore = JSON.parse(process.env.IOMMUFD_SIM_MUTANT_IGNORE ?? '[]');
const r = await runCampaign({ seconds, seed, workers: 1, profile: 'latest', newOps: true, ignore, maxPrograms, minimize: false, stopWhen: (s) => s.findings.length > 0 });
const f = r.findings[0];
process.stdout.write(JSON.stringify({ found: f !== undefined, signature: f?.signature, ms: f?.foundAtMs, programs: r.programs, elapsedMs: r.elapsedMs, reasons: f?.reasons, program: f?.original }) + '\\n');
`;

/**
 * The fuzzer's own files, taken from the working tree when the model comes
 * from a commit (IOMMUFD_SIM_MUTANT_BASE): the oracles under test with a model
 * other engineers are not editing at that moment.
 */
const FUZZER_PATHS = ['fuzz/reference', 'fuzz/campaign.ts', 'fuzz/signal.ts', 'fuzz/worker.ts', 'fuzz/corpus.ts', 'base/warn.ts', 'base/fault.ts'];

/**
 * Copy src/ to `dir`: the working tree, or with IOMMUFD_SIM_MUTANT_BASE=<rev>
 * that commit's src/ with the fuzzer's files of the working tree over it.
 */
function copySource(dir: string): void {
  const base = process.env.IOMMUFD_SIM_MUTANT_BASE;
  if (!base) {
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    return;
  }
  const tar = execFileSync('git', ['archive', base, 'src'], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  for (const p of FUZZER_PATHS) cpSync(join(ROOT, 'src', p), join(dir, 'src', p), { recursive: true });
}

/** The mutant called `name` (throws for a name no mutant has). */
export function mutantNamed(name: string): Mutant {
  const m = MUTANTS.find((x) => x.name === name);
  if (!m) throw new Error(`no mutant ${name}`);
  return m;
}

/** `text` with the mutant applied; throws "anchor not found" when its line is not there exactly once. */
export function applyMutant(m: Mutant, text: string): string {
  const at = text.indexOf(m.from);
  if (at < 0) throw new Error(`mutant ${m.name}: anchor not found in src/${m.file}: ${JSON.stringify(m.from)} (the model changed: move the mutant)`);
  if (text.indexOf(m.from, at + 1) >= 0) throw new Error(`mutant ${m.name}: anchor found more than once in src/${m.file}: ${JSON.stringify(m.from)}`);
  return text.slice(0, at) + m.to + text.slice(at + m.from.length);
}

/** Fuzz a copy of src/ with `m` applied (undefined: the unpatched control). */
export function runMutant(m: Mutant | undefined, opts: { seconds: number; maxPrograms: number; seed: number }): MutantRun {
  const out = runOnMutant(m, RUNNER, [String(opts.seconds), String(opts.maxPrograms), String(opts.seed)], opts.seconds + 60) as Omit<MutantRun, 'name'>;
  return { name: m?.name ?? 'control', ...out };
}

/**
 * Run `script` (a TypeScript module importing the copy as `./src/...`, its
 * arguments in process.argv from index 2) on a copy of src/ with `m` applied;
 * the JSON object its last line of output prints.
 */
export function runOnMutant(m: Mutant | undefined, script: string, args: string[], timeoutSeconds: number): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-mutant-'));
  try {
    copySource(dir);
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    if (m) {
      const path = join(dir, 'src', m.file);
      writeFileSync(path, applyMutant(m, readFileSync(path, 'utf8')));
    }
    writeFileSync(join(dir, 'run.mts'), script);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'run.mts', ...args], {
      cwd: dir,
      env: { ...process.env, IOMMUFD_SIM_MUTANT_IGNORE: JSON.stringify([...KNOWN_MODEL_BUGS, ...KNOWN_KERNEL_FINDINGS]) },
      encoding: 'utf8',
      timeout: timeoutSeconds * 1000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`mutant ${m?.name ?? 'control'}: the run failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return JSON.parse(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line per run: name, time and programs to find (or missed), the finding's signature. */
export function mutantTable(runs: readonly MutantRun[]): string {
  return runs
    .map((r) => `${r.name.padEnd(28)} ${r.found ? `${((r.ms ?? 0) / 1000).toFixed(1).padStart(5)} s ${String(r.programs).padStart(6)} programs  ${r.signature}` : `missed (${r.programs} programs in ${(r.elapsedMs / 1000).toFixed(0)} s)`}`)
    .join('\n');
}
