// SPDX-License-Identifier: GPL-2.0-only
/**
 * Programs for the model-based tests of the IO page table core. fast-check generates
 * programs mixing map, unmap, copy, domain add/remove, access pin/unpin/rw and
 * VFIO-v1 splits over small buffers; after every step the whole-state audit
 * must hold and every domain's IOVA→PFN must equal a page-at-a-time reference
 * (the PFN in the user's page table of the VA each IOVA was mapped from).
 * After teardown nothing may stay pinned or charged.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../../src/iommu/domain.js';
import type { IommufdAccess } from '../../src/iommufd/access.js';
import { IOPT_ALLOC_IOVA, type IoPagetable } from '../../src/iommufd/io-pagetable.js';
import { IOMMUFD_ACCESS_RW_SLOW_PATH, IOMMUFD_ACCESS_RW_WRITE } from '../../src/iommufd/pages.js';
import { coreFixture } from './fixture.js';

const PS = 4096;
const BUF_PAGES = 48;
const WINDOW = 0x1000000n; // inside the mock aperture

export type Op =
  | { op: 'map'; ioas: number; page: number; npages: number; slot: number; auto: boolean; ro: boolean }
  | { op: 'unmap'; ioas: number; pick: number; extra: number; cut: number }
  | { op: 'copy'; from: number; pick: number; slot: number }
  | { op: 'addDomain'; ioas: number; huge: boolean }
  | { op: 'removeDomain'; ioas: number; pick: number }
  | { op: 'pin'; ioas: number; pick: number; first: number; npages: number }
  | { op: 'unpin'; ioas: number; pick: number }
  | { op: 'rw'; ioas: number; pick: number; off: number; len: number; write: boolean; slow: boolean }
  | { op: 'split'; pick: number; at: number };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('map' as const), ioas: fc.nat(1), page: fc.nat(BUF_PAGES - 1), npages: fc.integer({ min: 1, max: 8 }), slot: fc.nat(15), auto: fc.boolean(), ro: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('unmap' as const), ioas: fc.nat(1), pick: fc.nat(), extra: fc.nat(40), cut: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), from: fc.nat(1), pick: fc.nat(), slot: fc.nat(15) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('addDomain' as const), ioas: fc.nat(1), huge: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('removeDomain' as const), ioas: fc.nat(1), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pin' as const), ioas: fc.nat(1), pick: fc.nat(), first: fc.nat(7), npages: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unpin' as const), ioas: fc.nat(1), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rw' as const), ioas: fc.nat(1), pick: fc.nat(), off: fc.nat(3 * PS), len: fc.integer({ min: 1, max: 2 * PS }), write: fc.boolean(), slow: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('split' as const), pick: fc.nat(), at: fc.nat(7) }) },
);

export interface Variant {
  name: string;
  thp: boolean;
  batchLimit?: number;
  profile?: 'latest' | 'v6.5' | 'v6.2';
  runs: number;
  seed: number;
}

/** Reference: every area maps IOVA page k to the user VA it came from. */
interface RefArea {
  iova: bigint;
  length: bigint;
  va: bigint;
}

/** How often each operation succeeded, so the test can prove it reached the paths it claims to. */
export type Stats = Record<Op['op'] | 'unmapPartial' | 'pinShared', number>;
export const newStats = (): Stats => ({ map: 0, unmap: 0, unmapPartial: 0, copy: 0, addDomain: 0, removeDomain: 0, pin: 0, pinShared: 0, unpin: 0, rw: 0, split: 0 });

/** Arm fail_nth = nth just before step `step`; `reached` tells whether the armed point fired. */
export interface ArmAt {
  step: number;
  nth: number;
  reached?: boolean;
}

