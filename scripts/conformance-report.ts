// SPDX-License-Identifier: GPL-2.0-only
/**
 * The conformance report: runs the suites under test/conformance with
 * vitest's JSON reporter and writes docs/conformance.md, one row per kernel
 * selftest scenario and fixture variant, with its status (passed, failed, not
 * run) and, for those not run, the feature the model still lacks.
 *
 * The scenario list comes from docs/selftests-scenarios.json, generated from
 * the catalogue (../shared/docs/selftests-catalogue.md, relative to the repo
 * root) so that a clean clone needs no ../shared. Without the JSON, or with
 * --from-catalogue, the catalogue is parsed and the JSON (re)written.
 *
 *   npx tsx scripts/conformance-report.ts [--from-catalogue] [--no-run results.json]
 *
 * The kernel's own selftest binaries under `iommufd-sim exec` (6.12 under
 * v6.12, 7.2 under latest) beside the real kernel's results come from
 * docs/selftests-exec.json, written by `npx tsx scripts/selftests/results.ts
 * --json docs/selftests-exec.json --vm` (it needs the binaries built by
 * scripts/selftests/build.sh and the oracle VMs); the report only reads it,
 * so it regenerates the same on a clean checkout.
 *
 * Test names follow `fixture.variant.scenario` (`default` for fixtures
 * without variants). A name that runs under several profiles passes only if
 * every run passed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CATALOGUE = resolve(ROOT, '../shared/docs/selftests-catalogue.md');
const SCENARIOS_JSON = join(ROOT, 'docs/selftests-scenarios.json');
const REPORT = join(ROOT, 'docs/conformance.md');
const SELFTESTS_JSON = join(ROOT, 'docs/selftests-exec.json');

interface Variant {
  readonly name: string;
  /** The catalogue's note on the variant (e.g. "post-6.5 (MAP_FILE)"). */
  readonly note?: string;
}

interface Fixture {
  readonly name: string;
  readonly variants: Variant[];
}

interface Scenario {
  /** e.g. "iommufd_mock_domain.03" */
  readonly id: string;
  readonly fixture: string;
  readonly name: string;
  readonly tags: string[];
  /** The scope annotation: "v6.5", "post-6.5", "post-6.5 partial", ... */
  readonly scope: string;
  /** The uAPI or feature it needs beyond its tags, where the tags do not say. */
  readonly waitsFor?: string;
}

interface ScenarioList {
  readonly source: string;
  readonly fixtures: Fixture[];
  readonly scenarios: Scenario[];
}

/** Feature tags the model implements. */
const MODEL_FEATURES = new Set([
  'core-ioas',
  'map-unmap',
  'copy',
  'iova-ranges',
  'allow-iovas',
  'access',
  'access-rw',
  'pin-accounting',
  'domain',
  'hugepage',
  'vfio-compat',
  'option',
  'fail-nth',
  'device',
  'misc',
  // the 6.12 uAPI
  'hwpt',
  'dirty',
  'nesting',
  'fault',
]);

/** What a scenario needs when its tags alone would not say (all are post-6.5 uAPI). */
const WAITS_FOR: Readonly<Record<string, string>> = {
  'change_process.01': 'IOMMU_IOAS_CHANGE_PROCESS',
  'iommufd_ioas.26': 'dma-buf: IOMMU_IOAS_MAP_FILE and the DMABUF test ops',
  'iommufd_ioas.27': 'dma-buf: IOMMU_IOAS_MAP_FILE and the DMABUF test ops',
  'iommufd_dirty_tracking.03': 'PASID attach (the 7.x PASID test ops and MOCK_FLAGS_DEVICE_PASID)',
  'basic_fail_nth.03': 'IOMMU_IOAS_MAP_FILE',
  'basic_fail_nth.08': 'vIOMMU, vDEVICE and PASID (7.x)',
};

/** Scenarios the suites run only in part; the note goes next to their status. */
const PARTIAL_RUNS: Readonly<Record<string, string>> = {
  'basic_fail_nth.08': 'the 6.12 form (mock device, GET_HW_INFO, HWPT_ALLOC, replace onto it; v6.5: the device prefix); the 7.x vIOMMU/PASID steps wait',
  'iommufd_ioas.03': 'the 6.12 fixture (no PASID-capable mock device)',
  'iommufd_ioas.07': 'the 6.12 fixture (no PASID-capable mock device); in_data_type checks on latest',
};

