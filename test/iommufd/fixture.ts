// SPDX-License-Identifier: GPL-2.0-only
// Shared setup for core tests: a machine, one process, an IommufdEnv and helpers.
import type { Profile } from '../../src/base/profile.js';
import { createMockDomain } from '../../src/iommu/mock-domain.js';
import { IommufdAccess } from '../../src/iommufd/access.js';
import { auditIopts } from '../../src/iommufd/audit.js';
import { type IommufdEnv, TEMP_MEMORY_LIMIT } from '../../src/iommufd/env.js';
import { IoPagetable } from '../../src/iommufd/io-pagetable.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MADV_HUGEPAGE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

export interface CoreFixtureOptions {
  profile?: 'latest' | 'v6.5' | 'v6.2';
  /** Replace profile switches (to isolate one kernel bug). */
  profileOverride?: Partial<Profile>;
  memory?: string;
  layout?: 'scattered' | 'linear';
  caps?: string[];
  memlock?: bigint;
  seed?: number;
}

export function coreFixture(o: CoreFixtureOptions = {}) {
  const machine = new Machine({
    memory: o.memory ?? '256M',
    profile: o.profile ?? 'latest',
    panicOnWarn: true,
    checks: true,
    seed: o.seed ?? 1,
    physLayout: o.layout ?? 'scattered',
  });
  const proc = machine.spawn({ memlock: o.memlock ?? (1n << 64n) - 1n, caps: o.caps ?? [] });
  machine.faults.current = proc.task.failNth;
  const profile = o.profileOverride ? { ...machine.profile, ...o.profileOverride } : machine.profile;
  const env: IommufdEnv = {
    warn: machine.warn,
    faults: machine.faults,
    profile,
    phys: machine.phys,
    tempMemoryLimit: TEMP_MEMORY_LIMIT,
    current: () => proc.task,
  };
  const domainCtx = { warn: machine.warn, faults: machine.faults };
  const iopts: IoPagetable[] = [];
  const f = {
    machine,
    proc,
    env,
    newIopt(): IoPagetable {
      const t = new IoPagetable(env);
      iopts.push(t);
      return t;
    },
    mockDomain(huge = false) {
      return createMockDomain(domainCtx, { huge, warnUnmapMissing: profile.mockWarnsMissingEntries, warnIovaToPhysMissing: profile.mockWarnsMissingEntries });
    },
    /** mmap anonymous memory, optionally THP, and touch every page (write fault). */
    buffer(bytes: number, opts: { thp?: boolean; touch?: boolean; align?: number } = {}): bigint {
      const align = opts.align ?? (opts.thp ? 2 * 1024 * 1024 : 4096);
      const raw = proc.mmap(0n, BigInt(bytes + align), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (raw < 0n) throw new Error(`mmap failed ${raw}`);
      const va = (raw + BigInt(align) - 1n) & ~(BigInt(align) - 1n);
      if (opts.thp) proc.madvise(va, BigInt(bytes), MADV_HUGEPAGE);
      if (opts.touch !== false) {
        const one = new Uint8Array([0xa5]);
        for (let off = 0; off < bytes; off += 4096) proc.writeMemory(va + BigInt(off), one);
      }
      return va;
    },
    /** An access whose unmap callback drops every pin it holds in the range, like the selftest mock access. */
    access(needsPinPages = true) {
      const pins: { iova: bigint; length: bigint }[] = [];
      const a = new IommufdAccess(env, {
        needsPinPages,
        unmap: (acc, iova, length) => {
          const last = iova + length - 1n;
          for (let k = pins.length - 1; k >= 0; k--) {
            const p = pins[k];
            if (p.iova <= last && p.iova + p.length - 1n >= iova) {
              acc.unpinPages(p.iova, p.length);
              pins.splice(k, 1);
            }
          }
        },
      });
      // record every successful pin so the unmap callback can give it back
      const pin = a.pinPages.bind(a);
      a.pinPages = (iova, length, out, flags) => {
        const rc = pin(iova, length, out, flags);
        if (rc === 0) pins.push({ iova, length });
        return rc;
      };
      return Object.assign(a, { pins });
    },
    audit(exactPins = true): number {
      return auditIopts(env, iopts, { exactPins });
    },
    pincount(pfn: number): number {
      return machine.phys.pincount(pfn);
    },
    pfnOf(va: bigint): number {
      return proc.mm.lookupPfn(va);
    },
  };
  return f;
}
