// SPDX-License-Identifier: GPL-2.0-only
// Run some mutants (or all) one after another on one core and print the table:
//   npx tsx test/fuzz/run-mutants.mts [--seconds N] [--seed S] [name ...|control]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { MUTANTS, type MutantRun, mutantTable, runMutant } from './mutants.js';

const args = process.argv.slice(2);
let seconds = 60;
let seed = 1;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else if (args[i] === '--seed') seed = Number(args[++i]);
  else names.push(args[i]);
}
const list = names.length === 0 ? MUTANTS.map((m) => m.name) : names;
const runs: MutantRun[] = [];
for (const n of list) {
  const m = n === 'control' ? undefined : MUTANTS.find((x) => x.name === n);
  if (n !== 'control' && !m) throw new Error(`no mutant ${n}`);
  const r = runMutant(m, { seconds, maxPrograms: 1e9, seed });
  runs.push(r);
  console.log(mutantTable([r]), `(load ${loadavg()[0].toFixed(2)})`);
  if (r.found && process.env.VERBOSE) console.log(JSON.stringify(r.reasons), JSON.stringify(r.program));
  if (r.found && process.env.SAVE_DIR) writeFileSync(`${process.env.SAVE_DIR}/${r.name}.json`, JSON.stringify(r.program));
}
const found = runs.filter((r) => r.found && r.name !== 'control').length;
console.log(`\n${found} of ${runs.filter((r) => r.name !== 'control').length} found, ${seconds} s each, seed ${seed}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n${mutantTable(runs)}`);