/**
 * What the 6.12.95 oracle kernel showed for the 6.12 uAPI (static probes of
 * every new command and test op, run in ../shared/oracle), where it differs
 * from the 6.12 source the model follows. Each is a kernel bug or a later
 * stable change; test/iommufd/hwpt-612.test.ts holds the probe's calls.
 */
const ORACLE_NOTES: readonly string[] = [
  'Every probed call of HWPT_ALLOC, GET_HW_INFO, SET_DIRTY_TRACKING, GET_DIRTY_BITMAP, HWPT_INVALIDATE,',
  'FAULT_QUEUE_ALLOC, the fault fd (read, write, poll) and the test ops DIRTY, MD_CHECK_IOTLB and',
  'TRIGGER_IOPF answers on the model as on Linux 6.12.95, except:',
  '',
  '- HWPT_INVALIDATE with entry_num above 2^19: later 6.12.y (and the model) refuse it with EINVAL',
  '  and entry_num 0; 6.12.95 has no cap and runs the entries.',
  '- GET_HW_INFO with flags: 6.12 refuses any flag (EOPNOTSUPP); the model takes',
  '  IOMMU_HW_INFO_FLAG_INPUT_TYPE as 7.x does (a profile switch is needed to tell them apart).',
  '- A device replaced away from a fault-capable HWPT: the 6.12 source answers its outstanding faults',
  '  (INVALID) and forgets them, as the model does; 6.12.95 keeps them queued, and answering one or',
  '  closing the queue then oopses in iopf_group_response (NULL dereference).',
  '- read(2) of the fault fd into an unwritable buffer: the 6.12 source puts the group back and returns',
  '  EFAULT, as the model does; 6.12.95 loops forever in iommufd_fault_fops_read.',
  '',
  'The kernel\'s own selftests of Debian\'s linux-source-6.12 (built by scripts/selftests/build.sh with the',
  'oracle\'s compat patch) under `iommufd-sim exec --profile v6.12 --caps all --panic-on-warn`:',
  '`iommufd` 190/190, `iommufd_fail_nth` 7/7 (measured 2026-12-02).',
];

/** The profile a test ran under, from a `profile NAME` describe block (tests outside one run on latest). */
function profileOf(ancestors: readonly string[] | undefined): string {
  for (const a of ancestors ?? []) {
    const m = /\bprofile (\S+)/.exec(a);
    if (m) return m[1];
  }
  return 'latest';
}

/** Profiles listed in the report, newest first. */
const REPORT_PROFILES = ['latest', 'v6.12', 'v6.5'];

// ---------------------------------------------------------------------------
// The catalogue

function parseVariantList(text: string): Variant[] {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0)
    .map((v) => {
      const m = /^([A-Za-z0-9_]+)\s*(.*)$/.exec(v);
      if (!m) return { name: v };
      return m[2] ? { name: m[1], note: m[2].replace(/^\(|\)$/g, '') } : { name: m[1] };
    });
}

