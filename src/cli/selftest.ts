// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim selftest`: run the kernel selftest scenarios of
 * test/conformance with vitest and report every scenario: those that passed
 * or failed, and those the model does not run yet with the feature each
 * waits for (from docs/conformance.md, generated from the catalogue). Output
 * as a table, as KTAP (`--ktap`, the kernel selftests' format) or as JSON.
 * The suites live in the source repository: in an installed package the
 * command says so instead of running.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { progress } from './progress.js';
import { colorEnabled, paint } from './term.js';

export interface SelftestOptions {
  filter?: string;
  ktap?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface CaseResult {
  name: string;
  fullName: string;
  file: string;
  state: string;
  ms: number;
  error?: string;
}

export interface NotRun {
  id: string;
  /** fixture.variant.scenario */
  name: string;
  waitsFor: string;
}

/** Scenarios the conformance report lists as not run, with what each waits for. */
export function notRunScenarios(root: string): NotRun[] {
  const file = join(root, 'docs', 'conformance.md');
  if (!existsSync(file)) return [];
  const out: NotRun[] = [];
  let fixture = '';
  // Columns by their headers: | id | scenario | variant | ... | status | ... | waits for / notes |
  let col: { id: number; scenario: number; variant: number; status: number; waits: number } | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const h = /^### `([^`]+)`/.exec(line);
    if (h) {
      fixture = h[1];
      continue;
    }
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    if (cells[1] === 'id' && cells.includes('status')) {
      const at = (name: string) => cells.findIndex((c) => c.startsWith(name));
      col = { id: 1, scenario: at('scenario'), variant: at('variant'), status: at('status'), waits: at('waits for') };
      continue;
    }
    if (col && fixture && cells[col.status] === 'not run') {
      out.push({ id: cells[col.id], name: `${fixture}.${cells[col.variant]}.${cells[col.scenario]}`, waitsFor: (col.waits > 0 && cells[col.waits]) || 'unknown' });
    }
  }
  return out;
}

/** Why selftest cannot run here, or undefined when it can. */
export function selftestUnavailable(root: string): string | undefined {
  if (!existsSync(join(root, 'test', 'conformance'))) {
    return 'the selftest scenarios (test/conformance) are part of the source repository, not of the npm package; run `iommufd-sim selftest` in a clone after `npm install`';
  }
  if (!existsSync(join(root, 'node_modules', 'vitest', 'vitest.mjs'))) return 'vitest is not installed; run `npm install` in the repository first';
  return undefined;
}

function runVitest(root: string, filter: string | undefined, onEvent: (e: Record<string, unknown>) => void): Promise<{ status: number | null; stderr: string }> {
  const reporter = fileURLToPath(new URL(`./selftest-reporter.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
  const args = [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/conformance', `--reporter=${reporter}`];
  if (filter) args.push('-t', filter);
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('@@selftest ')) {
          try {
            onEvent(JSON.parse(line.slice(11)) as Record<string, unknown>);
          } catch {
            // a torn line: ignore
          }
        }
        nl = buf.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    child.on('close', (status) => resolveRun({ status, stderr }));
  });
}

/** The -t text as vitest reads it (a regular expression), or literally when it is not one. */
function nameFilter(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}

/** A test's name for the report: its describe path and title, without a describe the title repeats. */
export function displayName(c: Pick<CaseResult, 'name' | 'fullName'>): string {
  const parts = c.fullName.split(' > ');
  const anc = parts.slice(0, -1);
  const last = anc[anc.length - 1];
  return (last !== undefined && c.name.startsWith(last) ? [...anc.slice(0, -1), c.name] : [...anc, c.name]).join(' › ');
}

/** A KTAP test name: no `#` (it starts a directive) and no line breaks. */
function ktapName(s: string): string {
  return s.replace(/#/g, '_').replace(/\s+/g, ' ');
}

/** Run the selftest scenarios and print the report; returns the exit status (0 all ran ones passed, 1 a failure, 2 cannot run). */
export async function cmdSelftest(root: string, o: SelftestOptions): Promise<number> {
  const why = selftestUnavailable(root);
  if (why) {
    process.stderr.write(`iommufd-sim selftest: ${why}\n`);
    return 2;
  }
  const cases: CaseResult[] = [];
  let total = 0;
  const bar = progress('selftest |{bar}| {value}/{total} tests | {failed} failed', 1, { failed: 0 }, process.stderr.isTTY === true && !o.quiet);
  let failedSoFar = 0;
  const r = await runVitest(root, o.filter, (e) => {
    if (e.kind === 'collected') {
      total += Number(e.tests) || 0;
      bar.setTotal(Math.max(total, 1));
    } else if (e.kind === 'case') {
      const c = e as unknown as CaseResult;
      cases.push(c);
      if (c.state === 'failed') failedSoFar++;
      bar.update(cases.length, { failed: failedSoFar });
    }
  });
  bar.stop();
  if (cases.length === 0 && r.status !== 0) {
    process.stderr.write(`iommufd-sim selftest: vitest ran no scenario (exit ${r.status})\n${r.stderr}`);
    return 1;
  }
  // With a filter, vitest reports the tests it filtered out as skipped: they are not part of this run.
  if (o.filter !== undefined) cases.splice(0, cases.length, ...cases.filter((c) => c.state !== 'skipped'));
  const ran = new Set(cases.map((c) => c.name));
  // -t is a regular expression for vitest; the same picks the scenarios not run.
  const filter = o.filter === undefined ? undefined : nameFilter(o.filter);
  const notRun = notRunScenarios(root).filter((n) => !ran.has(n.name) && (filter === undefined || filter.test(n.name)));
  const count = (s: string) => cases.filter((c) => c.state === s).length;
  const passed = count('passed');
  const failed = count('failed');
  const skipped = cases.length - passed - failed;
  const status = failed > 0 || (r.status !== 0 && r.status !== null && cases.length === 0) ? 1 : 0;
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ passed, failed, skipped, notRun: notRun.length, scenarios: cases.map((c) => ({ name: displayName(c), status: c.state, ms: c.ms, file: c.file.startsWith(root) ? c.file.slice(root.length + 1) : c.file, ...(c.error ? { error: c.error } : {}) })), notRunScenarios: notRun }, null, 2)}\n`,
    );
    return status;
  }
  if (o.ktap) {
    const lines = ['KTAP version 1', `1..${cases.length + notRun.length}`];
    let i = 0;
    for (const c of cases) {
      i++;
      const skip = c.state !== 'passed' && c.state !== 'failed' ? ' # SKIP' : '';
      lines.push(`${c.state === 'failed' ? 'not ok' : 'ok'} ${i} ${ktapName(displayName(c))}${skip}`);
      if (c.error) lines.push(`# ${c.error}`);
    }
    for (const n of notRun) {
      i++;
      lines.push(`ok ${i} ${ktapName(n.name)} # SKIP waits for ${n.waitsFor}`);
    }
    lines.push(`# Totals: pass:${passed} fail:${failed} xfail:0 xpass:0 skip:${skipped + notRun.length} error:0`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return status;
  }
  const color = colorEnabled(process.stdout);
  if (!o.quiet) {
    const t = new Table({ head: ['scenario', 'status', 'ms'], colWidths: [76, 10, 8], wordWrap: true });
    for (const c of cases) t.push([displayName(c), c.state === 'failed' ? paint(31, 'failed', color) : c.state, c.ms]);
    process.stdout.write(`${t.toString()}\n`);
    if (notRun.length) {
      const n = new Table({ head: ['not run yet', 'waits for'], colWidths: [46, 50], wordWrap: true });
      for (const x of notRun) n.push([`${x.id} ${x.name}`, x.waitsFor]);
      process.stdout.write(`${n.toString()}\n`);
    }
  }
  const notRunText = notRun.length ? `${notRun.length} catalogue scenarios not run yet (see the "waits for" column)` : 'no catalogue scenario left not run';
  process.stdout.write(`${passed} passed, ${failed ? paint(31, `${failed} failed`, color) : '0 failed'}${skipped ? `, ${skipped} skipped` : ''}, ${notRunText}\n`);
  return status;
}
