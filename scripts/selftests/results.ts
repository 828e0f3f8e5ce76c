// SPDX-License-Identifier: GPL-2.0-only
/**
 * Per-test results of the kernel's iommu selftest binaries under
 * `iommufd-sim exec`, beside the real kernel's, for docs/conformance.md.
 *
 *   npx tsx scripts/selftests/results.ts [--json FILE] [--md FILE] [--vm]
 *
 * Runs every binary scripts/selftests/build.sh has built (6.12 under the
 * v6.12 profile, 7.2 under latest), as root with every capability (as in the
 * oracle VMs). The real kernel's column comes from the oracle's logs
 * (selftest.log / failnth.log under ../shared/oracle/logs, ../shared/oracle-7.2/logs) or, with --vm, from running
 * the oracle VM; without either it says "n/a". A failing test gets the
 * harness's first assertion message as its reason and, for the known gaps,
 * the feature it waits for (WAITS_FOR below).
 *
 * The JSON (docs/selftests-exec.json) is what scripts/conformance-report.ts
 * merges into docs/conformance.md: it holds no times or machine paths, so
 * two runs on the same model give the same file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { countKtapLine, runExec } from '../../src/bridge/exec.js';
import { cacheDir } from '../../src/bridge/shim-build.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = join(ROOT, '..', 'shared');

type Verdict = 'ok' | 'fail' | 'skip';

interface BinaryResults {
  version: string;
  binary: string;
  profile: string;
  exec: Record<string, { result: Verdict; reason?: string; waitsFor?: string }>;
  kernel: Record<string, Verdict> | undefined;
  kernelSource: string;
  totals: { exec: Record<Verdict, number>; kernel: Record<Verdict, number> | undefined };
}

const TARGETS = [
  { version: '6.12', profile: 'v6.12', oracle: join(SHARED, 'oracle') },
  { version: '7.2', profile: 'latest', oracle: join(SHARED, 'oracle-7.2') },
];
const BINARIES = [
  { binary: 'iommufd', log: 'selftest.log', mode: 'selftest' },
  { binary: 'iommufd_fail_nth', log: 'failnth.log', mode: 'failnth' },
];

/**
 * What a failing test under exec waits for, by test name: features the
 * model's profile does not have yet, or model bugs found by the test. A
 * failure matching none is listed without one (a regression to look at).
 */
const WAITS_FOR: readonly [RegExp, string][] = [
  [/^change_process\./, 'IOMMU_IOAS_MAP_FILE of a memfd (EBADF: the machine layer finds no memfd behind the fd) and IOMMU_IOAS_CHANGE_PROCESS'],
  [/map_file|_file\.|_file_hugepage\./, 'IOMMU_IOAS_MAP_FILE of a memfd (EBADF: the machine layer finds no memfd behind the fd)'],
  [/dmabuf/, 'dma-buf (IOMMU_TEST_OP_DMABUF_GET / DMABUF_REVOKE, MAP_FILE of a dma-buf)'],
  [/pasid/, 'the PASID test ops (PASID_ATTACH / REPLACE / DETACH / CHECK_HWPT)'],
  [/viommu_alloc_with_data/, "the mock vIOMMU's mmap page (mock_viommu_init's in_data loopback)"],
  [/hw_queue/, 'IOMMU_HW_QUEUE_ALLOC'],
  [/vdevice_alloc|veventq/, 'vEVENTQ: read(2) with a count below the header must reach the queue (vfs_read has no zero-count shortcut)'],
];

function waitsFor(name: string): string | undefined {
  return WAITS_FOR.find(([re]) => re.test(name))?.[1];
}

function parseKtap(text: string): Map<string, Verdict> {
  const c = { pass: 0, fail: 0, skip: 0, xfail: 0 };
  const m = new Map<string, Verdict>();
  for (const line of text.split(/\r?\n/)) countKtapLine(line, c, m);
  return m;
}

/** The first assertion message the harness printed for each failing test. */
function reasons(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let pending: string | undefined;
  for (const line of text.split('\n')) {
    const run = /^#\s+RUN\s+(\S+) \.\.\./.exec(line);
    if (run) pending = undefined;
    const exp = /^# [^:]+:\d+:[^:]+:(.*)$/.exec(line);
    if (exp && pending === undefined) pending = exp[1].trim();
    const res = /^not ok \d+ (\S+)/.exec(line);
    if (res && pending !== undefined) out.set(res[1], pending);
  }
  return out;
}