/** Parse the catalogue's fixture headers, variant lists and scenario headers. */
export function parseCatalogue(md: string): ScenarioList {
  const lines = md.split('\n');
  const fixtures: Fixture[] = [];
  const scenarios: Scenario[] = [];
  let cur: Fixture | undefined;
  let inVariants = false;
  for (const line of lines) {
    const fx = /^## \d+\.\s+(?:Fixture `([^`]+)`|`[^`]+`.*\(fixture `([^`]+)`\))(.*)$/.exec(line);
    if (fx) {
      const name = fx[1] ?? fx[2];
      const rest = fx[3] ?? '';
      const vm = /— variants (.*?)(?:\s*\[[^\]]*\])?\s*$/.exec(rest);
      cur = { name, variants: vm ? parseVariantList(vm[1].replace(/\([^)]*\)/g, '')) : [] };
      fixtures.push(cur);
      inVariants = false;
      continue;
    }
    if (/^## /.test(line)) {
      cur = undefined;
      inVariants = false;
      continue;
    }
    if (cur && /^Variants\b/.test(line)) {
      inVariants = true;
      continue;
    }
    if (cur && inVariants) {
      const item = /^- (.*)$/.exec(line);
      if (!item) {
        if (line.trim() === '') inVariants = cur.variants.length === 0;
        else inVariants = false;
        continue;
      }
      const [names, note] = item[1].split(/\s+—\s+/);
      if (names.includes(',')) {
        for (const v of parseVariantList(names)) cur.variants.push(note ? { name: v.name, note: note.replace(/[;.]$/, '').trim() } : v);
      } else {
        const first = /^([A-Za-z0-9_]+)\s*(.*)$/.exec(names);
        if (first) cur.variants.push(first[2] ? { name: first[1], note: first[2].trim() } : { name: first[1] });
      }
      continue;
    }
    const sc = /^#{3,4} ([A-Za-z0-9_]+)\.(\d+) ([A-Za-z0-9_]+) — (.*)$/.exec(line);
    if (sc) {
      const [, fixture, num, name, rest] = sc;
      const tags: string[] = [];
      let scope = '';
      for (const m of rest.matchAll(/\[([^\]]+)\]/g)) {
        if (/v6\.5|post-6\.5|6\.\d/.test(m[1])) scope = m[1];
        else tags.push(m[1]);
      }
      if (!scope) {
        const fxLine = lines.find((l) => l.includes(`Fixture \`${fixture}\``));
        scope = fxLine && /post-6\.5/.test(fxLine) ? 'post-6.5' : 'v6.5';
      }
      const id = `${fixture}.${num}`;
      const s: Scenario = WAITS_FOR[id] ? { id, fixture, name, tags, scope, waitsFor: WAITS_FOR[id] } : { id, fixture, name, tags, scope };
      scenarios.push(s);
    }
  }
  for (const f of fixtures) if (f.variants.length === 0) f.variants.push({ name: 'default' });
  return { source: 'selftests-catalogue.md (fixture headers, variant lists, scenario headers)', fixtures, scenarios };
}

function loadScenarios(fromCatalogue: boolean): ScenarioList {
  if (!fromCatalogue && existsSync(SCENARIOS_JSON)) return JSON.parse(readFileSync(SCENARIOS_JSON, 'utf8')) as ScenarioList;
  if (!existsSync(CATALOGUE)) throw new Error(`neither ${SCENARIOS_JSON} nor ${CATALOGUE} exists`);
  const list = parseCatalogue(readFileSync(CATALOGUE, 'utf8'));
  writeFileSync(SCENARIOS_JSON, `${JSON.stringify(list, null, 2)}\n`);
  console.log(`wrote ${SCENARIOS_JSON}: ${list.fixtures.length} fixtures, ${list.scenarios.length} scenarios`);
  return list;
}

// ---------------------------------------------------------------------------
// Running the suites

interface AssertionResult {
  readonly title: string;
  readonly ancestorTitles?: string[];
  readonly status: string;
}

interface VitestJson {
  readonly numTotalTests: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly testResults: Array<{ readonly name: string; readonly assertionResults: AssertionResult[] }>;
}

function runVitest(): VitestJson {
  const dir = mkdtempSync(join(tmpdir(), 'conformance-'));
  const out = join(dir, 'results.json');
  const bin = join(ROOT, 'node_modules/vitest/vitest.mjs');
  const r = spawnSync(process.execPath, [bin, 'run', 'test/conformance', '--reporter=json', `--outputFile=${out}`], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!existsSync(out)) throw new Error(`vitest produced no results (exit ${r.status})`);
  const json = JSON.parse(readFileSync(out, 'utf8')) as VitestJson;
  rmSync(dir, { recursive: true, force: true });
  return json;
}

/** Combine runs: any failure fails, otherwise the last status seen (passed, skipped, ...). */
function combine(out: Map<string, string>, key: string, st: string): void {
  const prev = out.get(key);
  if (prev === 'failed') return;
  if (st === 'failed' || prev === undefined || prev === 'passed') out.set(key, st);
}

