// SPDX-License-Identifier: GPL-2.0-only
/**
 * Generated programs, exported to C and run unmodified under `exec`, agree
 * call by call with the model's own run of them (the C program checks each
 * call against the model's answers): the bridge carries every op the fuzzer
 * has, the stand-in memory included (placement, protections, locked memory).
 * Programs naming descriptor 0, 1 or 2 are left out: the real process has
 * the host's stdin, stdout and stderr there, the model's run (the bare
 * layout, as the fuzzer's) none.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../src/base/prng.js';
import { exportC } from '../../src/fuzz/export-c.js';
import { generateProgram } from '../../src/fuzz/generator.js';
import type { Program } from '../../src/fuzz/program.js';
import { runExported } from './exported.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-generated-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A call names descriptor 0, 1 or 2 by a literal. */
function namesStdio(p: Program): boolean {
  return p.calls.some((c) => Object.entries(c).some(([k, v]) => /fd$/.test(k) && (typeof v === 'number' || typeof v === 'string') && /^[012]$/.test(String(v))));
}

describe('exec: exported C of generated programs', () => {
  for (const [profile, seed] of [
    ['latest', 7201],
    ['v6.12', 6121],
  ] as const) {
    it(`${profile}: 40 programs of seed ${seed}, every checked call agrees with the model`, async () => {
      const rng = new Prng(seed);
      const bad: string[] = [];
      let ran = 0;
      let checks = 0;
      while (ran < 40) {
        const p = generateProgram(rng, { profile, maxCalls: 14 });
        if (namesStdio(p)) continue;
        const base = join(dir, `${profile}_${ran}`);
        writeFileSync(`${base}.c`, exportC(p, { source: `seed ${seed} #${ran}` }));
        execFileSync('cc', ['-O1', '-w', '-o', base, `${base}.c`]);
        const r = await runExported(base, { profile, memory: String(p.memory ?? '1G'), ...(p.gbpages === true ? { gbpages: true } : {}), captureStdout: true, err: () => {}, caps: 'all' });
        const m = /^all (\d+) checks agree with the model$/m.exec(r.stdout);
        if (!m || r.status !== 0 || r.crash !== undefined) bad.push(`#${ran}: ${r.stdout.split('\n').find((l) => l.startsWith('call ')) ?? `status ${r.status}`}`);
        else checks += Number(m[1]);
        ran++;
      }
      expect(bad).toEqual([]);
      // not vacuous: the programs made calls the C checked
      expect(checks).toBeGreaterThan(40 * 5);
    }, 120_000);
  }
});
