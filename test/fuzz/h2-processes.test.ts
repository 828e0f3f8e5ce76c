// SPDX-License-Identifier: GPL-2.0-only
// The answer oracle with processes as users use them: a forked child maps
// through the parent's iommufd and exits while the context holds its pins
// (examples/fork-shared-fd.yaml). The oracle follows it without complaint,
// and still judges every live mm and user exactly while a dead process's
// pages are pinned: a charge moved to the wrong counter is a finding.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallResult } from '../../src/fuzz/executor.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';
import type { Machine } from '../../src/machine/machine.js';
import { loadProgramFile } from './program-files.js';

const program = loadProgramFile(join(import.meta.dirname, '..', '..', 'examples', 'fork-shared-fd.yaml'));
/** The call after which the child has exited and its pages are still pinned. */
const AFTER_EXIT = program.calls.findIndex((c) => c.op === 'exit');

function run(tamper?: (m: Machine) => void) {
  let done = false;
  const onCall = (r: CallResult, m: Machine): void => {
    if (tamper && !done && r.index === AFTER_EXIT) {
      done = true;
      tamper(m);
    }
  };
  return runGuarded({ ...program, profile: 'latest' }, { ...fuzzRunOptions(true), onCall });
}

describe('answer oracle: fork, a shared context, the mapper exits', () => {
  it('follows the program without a finding', () => {
    expect(AFTER_EXIT).toBeGreaterThan(0);
    const r = run();
    expect(r.oracle, r.oracle?.message).toBeUndefined();
    expect(r.failed, r.reasons?.join('\n')).toBe(false);
  });

  it("judges the live parent's pinned_vm while the dead child's pages stay pinned", () => {
    const r = run((m) => {
      const parent = [...m.processes.values()].find((p) => !p.exited && p.pid === 1);
      if (!parent) throw new Error('no parent');
      parent.mm.pinnedVm += 1;
    });
    expect(r.oracle?.signature).toBe('ORACLE accounting');
    expect(r.oracle?.index).toBe(AFTER_EXIT);
    expect(r.oracle?.message).toMatch(/pinned_vm 257, the pages it sources charge 256/);
  });

  it("judges the user's locked_vm, to which the dead child's pages are still charged", () => {
    const r = run((m) => {
      for (const u of m.users.values()) u.lockedVm -= 1;
    });
    expect(r.oracle?.signature).toBe('ORACLE accounting');
    expect(r.oracle?.message).toMatch(/locked_vm 383, the pages it sources charge 384/);
  });
});