/** Scenario title → status, every run of the title combined; other tests by file and full name. */
function statusByTitle(results: VitestJson): {
  titles: Map<string, string>;
  profiles: Map<string, Set<string>>;
  full: Map<string, { title: string; status: string }>;
} {
  const titles = new Map<string, string>();
  const profiles = new Map<string, Set<string>>();
  const full = new Map<string, { title: string; status: string }>();
  for (const file of results.testResults) {
    const rel = file.name.startsWith(ROOT) ? file.name.slice(ROOT.length + 1) : file.name;
    for (const a of file.assertionResults) {
      combine(titles, a.title, a.status);
      if (a.status === 'passed') {
        let set = profiles.get(a.title);
        if (!set) profiles.set(a.title, (set = new Set()));
        set.add(profileOf(a.ancestorTitles));
      }
      const key = [rel, ...(a.ancestorTitles ?? []), a.title].join(' > ');
      const prev = full.get(key);
      if (!prev || a.status === 'failed') full.set(key, { title: a.title, status: a.status });
    }
  }
  return { titles, profiles, full };
}

// ---------------------------------------------------------------------------
// The report

function waitsFor(s0: Scenario, v: Variant): string {
  // WAITS_FOR here overrides the note stored in the scenario list
  const s: Scenario = WAITS_FOR[s0.id] ? { ...s0, waitsFor: WAITS_FOR[s0.id] } : { ...s0, waitsFor: undefined };
  if (v.note && /post-6\.5/.test(v.note)) return `variant: ${v.note}`;
  const missing = s.tags.filter((t) => !MODEL_FEATURES.has(t));
  if (missing.length && s.waitsFor) return `${missing.join(', ')} (${s.waitsFor})`;
  if (missing.length) return missing.join(', ');
  return s.waitsFor ?? `unknown (scope ${s.scope})`;
}

// ---------------------------------------------------------------------------
// The kernel's selftest binaries under exec (docs/selftests-exec.json)

type Verdict = 'ok' | 'fail' | 'skip';

/** One binary's run, as scripts/selftests/results.ts writes it. */
interface BinaryRun {
  readonly version: string;
  readonly binary: string;
  readonly profile: string;
  readonly exec: Record<string, { result: Verdict; reason?: string; waitsFor?: string }>;
  readonly kernel?: Record<string, Verdict>;
  readonly kernelSource: string;
}

/** Selftest versions in the report's columns, oldest first. */
const SELFTEST_VERSIONS = ['6.12', '7.2'];

/** `fixture.test` (no variants) → `fixture.default.test`, the report's title form. */
function titleOf(name: string): string {
  const parts = name.split('.');
  return parts.length === 2 ? `${parts[0]}.default.${parts[1]}` : name;
}

function loadSelftests(): BinaryRun[] {
  if (!existsSync(SELFTESTS_JSON)) return [];
  return JSON.parse(readFileSync(SELFTESTS_JSON, 'utf8')) as BinaryRun[];
}

/** title → version → exec and kernel verdicts. */
function selftestIndex(runs: readonly BinaryRun[]): Map<string, Map<string, { exec?: Verdict; kernel?: Verdict }>> {
  const idx = new Map<string, Map<string, { exec?: Verdict; kernel?: Verdict }>>();
  const at = (name: string, version: string) => {
    const t = titleOf(name);
    let m = idx.get(t);
    if (!m) idx.set(t, (m = new Map()));
    let e = m.get(version);
    if (!e) m.set(version, (e = {}));
    return e;
  };
  for (const r of runs) {
    for (const [n, e] of Object.entries(r.exec)) at(n, r.version).exec = e.result;
    for (const [n, k] of Object.entries(r.kernel ?? {})) at(n, r.version).kernel = k;
  }
  return idx;
}

/** Selftest versions whose real kernel SKIPs `title` (from docs/selftests-exec.json), oldest first. */
function kernelSkips(idx: ReturnType<typeof selftestIndex>, title: string): string[] {
  const m = idx.get(title);
  return SELFTEST_VERSIONS.filter((ver) => m?.get(ver)?.kernel === 'skip');
}

/** One "exec/kernel" pair per selftest version, joined by " · " (e.g. ok/ok · fail/ok), with a dash where a binary has no such test. */
function selftestCell(idx: ReturnType<typeof selftestIndex>, title: string): string {
  const m = idx.get(title);
  const one = (v?: Verdict) => (v === undefined ? '–' : v === 'fail' ? '**fail**' : v);
  return SELFTEST_VERSIONS.map((ver) => {
    const e = m?.get(ver);
    return e === undefined ? '–' : `${one(e.exec)}/${one(e.kernel)}`;
  }).join(' · ');
}

