// SPDX-License-Identifier: GPL-2.0-only
// The answer oracles (src/fuzz/reference/answers.ts): silent on the model as
// it is (every example and regression program, on every profile it names).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Program, type ProfileName, parseProgram } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';

const ROOT = join(import.meta.dirname, '..', '..');

function load(f: string): Program {
  const r = parseProgram(readFileSync(f, 'utf8'), f);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

const files = ['examples', 'test/regressions'].flatMap((d) =>
  readdirSync(join(ROOT, d))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(ROOT, d, f)),
);

describe('answer oracles on the programs we have', () => {
  it('agree with the model after every call of every example and regression', () => {
    let judged = 0;
    for (const f of files) {
      const p = load(f);
      const profiles = (Array.isArray(p.profiles) ? p.profiles : [p.profile ?? 'latest']) as ProfileName[];
      for (const profile of profiles) {
        const r = runGuarded({ ...p, profile }, { ...fuzzRunOptions(true), panicOnWarn: false });
        expect(r.oracle, `${f} on ${profile}: ${r.oracle?.message}`).toBeUndefined();
        judged += r.results.length;
      }
    }
    expect(judged).toBeGreaterThan(100);
  });
});
