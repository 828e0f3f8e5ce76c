// SPDX-License-Identifier: GPL-2.0-only
// machine.audit(): the whole-state audit over every iommufd context on the machine.
import { describe, expect, it } from 'vitest';
import { IommufdClient } from '../../src/client/index.js';
import * as U from '../../src/iommufd/uapi.js';
import { Machine } from '../../src/machine/index.js';
import { iommufdContexts } from '../../src/machine/iommufd-node.js';
import { MADV_DONTNEED, MADV_POPULATE_WRITE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_LOCKED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

function session(panicOnWarn: boolean, profile?: 'v6.12') {
  const machine = new Machine({ memory: '256M', panicOnWarn, checks: true, profile });
  const proc = machine.spawn({ memlock: 'unlimited' });
  const c = IommufdClient.open(proc);
  const ioas = c.ioasAlloc();
  const ids = c.mockDomain(ioas);
  const len = 64n * 4096n;
  const va = proc.mmap(0n, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(proc.madvise(va, len, MADV_POPULATE_WRITE)).toBe(0);
  const iova = c.ioasMap({ ioas, userVa: va, length: len });
  return { machine, proc, c, ioas, ids, va, iova, len };
}

describe('machine.audit()', () => {
  it('is clean on a live session with a domain, and after exit', () => {
    const s = session(true);
    expect(iommufdContexts(s.machine).length).toBe(1);
    expect(s.machine.audit()).toBe(0);
    expect(s.proc.task.user.lockedVm).toBe(64);
    expect(s.proc.mm.pinnedVm).toBe(64);
    s.proc.exit();
    expect(s.machine.audit()).toBe(0);
  });

  it("holds the hugetlb pool's reservations to what the VMAs hold, while a pinned zapped folio owes one back, and reports one that goes astray", () => {
    const machine = new Machine({ memory: '256M', panicOnWarn: false, checks: true });
    const proc = machine.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const len = 4n << 20n;
    const va = proc.mmap(0n, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    expect(proc.madvise(va, len / 2n, MADV_POPULATE_WRITE)).toBe(0);
    const iova = c.ioasMap({ ioas, userVa: va, length: len / 2n });
    expect(proc.madvise(va, len, MADV_DONTNEED)).toBe(0);
    // the VMA holds both pages' reservations again; the pool counts one, the pinned folio owes the other
    expect(machine.phys.hugetlbStats(9).reserved).toBe(1);
    expect(machine.audit()).toBe(0);
    expect(proc.munmap(va, len)).toBe(0);
    expect(machine.phys.hugetlbStats(9).reserved).toBe(-1);
    expect(machine.audit()).toBe(0);
    c.ioasUnmap({ ioas, iova, length: len / 2n });
    expect(machine.phys.hugetlbStats(9).reserved).toBe(0);
    expect(machine.audit()).toBe(0);
    expect(machine.phys.hugetlbReserve(9, 1)).toBe(true);
    expect(machine.audit()).toBe(1);
    expect(machine.warnings.at(-1)?.message).toBe('2 MiB pool: 1 reservations owed, VMAs and files hold 0');
  });

  it('reports accounting that does not match the pins', () => {
    const s = session(false);
    s.proc.task.user.lockedVm += 3;
    expect(s.machine.audit()).toBeGreaterThan(0);
    expect(s.machine.warnings.map((w) => w.assertion)).toContain('audit.locked_vm');
  });

  it('reads the storage domain run by run: clean over scattered frames, and a second domain one page off at a run break is reported', () => {
    const s = session(false);
    s.c.hwptAlloc({ devId: s.ids.idevId, ptId: s.ioas });
    const iopt = iommufdContexts(s.machine)[0].iopts()[0];
    expect(iopt.domains).toHaveLength(2);
    const [stor, other] = iopt.domains;
    const iova = Number(s.iova);
    const pfns = Array.from({ length: 64 }, (_, k) => Math.floor(stor.peekPhys(iova + k * 4096) / 4096));
    // The first page whose PFN does not follow the one before: a run of the storage domain ends there.
    const brk = pfns.findIndex((p, k) => k > 0 && p !== pfns[k - 1] + 1);
    expect(brk).toBeGreaterThan(0);
    expect(s.machine.audit()).toBe(0);
    // The page after the break, mapped in the other domain where the storage domain's run would have gone on.
    other.unmap(iova + brk * 4096, 4096);
    expect(other.map(iova + brk * 4096, (pfns[brk - 1] + 1) * 4096, 4096, 3)).toBe(0);
    expect(s.machine.audit()).toBeGreaterThan(0);
    expect(s.machine.warnings.map((w) => w.assertion)).toContain('audit.domain_pfn');
  });

  it('reports a domain that lost a mapping behind iommufd’s back', () => {
    const s = session(false);
    const iopt = iommufdContexts(s.machine)[0].iopts()[0];
    const dom = iopt.domains[0];
    dom.unmap(Number(s.iova) + 4096, 4096);
    expect(s.machine.audit()).toBeGreaterThan(0);
    expect(s.machine.warnings.map((w) => w.assertion)).toContain('audit.domain_pfn');
  });

  it('reports an xarray mock domain (v6.12) whose leaf count no longer matches its entries', () => {
    const s = session(false, 'v6.12');
    const dom = iommufdContexts(s.machine)[0].iopts()[0].domains[0];
    expect(dom.storageProblems()).toEqual([]);
    // the first chunk's first leaf count, in its flag bytes after the 512 entry flags
    const fl = (dom as unknown as { flDir: Uint8Array[] }).flDir[Number(s.iova) / 2048 / 512];
    fl[512 + ((Number(s.iova) / 2048) % 512) / 64] += 1;
    expect(s.machine.audit()).toBeGreaterThan(0);
    const storage = s.machine.warnings.filter((w) => w.assertion === 'audit.domain_storage');
    expect(storage.length).toBe(1);
    expect(storage[0].message).toMatch(/^domain 0: leaf \d+: count 65, 64 live entries$/);
  });

  it('reports a frame pinned twice for one pages object', () => {
    const s = session(false);
    const pfn = s.proc.mm.lookupPfn(s.va);
    s.machine.phys.pinFrame(pfn);
    expect(s.machine.audit()).toBeGreaterThan(0);
    expect(s.machine.warnings.map((w) => w.assertion)).toContain('audit.pincount');
  });

  it('reports broken HWPT, nesting, dirty and fault-queue links', () => {
    const s = session(false);
    const { c, machine, ids, ioas } = s;
    const parent = c.hwptAlloc({ devId: ids.idevId, ptId: ioas, flags: U.IOMMU_HWPT_ALLOC_NEST_PARENT });
    const { faultId, faultFd } = c.faultQueueAlloc();
    const nested = c.hwptAllocNested(ids.idevId, parent, 7, U.IOMMU_HWPT_FAULT_ID_VALID, faultId);
    expect(c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, ids.stdevId, { 'mock_domain_replace.pt_id': nested }).rc).toBe(0);
    expect(machine.audit()).toBe(0);
    const ctx = iommufdContexts(machine)[0];
    const get = (id: number) => ctx.objects.live().find((e) => e.id === id)!.obj as unknown as Record<string, unknown>;
    const p = get(parent);
    p.nestParent = false;
    const dirty = p.domain as { dirtyTrack: boolean };
    dirty.dirtyTrack = true;
    const n = get(nested);
    const dev = [...(n.devices as Set<{ iopfEnabled: number }>)][0];
    dev.iopfEnabled = 0;
    (get(faultId) as { file: unknown }).file = undefined;
    expect(machine.audit()).toBeGreaterThan(0);
    const seen = new Set(machine.warnings.map((w) => w.assertion));
    for (const a of ['audit.nested_parent', 'audit.dirty_tracking', 'audit.iopf_enabled', 'audit.fault_users']) expect(seen).toContain(a);
    p.nestParent = true;
    dirty.dirtyTrack = false;
    dev.iopfEnabled = 1;
    s.proc.close(faultFd);
  });
});

describe('machine.audit() and mlock', () => {
  it("an mm's locked_vm is iommufd's charge plus its locked VMAs: MAP_LOCKED memory is not a finding, a stray count is", () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(p);
    c.ioasAlloc();
    const va = p.mmap(0n, 16384n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED);
    expect(va > 0n).toBe(true);
    expect(p.mm.lockedVm).toBe(4);
    expect(m.audit()).toBe(0);
    expect(p.munmap(va, 4096n)).toBe(0);
    expect(p.mm.lockedVm).toBe(3);
    expect(m.audit()).toBe(0);
    p.mm.lockedVm += 1;
    expect(m.audit()).toBe(1);
    expect(m.warnings.at(-1)?.assertion).toBe('audit.mm_locked_vm');
    p.mm.lockedVm -= 1;
    c.close();
    p.exit();
  });
});