export function runProgram(v: Variant, ops: Op[], stats: Stats, arm?: ArmAt): void {
  const f = coreFixture({ seed: v.seed, profile: v.profile });
  if (v.batchLimit) f.env.tempMemoryLimit = v.batchLimit;
  const buf = f.buffer(v.thp ? 2 * 1024 * 1024 : BUF_PAGES * PS, { thp: v.thp });
  // THP: the buffer really is one 2 MiB folio, so areas map as long PFN runs
  if (v.thp) expect(f.pfnOf(buf + BigInt((BUF_PAGES - 1) * PS))).toBe(f.pfnOf(buf) + BUF_PAGES - 1);
  const iopts: IoPagetable[] = [f.newIopt(), f.newIopt()];
  // IOAS 1 is a VFIO type1 v1 container: large pages disabled, so splits are legal.
  expect(iopts[1].disableLargePagesOp()).toBe(0);
  const refs: RefArea[][] = [[], []];
  const accesses: (IommufdAccess & { pins: { iova: bigint; length: bigint }[] })[] = [f.access(), f.access()];
  for (const [i, a] of accesses.entries()) expect(a.attach(iopts[i])).toBe(0);
  const domains = [[], []] as ReturnType<typeof f.mockDomain>[][];
  const RW = IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE;

  const areaOf = (ioas: number, pick: number) => {
    const areas = iopts[ioas].areas();
    return areas.length ? areas[pick % areas.length] : undefined;
  };
  const refFor = (ioas: number, iova: bigint) => refs[ioas].find((r) => r.iova <= iova && iova < r.iova + r.length);
  const dropRef = (ioas: number, iova: bigint, last: bigint) => {
    refs[ioas] = refs[ioas].filter((r) => r.iova + r.length - 1n < iova || r.iova > last);
  };

  const check = () => {
    expect(f.audit()).toBe(0);
    for (let i = 0; i < 2; i++) {
      // areas and reference agree
      const areas = iopts[i].areas();
      expect(areas.length).toBe(refs[i].length);
      for (const r of refs[i]) {
        for (let off = 0n; off < r.length; off += BigInt(PS)) {
          const va = r.va + off;
          const pfn = f.pfnOf(va & ~BigInt(PS - 1));
          for (const d of domains[i]) {
            expect(d.iovaToPhys(Number(r.iova + off))).toBe(pfn * PS + Number(va % BigInt(PS)));
          }
        }
      }
    }
  };

  const failNth = f.proc.task.failNth;
  for (const [step, o] of ops.entries()) {
    const armed = arm !== undefined && arm.step === step;
    if (armed) failNth.arm(arm.nth);
    switch (o.op) {
      case 'map': {
        const npages = Math.min(o.npages, BUF_PAGES - o.page);
        const va = buf + BigInt(o.page * PS);
        const len = BigInt(npages * PS);
        const iova = { value: WINDOW + BigInt(o.slot) * BigInt(PS) * 8n };
        const prot = o.ro ? IOMMU_READ | IOMMU_CACHE : RW;
        const rc = iopts[o.ioas].mapUserPages(false, iova, va, len, prot, o.auto ? IOPT_ALLOC_IOVA : 0);
        if (rc === 0) {
          refs[o.ioas].push({ iova: iova.value, length: len, va });
          stats.map++;
        }
        break;
      }
      case 'unmap': {
        const a = areaOf(o.ioas, o.pick);
        if (!a) break;
        const start = a.iova;
        let last = a.lastIova + BigInt(PS) * BigInt(o.extra);
        if (o.cut > 0) {
          // end one page into a later area: a straddling unmap with partial progress
          const later = iopts[o.ioas].areas().filter((x) => x.iova > a.iova);
          if (later.length) last = later[(o.cut - 1) % later.length].iova + BigInt(PS) - 1n;
        }
        const u = { value: 0n };
        const urc = iopts[o.ioas].unmapIova(start, last - start + 1n, u);
        if (urc === 0) stats.unmap++;
        else if (u.value > 0n) stats.unmapPartial++;
        // whatever was fully inside and unmapped is gone from the reference
        const remaining = new Set(iopts[o.ioas].areas().map((x) => x.iova));
        refs[o.ioas] = refs[o.ioas].filter((r) => remaining.has(r.iova) || r.iova < start || r.iova > last);
        for (const acc of accesses) expect(acc.pins.every((p) => iopts.some((t) => t.areaIterFirst(p.iova, p.iova)))).toBe(true);
        break;
      }
      case 'copy': {
        const a = areaOf(o.from, o.pick);
        if (!a) break;
        const to = 1 - o.from;
        const list: Parameters<IoPagetable['getPages']>[2] = [];
        if (iopts[o.from].getPages(a.iova, a.length, list) !== 0) break;
        const iova = { value: WINDOW + BigInt(o.slot) * BigInt(PS) * 8n };
        const rc = iopts[to].mapPages(list, a.length, iova, a.iommuProt, 0);
        iopts[to].freePagesList(list);
        if (rc === 0) stats.copy++;
        if (rc === 0) refs[to].push({ iova: iova.value, length: a.length, va: refFor(o.from, a.iova)!.va + (a.iova - refFor(o.from, a.iova)!.iova) });
        break;
      }
      case 'addDomain': {
        if (domains[o.ioas].length >= 3) break;
        const d = f.mockDomain(o.huge);
        if (iopts[o.ioas].addDomain(d) === 0) {
          domains[o.ioas].push(d);
          stats.addDomain++;
        }
        break;
      }
      case 'removeDomain': {
        if (!domains[o.ioas].length) break;
        const d = domains[o.ioas].splice(o.pick % domains[o.ioas].length, 1)[0];
        iopts[o.ioas].removeDomain(d);
        expect(d.mappedBytes()).toBe(0);
        d.free();
        stats.removeDomain++;
        break;
      }
      case 'pin': {
        const a = areaOf(o.ioas, o.pick);
        if (!a) break;
        const pages = Number(a.length / BigInt(PS));
        const first = o.first % pages;
        const n = Math.min(o.npages, pages - first);
        const iova = a.iova + BigInt(first * PS);
        const out = new Uint32Array(n);
        const rc = accesses[o.ioas].pinPages(iova, BigInt(n * PS), out, 0);
        if (rc === 0) {
          stats.pin++;
          if (a.pages!.npinned > 0 && a.storageDomain) stats.pinShared++;
          const r = refFor(o.ioas, iova)!;
          for (let k = 0; k < n; k++) expect(out[k]).toBe(f.pfnOf(r.va + (iova - r.iova) + BigInt(k * PS)));
        }
        break;
      }
      case 'unpin': {
        const pins = accesses[o.ioas].pins;
        if (!pins.length) break;
        const p = pins.splice(o.pick % pins.length, 1)[0];
        accesses[o.ioas].unpinPages(p.iova, p.length);
        stats.unpin++;
        break;
      }
      case 'rw': {
        const a = areaOf(o.ioas, o.pick);
        if (!a) break;
        const off = BigInt(o.off) % a.length;
        const len = Math.min(o.len, Number(a.length - off));
        const iova = a.iova + off;
        const r = refFor(o.ioas, iova)!;
        const va = r.va + (iova - r.iova);
        const data = new Uint8Array(len);
        const flags = (o.write ? IOMMUFD_ACCESS_RW_WRITE : 0) | (o.slow ? IOMMUFD_ACCESS_RW_SLOW_PATH : 0);
        if (o.write) for (let k = 0; k < len; k++) data[k] = (k * 7 + len) & 0xff;
        const rc = accesses[o.ioas].rw(iova, data, flags);
        const writable = (a.iommuProt & IOMMU_WRITE) !== 0 && a.pages!.writable;
        if (o.write && !writable) {
          expect(rc).toBe(-1);
          break;
        }
        if (armed && rc !== 0) break; // an injected failure: nothing to compare
        expect(rc).toBe(0);
        stats.rw++;
        const mem = new Uint8Array(len);
        expect(f.proc.readMemory(va, mem)).toBe(0);
        if (o.write) expect(mem).toEqual(data);
        else expect(data).toEqual(mem);
        break;
      }
      case 'split': {
        const a = areaOf(1, o.pick);
        if (!a) break;
        const pages = Number(a.length / BigInt(PS));
        if (pages < 2) break;
        const at = a.iova + BigInt(((o.at % (pages - 1)) + 1) * PS) - 1n;
        const r = refFor(1, a.iova)!;
        if (iopts[1].cutIova([at]) === 0) {
          stats.split++;
          dropRef(1, r.iova, r.iova);
          refs[1].push({ iova: r.iova, length: at - r.iova + 1n, va: r.va }, { iova: at + 1n, length: r.iova + r.length - at - 1n, va: r.va + (at + 1n - r.iova) });
        }
        break;
      }
    }
    if (armed) {
      arm.reached = failNth.read() === 0;
      failNth.arm(0);
    }
    check();
  }
  // Teardown: nothing pinned, nothing charged.
  for (let i = 0; i < 2; i++) {
    const u = { value: 0n };
    expect(iopts[i].unmapAll(u)).toBe(0);
    for (const d of domains[i]) {
      iopts[i].removeDomain(d);
      d.free();
    }
    accesses[i].destroy();
    iopts[i].destroy();
  }
  expect(f.proc.task.user.lockedVm).toBe(0);
  expect(f.proc.mm.pinnedVm).toBe(0);
  for (let p = 0; p < BUF_PAGES; p++) expect(f.pincount(f.pfnOf(buf + BigInt(p * PS)))).toBe(0);
}

