// SPDX-License-Identifier: GPL-2.0-only
/**
 * A fuzz corpus for the oracle: N generated programs (src/fuzz/generator.ts, all
 * ops the profile's kernel has), one JSON file each, named by seed.
 *   npx tsx scripts/oracle/gen-corpus.ts DIR N [PROFILE] [FIRST_SEED]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../../src/base/prng.js';
import { type ProfileName, profileByName } from '../../src/base/profile.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import { formatProgram } from '../../src/fuzz/program.js';

const [dir, nText, profileText = 'latest', firstText = '1'] = process.argv.slice(2);
const n = Number(nText);
if (!dir || !Number.isSafeInteger(n) || n <= 0 || !profileByName(profileText)) {
  process.stderr.write('usage: gen-corpus.ts DIR N [PROFILE] [FIRST_SEED]\n');
  process.exit(2);
}
const profile = profileText as ProfileName;
mkdirSync(dir, { recursive: true });
const first = Number(firstText);
for (let s = first; s < first + n; s++) {
  // Every op the profile's kernel has, the newer uAPI (HWPT, dirty, fault queues, vIOMMU, 7.x) included.
  const p = generateProgram(new Prng(s), { profile, newOps: true });
  p.name = `gen-${profile}-${s}`;
  writeFileSync(join(dir, `${String(s).padStart(6, '0')}.json`), formatProgram(p, 'json'));
}
process.stderr.write(`${n} programs in ${dir}\n`);