function tally(m: Record<string, Verdict> | Map<string, Verdict>): Record<Verdict, number> {
  const t: Record<Verdict, number> = { ok: 0, fail: 0, skip: 0 };
  for (const v of m instanceof Map ? m.values() : Object.values(m)) t[v]++;
  return t;
}

function kernelResults(oracle: string, log: string, mode: string, vm: boolean): { res: Map<string, Verdict> | undefined; source: string } {
  const file = join(oracle, 'logs', log);
  const name = `../shared/${basename(oracle)}`;
  if (existsSync(file)) return { res: parseKtap(readFileSync(file, 'utf8')), source: `${name}/logs/${log}` };
  if (vm && existsSync(join(oracle, 'run-vm.sh'))) {
    const r = spawnSync(join(oracle, 'run-vm.sh'), [mode], { cwd: oracle, encoding: 'utf8', maxBuffer: 64 << 20 });
    const res = parseKtap(r.stdout ?? '');
    return res.size > 0 ? { res, source: `${name}/run-vm.sh ${mode}` } : { res: undefined, source: `n/a (${name}/run-vm.sh ${mode} gave no results)` };
  }
  return { res: undefined, source: 'n/a' };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, md: { type: 'string' }, vm: { type: 'boolean', default: false } } });
  const all: BinaryResults[] = [];
  for (const t of TARGETS) {
    for (const b of BINARIES) {
      const bin = join(cacheDir(), 'selftests', t.version, b.binary);
      if (!existsSync(bin)) continue;
      process.stderr.write(`running ${t.version}/${b.binary} under exec --profile ${t.profile} ...\n`);
      const r = await runExec([bin], { profile: t.profile, caps: 'all', captureStdout: true, mergeStderr: true, err: () => {} });
      const why = reasons(r.stdout);
      const exec: BinaryResults['exec'] = {};
      for (const [name, v] of r.results) {
        const w = v === 'fail' ? waitsFor(name) : undefined;
        exec[name] = { result: v, ...(why.has(name) ? { reason: why.get(name) } : {}), ...(w ? { waitsFor: w } : {}) };
      }
      const k = kernelResults(t.oracle, b.log, b.mode, values.vm ?? false);
      const kernel = k.res === undefined ? undefined : Object.fromEntries(k.res);
      all.push({
        version: t.version,
        binary: b.binary,
        profile: t.profile,
        exec,
        kernel,
        kernelSource: k.source,
        totals: { exec: tally(r.results), kernel: kernel && tally(kernel) },
      });
    }
  }
  if (all.length === 0) {
    process.stderr.write('no selftest binaries: run scripts/selftests/build.sh first\n');
    return 1;
  }
  const json = `${JSON.stringify(all, null, 2)}\n`;
  if (values.json) writeFileSync(values.json, json);
  const md: string[] = ['| selftest | under `iommufd-sim exec` | real kernel |', '|---|---|---|'];
  for (const b of all) {
    const names = new Set([...Object.keys(b.exec), ...Object.keys(b.kernel ?? {})]);
    for (const n of names) {
      const e = b.exec[n];
      const cell = e === undefined ? 'not run' : e.result === 'fail' ? `fail: ${[e.waitsFor, e.reason].filter((x) => x).join(': ').replace(/\|/g, '\\|')}` : e.result;
      md.push(`| ${b.version} \`${b.binary}\` ${n} (${b.profile}) | ${cell} | ${b.kernel?.[n] ?? 'n/a'} |`);
    }
  }
  const summary = all.map((b) => `${b.version} ${b.binary}: exec ${b.totals.exec.ok}/${Object.keys(b.exec).length} (fail ${b.totals.exec.fail}, skip ${b.totals.exec.skip}); kernel ${b.totals.kernel ? `${b.totals.kernel.ok}/${Object.keys(b.kernel!).length}` : 'n/a'}`);
  if (values.md) writeFileSync(values.md, `${md.join('\n')}\n`);
  if (!values.json && !values.md) process.stdout.write(json);
  process.stderr.write(`${summary.join('\n')}\n`);
  return 0;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
