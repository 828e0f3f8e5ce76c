// SPDX-License-Identifier: GPL-2.0-only
/**
 * Running an exported C program under `exec`: its verdict line, and one
 * retry when the only reason it differed is where the host put a mapping.
 * The exported C asks for each mmap at the model's address (a hint); under
 * exec the real process has the host's randomized layout, and about one run
 * in a few thousand has its stack (with its guard gap) where the model's
 * mappings go, so the kernel places the mapping elsewhere. That says nothing
 * about the model; a second run has another layout. The same for an mremap
 * that moves: it takes the model's address only where that is free.
 */
import { type ExecOptions, type ExecResult, runExec } from '../../src/bridge/exec.js';

/** The first divergence is an mmap (or a moving mremap) placed away from the model's address. */
function placedElsewhere(stdout: string): boolean {
  const first = stdout.split('\n').find((l) => l.startsWith('call '));
  return first !== undefined && /^call \d+ \((mmap|mremap)\): addr is 0x[0-9a-f]+, the model says 0x[0-9a-f]+$/.test(first);
}

export async function runExported(binary: string, opts: ExecOptions): Promise<ExecResult> {
  const r = await runExec([binary], opts);
  return r.status !== 0 && placedElsewhere(r.stdout) ? runExec([binary], opts) : r;
}
