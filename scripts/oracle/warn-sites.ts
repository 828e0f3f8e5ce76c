// SPDX-License-Identifier: GPL-2.0-only
/**
 * Writes src/oracle/kernel-warn-sites.json: for one kernel release, every C
 * function of the iommufd code (and the mm/iommu files the model follows) that
 * holds a WARN, as [first line, last line, name]. A WARN splat names file:line
 * and the symbol its code ended up in (an inlined helper shows as its caller);
 * with this table the oracle names the function the WARN is written in, which
 * is what the model's WARN sites are named after (src/oracle/warn-sites.ts).
 * Function names and line ranges only: no kernel text is kept.
 *
 *   npx tsx scripts/oracle/warn-sites.ts RELEASE LINUX_SOURCE_ROOT
 *   e.g. 6.12.95 /tmp/linux-source-6.12   (from Debian's linux-source-6.12)
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SITES_FILE, type SiteTable } from '../../src/oracle/warn-sites.js';

const PATHS = ['drivers/iommu/iommufd', 'drivers/iommu/iommu.c', 'drivers/iommu/generic_pt', 'drivers/iommu/io-pgtable.c', 'mm/gup.c', 'include/linux/iommu.h'];
const WARN_RE = /\b(PT_)?WARN(_ON)?(_ONCE)?\s*\(/;

/** Functions with a WARN in a C file: [start, end, name]; a definition is a column-0 `{` after a column-0 signature. */
export function warnFunctions(text: string): Array<[number, number, string]> {
  const lines = text.split('\n');
  const out: Array<[number, number, string]> = [];
  let sig: { line: number; name: string } | undefined;
  let cur: { start: number; name: string; warn: boolean } | undefined;
  lines.forEach((l, i) => {
    const n = i + 1;
    if (!cur) {
      if (/^[A-Za-z_]/.test(l) && l.includes('(')) {
        // generic_pt names its functions NS(fn) / DOMAIN_NS(fn), pasted with the format's
        // prefix (pt_iommu_amdv1_fn ...): the table keeps the format-free pt_iommu_fn.
        const ns = /\b(?:DOMAIN_)?NS\((\w+)\)\s*\(/.exec(l);
        const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(l);
        if (ns) sig = { line: n, name: `pt_iommu_${ns[1]}` };
        else if (m) sig = { line: n, name: m[1] };
      } else if (l.startsWith('{') && sig) {
        cur = { start: sig.line, name: sig.name, warn: false };
        sig = undefined;
      } else if (/^(}|#|$)/.test(l) || l.endsWith(';')) {
        if (l.endsWith(';') && !/^\s/.test(l)) sig = undefined;
      }
      return;
    }
    if (WARN_RE.test(l)) cur.warn = true;
    if (l.startsWith('}')) {
      if (cur.warn) out.push([cur.start, n, cur.name]);
      cur = undefined;
    }
  });
  return out;
}

function files(root: string, p: string): string[] {
  const abs = join(root, p);
  if (!existsSync(abs)) return [];
  if (statSync(abs).isDirectory()) return readdirSync(abs).sort().flatMap((e) => files(root, join(p, e)));
  return /\.[ch]$/.test(p) ? [p] : [];
}

const [release, root] = process.argv.slice(2);
if (!release || !root || !existsSync(root)) {
  process.stderr.write('usage: warn-sites.ts RELEASE LINUX_SOURCE_ROOT\n');
  process.exit(2);
}
const table: SiteTable = existsSync(SITES_FILE) ? JSON.parse(readFileSync(SITES_FILE, 'utf8')) : {};
const rel: SiteTable[string] = {};
for (const f of PATHS.flatMap((p) => files(root, p))) {
  const fns = warnFunctions(readFileSync(join(root, f), 'utf8'));
  if (fns.length) rel[relative('.', f)] = fns;
}
table[release] = rel;
const sorted = Object.fromEntries(Object.keys(table).sort().map((k) => [k, table[k]]));
// One function per line keeps the file readable and its diffs small.
const body = Object.entries(sorted)
  .map(([r, fs]) => `  ${JSON.stringify(r)}: {\n${Object.entries(fs).map(([f, fns]) => `    ${JSON.stringify(f)}: [\n${fns.map((x) => `      ${JSON.stringify(x)}`).join(',\n')}\n    ]`).join(',\n')}\n  }`)
  .join(',\n');
writeFileSync(SITES_FILE, `{\n${body}\n}\n`);
process.stderr.write(`${release}: ${Object.values(rel).reduce((a, x) => a + x.length, 0)} functions with a WARN in ${Object.keys(rel).length} files\n`);