function tally(m: Record<string, Verdict> | undefined): string {
  if (m === undefined) return 'n/a';
  const c = { ok: 0, fail: 0, skip: 0 };
  for (const v of Object.values(m)) c[v]++;
  return `${c.ok} ok, ${c.fail} fail, ${c.skip} skip`;
}

function renderSelftests(runs: readonly BinaryRun[]): string[] {
  if (runs.length === 0) return [];
  const out: string[] = [
    '',
    "## The kernel's selftest binaries under `iommufd-sim exec`",
    '',
    "The kernel's own `tools/testing/selftests/iommu` binaries, unmodified (built by",
    '`scripts/selftests/build.sh` from Debian\'s linux-source packages), run under',
    '`iommufd-sim exec --caps all` against the model (6.12 under `v6.12`, 7.2 under',
    '`latest`), beside the same tests on the real kernel (the oracle VMs). Regenerated',
    'with `npx tsx scripts/selftests/results.ts --json docs/selftests-exec.json --vm`',
    'and then this script. The scenario tables above show these results in their',
    '"selftest binary" column as exec/kernel for 6.12 · 7.2.',
    '',
    '| binary | profile | under exec | real kernel | kernel results from |',
    '|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const exec = Object.fromEntries(Object.entries(r.exec).map(([n, e]) => [n, e.result])) as Record<string, Verdict>;
    out.push(`| ${r.version} \`${r.binary}\` | \`${r.profile}\` | ${tally(exec)} | ${tally(r.kernel)} | ${r.kernelSource} |`);
  }
  for (const r of runs) {
    out.push('', `### ${r.version} \`${r.binary}\` (profile \`${r.profile}\`)`, '');
    out.push('| test | under exec | real kernel | why it fails under exec / what it waits for |', '|---|---|---|---|');
    const names = [...Object.keys(r.exec)];
    for (const n of Object.keys(r.kernel ?? {})) if (!(n in r.exec)) names.push(n);
    for (const n of names) {
      const e = r.exec[n];
      const k = r.kernel?.[n];
      const why = e?.result === 'fail' ? [e.waitsFor, e.reason && `\`${e.reason}\``].filter((x) => x).join(': ') : '';
      out.push(`| ${n} | ${e === undefined ? 'not run' : e.result === 'fail' ? '**fail**' : e.result} | ${k ?? 'n/a'} | ${why.replace(/\|/g, '\\|')} |`);
    }
  }
  return out;
}

