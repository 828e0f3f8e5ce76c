// SPDX-License-Identifier: GPL-2.0-only
// The answer oracle with processes as users use them: a forked child maps
// through the parent's iommufd and exits while the context holds its pins
// (examples/fork-shared-fd.yaml). The oracle follows it without complaint,
// and still judges every live mm and user exactly while a dead process's
// pages are pinned: a charge moved to the wrong counter is a finding.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallResult } from '../../src/fuzz/executor.js';
import { parseProgram } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';
import type { Process } from '../../src/machine/index.js';
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

// A VFIO-compat context (per-mm accounting) shared with a child that maps and then dies before the
// context closes: iommufd's uncharge of the child's mm is refused (update_mm_locked_vm():
// mmget_not_zero() fails), so its pinned_vm stays on the dead mm, as in the kernel. That is no leak;
// a pinned_vm left on an mm whose uncharge nobody refused still is. (A campaign's false LEAK.)
const STRANDED = `
calls:
  - { op: mmap, as: $buf, length: 4K }
  - { op: open, path: /dev/vfio/vfio }
  - { op: ioas_alloc, as: $ioas }
  - { op: fork, as: $child }
  - { op: mock_domain, pt: $ioas }
  - { op: ioas_map, proc: $child, ioas: $ioas, user_va: $buf, length: 2048 }
`;

describe("teardown leaks: pinned_vm left on an mm whose last user went first", () => {
  const parsed = parseProgram(STRANDED, 'stranded.yaml');
  if (!parsed.ok) throw new Error(parsed.error);
  const p = { ...parsed.program, profile: 'latest' as const };

  it('is no leak when the uncharge was refused for want of a user', () => {
    let child: Process | undefined;
    const r = runGuarded(p, {
      ...fuzzRunOptions(true),
      onCall: (c, m) => {
        if (c.op === 'fork') child = m.processes.get(Number(c.outputs.pid ?? c.ret));
      },
    });
    expect(r.failed, r.reasons?.join('\n')).toBe(false);
    expect(r.leaks).toEqual([]);
    expect(child).toBeDefined();
    if (!child) return;
    expect(child.task.mm.users).toBe(0);
    expect(child.task.mm.pinnedVm).toBe(1);
    expect(child.task.mm.unchargeRefused).toBe(true);
  });

  it('is a leak when nothing refused it', () => {
    // (the answer oracle would see the wrong pinned_vm at once: without it, the teardown check must)
    const r = runGuarded(p, {
      ...fuzzRunOptions(false),
      onCall: (c, m) => {
        if (c.index === 5) [...m.processes.values()][0].task.mm.pinnedVm += 3;
      },
    });
    expect(r.leaks).toContain('an mm has pinned_vm 3 pages');
  });
});
