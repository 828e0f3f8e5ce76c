
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProfileName, } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';
import { loadProgramFile, programFiles } from './program-files.js';

const _ROOT = join(import.meta.dirname, '..', '..');

const load = loadProgramFile;
const files = programFiles();

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