function render(list: ScenarioList, st: ReturnType<typeof statusByTitle>, results: VitestJson, selftests: readonly BinaryRun[] = []): string {
  const sidx = selftestIndex(selftests);
  const status = st.titles;
  const statusProfiles = st.profiles;
  const rows: string[] = [];
  const perFixture = new Map<string, { passed: number; failed: number; notRun: number; byProfile: Map<string, number> }>();
  const byProfile = new Map<string, number>();
  const used = new Set<string>();
  let passed = 0;
  let failed = 0;
  let notRun = 0;
  let skipsPassed = 0;
  for (const f of list.fixtures) {
    const counts = { passed: 0, failed: 0, notRun: 0, byProfile: new Map<string, number>() };
    perFixture.set(f.name, counts);
    const scs = list.scenarios.filter((s) => s.fixture === f.name);
    if (scs.length === 0) continue;
    rows.push(`\n### \`${f.name}\`\n`);
    rows.push('| id | scenario | variant | scope | status | profiles passed | selftest binary, exec/kernel (6.12 · 7.2) | waits for / notes |');
    rows.push('|---|---|---|---|---|---|---|---|');
    for (const s of scs) {
      for (const v of f.variants) {
        const title = `${f.name}.${v.name}.${s.name}`;
        used.add(title);
        const st = status.get(title);
        let cell: string;
        let note = '';
        const ran = st === 'passed' ? REPORT_PROFILES.filter((p) => statusProfiles.get(title)?.has(p) ?? false) : [];
        if (st === 'passed') {
          cell = 'passed';
          counts.passed++;
          passed++;
          for (const p of ran) {
            counts.byProfile.set(p, (counts.byProfile.get(p) ?? 0) + 1);
            byProfile.set(p, (byProfile.get(p) ?? 0) + 1);
          }
          if (PARTIAL_RUNS[s.id]) note = `partial: ${PARTIAL_RUNS[s.id]}`;
          const skips = kernelSkips(sidx, title);
          if (skips.length) {
            skipsPassed++;
            const skipNote = `kernel skips (${skips.join(', ')}): the test asserts the skip condition`;
            note = note ? `${note}; ${skipNote}` : skipNote;
          }
        } else if (st === 'failed') {
          cell = '**failed**';
          counts.failed++;
          failed++;
        } else {
          cell = 'not run';
          counts.notRun++;
          notRun++;
          note = waitsFor(s, v);
        }
        rows.push(`| ${s.id} | ${s.name} | ${v.name} | ${s.scope} | ${cell} | ${ran.join(', ')} | ${selftestCell(sidx, title)} | ${note} |`);
      }
    }
  }
  const extra = [...st.full.entries()].filter(([, e]) => !used.has(e.title)).map(([k, e]) => [k, e.status] as const);
  const head: string[] = [
    '# Conformance with the kernel iommufd selftests',
    '',
    'Generated by `npx tsx scripts/conformance-report.ts` from the suites in',
    '`test/conformance/` and the scenario list in `docs/selftests-scenarios.json`',
    '(itself generated from `selftests-catalogue.md`). One row per scenario and',
    'fixture variant; test names are `fixture.variant.scenario`. A scenario',
    'that runs under several kernel profiles (`latest`, `v6.12`, `v6.5`) passes only',
    'if every run passed; "profiles passed" lists the profiles it ran under',
    '(a `profile NAME` describe block; tests outside one run on `latest`).',
    '"Waits for" names the catalogue feature tags the model does not implement',
    'yet, or the later uAPI the scenario needs. A passed instance noted "kernel',
    'skips" is one the real kernel\'s selftest SKIPs (its verdict in',
    '`docs/selftests-exec.json`): its test asserts the state that makes the',
    'kernel\'s test body SKIP and does what the body does before that check.',
    '',
    '## Summary',
    '',
    `Vitest: ${results.numPassedTests} of ${results.numTotalTests} tests passed, ${results.numFailedTests} failed.`,
    '',
    `| fixture | passed | failed | not run | ${REPORT_PROFILES.map((p) => `passed on ${p}`).join(' | ')} |`,
    `|---|---|---|---|${REPORT_PROFILES.map(() => '---|').join('')}`,
  ];
  const per = (m: Map<string, number>) => REPORT_PROFILES.map((p) => m.get(p) ?? 0).join(' | ');
  for (const [name, c] of perFixture) head.push(`| \`${name}\` | ${c.passed} | ${c.failed} | ${c.notRun} | ${per(c.byProfile)} |`);
  head.push(`| **total** | **${passed}** | **${failed}** | **${notRun}** | ${REPORT_PROFILES.map((p) => `**${byProfile.get(p) ?? 0}**`).join(' | ')} |`);
  if (skipsPassed) head.push('', `${skipsPassed} of the ${passed} passed instances are SKIPs in the real kernel (noted "kernel skips" below).`);
  head.push('', '## Scenarios');
  const tail: string[] = ['', '## Checked against the 6.12 oracle kernel', '', ...ORACLE_NOTES, ...renderSelftests(selftests)];
  if (extra.length) {
    tail.push('', '## Other tests in test/conformance', '', 'Tests whose names are not catalogue scenarios (model extensions, unit tests of the test ops, robustness), by file and describe block.', '');
    tail.push('| test | status |', '|---|---|');
    for (const [t, st] of extra) tail.push(`| ${t.replace(/\|/g, '\\|')} | ${st} |`);
  }
  return `${[...head, ...rows, ...tail].join('\n')}\n`;
}

function main(): void {
  const args = process.argv.slice(2);
  const list = loadScenarios(args.includes('--from-catalogue'));
  const noRun = args.indexOf('--no-run');
  const results = noRun >= 0 ? (JSON.parse(readFileSync(args[noRun + 1], 'utf8')) as VitestJson) : runVitest();
  const status = statusByTitle(results);
  writeFileSync(REPORT, render(list, status, results, loadSelftests()));
  console.log(`wrote ${REPORT}`);
}

main();
