// SPDX-License-Identifier: GPL-2.0-only
/**
 * The exported C of every example and regression program, run unmodified
 * under `exec` against the model, agrees call by call with the model's own
 * run (the C program checks each call against the model's answers).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportC } from '../../src/fuzz/export-c.js';
import { parseProgram } from '../../src/fuzz/program.js';
import { runExported } from './exported.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = [
  ...readdirSync(join(ROOT, 'examples')).map((f) => join('examples', f)),
  ...readdirSync(join(ROOT, 'test/regressions')).map((f) => join('test/regressions', f)),
].filter((f) => /\.(ya?ml|json)$/.test(f));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exec: exported C of the example and regression programs', () => {
  it('has programs to run', () => {
    expect(SOURCES.length).toBeGreaterThanOrEqual(8);
  });

  for (const src of SOURCES) {
    it(`${src}: 0 divergences from the model`, async () => {
      const parsed = parseProgram(readFileSync(join(ROOT, src), 'utf8'));
      if (!parsed.ok) throw new Error(parsed.error);
      const program = parsed.program;
      const base = join(dir, src.replace(/[/.]/g, '_'));
      writeFileSync(`${base}.c`, exportC(program, { source: src }));
      execFileSync('cc', ['-O1', '-w', '-o', base, `${base}.c`]);
      const profile = program.profile ?? 'latest';
      // as root in the oracle VM: the program drops to its own capabilities and limits itself
      // the machine the model's own run had (the executor's default RAM is 1 GiB, as the oracle's VM)
      const r = await runExported(base, { profile, memory: String(program.memory ?? '1G'), ...(program.gbpages === true ? { gbpages: true } : {}), captureStdout: true, err: () => {}, caps: 'all' });
      expect(r.stdout).toMatch(/^all \d+ checks agree with the model$/m);
      expect(r.status).toBe(0);
      expect(r.crash).toBeUndefined();
    }, 30_000);
  }
});
