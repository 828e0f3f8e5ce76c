// SPDX-License-Identifier: GPL-2.0-only
// The scenario programs the project keeps (every example and regression), for
// the tests that replay all of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Program, parseProgram } from '../../src/fuzz/program.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Absolute paths of every program file in examples/ and test/regressions/. */
export function programFiles(): string[] {
  return ['examples', 'test/regressions'].flatMap((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => join(ROOT, d, f)),
  );
}

/** Parse a program file; a parse error fails the test with its message. */
export function loadProgramFile(f: string): Program {
  const r = parseProgram(readFileSync(f, 'utf8'), f);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}
