// SPDX-License-Identifier: GPL-2.0-only
// Fixture `change_process` of tools/testing/selftests/iommu/iommufd.c (7.2): variants account_none,
// account_user and account_mm, test `basic`. /proc/PID/status VmPin and VmLck are the model's
// mm->pinned_vm and mm->locked_vm in kB.
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import type { Process } from '../../src/machine/index.js';
import { BUFFER_SIZE, PAGE_SIZE, auditEachWorld, ctxOf, world } from '../client/harness.js';
import { changeProcess, mapFile, memfdMmap } from '../iommufd/map-file-sim.js';

const IOPT_PAGES_ACCOUNT_NONE = 0;
const IOPT_PAGES_ACCOUNT_USER = 1;
const IOPT_PAGES_ACCOUNT_MM = 2;

const VARIANTS = [
  { name: 'account_none', accounting: IOPT_PAGES_ACCOUNT_NONE },
  { name: 'account_user', accounting: IOPT_PAGES_ACCOUNT_USER },
  { name: 'account_mm', accounting: IOPT_PAGES_ACCOUNT_MM },
] as const;

const audited = auditEachWorld();

/** get_vm_pinned(pid): VmPin of /proc/PID/status, in kB. */
function vmPinned(p: Process): number {
  return (p.mm.pinnedVm * PAGE_SIZE) / 1024;
}

/** get_vm_locked(pid): VmLck, in kB. */
function vmLocked(p: Process): number {
  return (p.mm.lockedVm * PAGE_SIZE) / 1024;
}

describe('profile latest change_process', () => {
  for (const variant of VARIANTS) {
    it(`change_process.${variant.name}.basic`, () => {
      // the selftest binary's globals: buffer (the harness's) and mfd/mfd_buffer from setup_sizes()
      const w0 = world({ caps: ['CAP_SYS_RESOURCE'] });
      w0.c.close();
      const mfd = memfdMmap(w0.proc, BUFFER_SIZE);
      // FIXTURE_SETUP: open, drop_cap_ipc_lock (the world never had it), RLIMIT_MODE, IOAS, mock domain
      const c = IommufdClient.open(w0.proc);
      const w = { ...w0, c };
      audited.current = w;
      if (variant.accounting !== IOPT_PAGES_ACCOUNT_NONE) c.setRlimitMode(variant.accounting === IOPT_PAGES_ACCOUNT_MM ? 1 : 0);
      const ioasId = c.ioasAlloc();
      c.mockDomain(ioasId);

      const parent = w.proc;
      // Expect failure if non-file maps exist
      const iova = c.ioasMap({ ioas: ioasId, userVa: w.buffer, length: PAGE_SIZE });
      expect(changeProcess(c)).toBe(-EINVAL);
      c.ioasUnmap({ ioas: ioasId, iova, length: PAGE_SIZE });

      // Change process works in current process.
      expect(mapFile(c, { ioas: ioasId, fd: mfd.fd, start: 0, length: PAGE_SIZE }).rc).toBe(0);
      expect(changeProcess(c)).toBe(0);

      // Change process works in another process
      const child = parent.fork();
      const nlock = PAGE_SIZE / 1024;
      // Parent accounts for locked memory before
      expect(vmPinned(parent)).toBe(nlock);
      if (variant.accounting === IOPT_PAGES_ACCOUNT_MM) expect(vmLocked(parent)).toBe(nlock);
      expect(vmPinned(child)).toBe(0);
      expect(vmLocked(child)).toBe(0);
      expect(changeProcess(new IommufdClient(child, c.fd))).toBe(0);
      // Child accounts for locked memory after
      expect(vmPinned(parent)).toBe(0);
      expect(vmLocked(parent)).toBe(0);
      expect(vmPinned(child)).toBe(nlock);
      if (variant.accounting === IOPT_PAGES_ACCOUNT_MM) expect(vmLocked(child)).toBe(nlock);
      const pages = ctxOf(w).ioasList()[0].ioas.iopt.areas()[0].pages!;
      expect(pages.sourceMm).toBe(child.mm);
      // The child exits; the parent's teardown unpins the pages charged to the child's mm. In MM
      // mode update_mm_locked_vm() cannot mmget() the dead mm: its counters keep the charge and go
      // with it (no WARN); pinned_vm too, as iopt_pages_update_pinned() stops at that error.
      child.exit();
      c.ioasUnmapAll(ioasId);
      const stays = variant.accounting === IOPT_PAGES_ACCOUNT_MM ? 1 : 0;
      expect(child.mm.pinnedVm).toBe(stays);
      expect(child.mm.lockedVm).toBe(stays);
    });
  }
});
