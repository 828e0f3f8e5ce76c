// SPDX-License-Identifier: GPL-2.0-only
/**
 * Triage of oracle reports (`iommufd-sim oracle --report FILE`): every divergence
 * grouped by class, op, field and the two answers (numbers folded to N so one
 * cause is one row), with how many programs show it, whether a known row
 * explains it, and the first few programs to look at.
 *
 *   npx tsx scripts/oracle/triage.ts REPORT.json... [--unexplained] [--json] [--rematch]
 *
 * --rematch: divergences no row explained when the report was written are
 * matched against the known-divergences file as it is now (after adding or
 * widening a row); a program whose divergences are all explained then counts as
 * explained in the totals.
 */
import { readFileSync } from 'node:fs';
import { type KnownDivergence, loadKnown, matchKnown } from '../../src/oracle/known.js';

interface Div {
  program: string;
  call?: number;
  op?: string;
  class: string;
  field?: string;
  model: string;
  kernel: string;
  known?: { source: string };
}
interface Report {
  reports: Array<{ name: string; status: string; divergences: Div[]; note?: string }>;
  summary: { release: string; profile: string; programs: number; agree: number; explained: number; diverged: number; skipped: number; errors: number };
}

// A closed pipe (| head) ends quietly.
process.stdout.on('error', () => process.exit(0));
const args = process.argv.slice(2);
const onlyUnexplained = args.includes('--unexplained');
const json = args.includes('--json');
const known: KnownDivergence[] | undefined = args.includes('--rematch') ? loadKnown() : undefined;
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  process.stderr.write('usage: triage.ts REPORT.json... [--unexplained] [--json] [--rematch]\n');
  process.exit(2);
}

const short = (n: string): string => n.replace(/^(\.\.\/)+/, "");
const fold = (s: string): string => s.replace(/0x[0-9a-f]+/gi, 'N').replace(/\b\d+\b/g, 'N');
interface Group {
  key: string;
  class: string;
  op: string;
  field: string;
  model: string;
  kernel: string;
  known: string;
  programs: Set<string>;
  examples: string[];
}
const groups = new Map<string, Group>();
const totals = { programs: 0, agree: 0, explained: 0, diverged: 0, skipped: 0, errors: 0 };
const releases = new Set<string>();
for (const f of files) {
  const r = JSON.parse(readFileSync(f, 'utf8')) as Report;
  releases.add(`${r.summary.release}/${r.summary.profile}`);
  for (const p of r.reports) {
    if (known && p.status === 'diverged') {
      for (const d of p.divergences) if (!d.known) {
        const k = matchKnown(known, d as never, r.summary.release);
        if (k) d.known = k;
      }
      if (p.divergences.every((d) => d.known)) {
        p.status = 'explained';
        r.summary.diverged--;
        r.summary.explained++;
      }
    }
  }
  for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r.summary[k];
  for (const p of r.reports) {
    if (p.status === 'error') {
      const key = `error|${fold(p.note ?? '').slice(0, 80)}`;
      const g = groups.get(key) ?? { key, class: 'error', op: '-', field: '', model: '', kernel: (p.note ?? '').slice(0, 80), known: '', programs: new Set(), examples: [] };
      g.programs.add(p.name);
      if (g.examples.length < 4) g.examples.push(short(p.name));
      groups.set(key, g);
    }
    for (const d of p.divergences) {
      if (known && !d.known) {
        const k = matchKnown(known, d as never, r.summary.release);
        if (k) d.known = k;
      }
      if (onlyUnexplained && d.known) continue;
      const key = [d.class, d.op ?? '-', d.field ?? '', fold(d.model), fold(d.kernel), d.known ? 'known' : ''].join('|');
      const g = groups.get(key) ?? { key, class: d.class, op: d.op ?? '-', field: d.field ?? '', model: fold(d.model), kernel: fold(d.kernel), known: d.known?.source ?? '', programs: new Set(), examples: [] };
      if (!g.programs.has(p.name) && g.examples.length < 4) g.examples.push(`${short(p.name)}${d.call !== undefined ? `#${d.call}` : ''}`);
      g.programs.add(p.name);
      groups.set(key, g);
    }
  }
}
const rows = [...groups.values()].sort((a, b) => Number(!!a.known) - Number(!!b.known) || b.programs.size - a.programs.size);
if (json) {
  process.stdout.write(`${JSON.stringify({ releases: [...releases], totals, groups: rows.map((g) => ({ ...g, programs: g.programs.size })) }, null, 2)}\n`);
} else {
  process.stdout.write(`${[...releases].join(', ')}: ${totals.programs} programs, ${totals.agree} agree, ${totals.explained} explained, ${totals.diverged} diverged, ${totals.skipped} skipped, ${totals.errors} errors\n`);
  for (const g of rows) {
    process.stdout.write(`${String(g.programs.size).padStart(5)}  ${g.class}${g.field ? `/${g.field}` : ''} ${g.op}: model ${g.model} | kernel ${g.kernel}${g.known ? `  [known: ${g.known.slice(0, 50)}]` : '  UNEXPLAINED'}\n        e.g. ${g.examples.join(' ')}\n`);
  }
}
