// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultRouter } from '../../src/base/fault.js';
import { WarnSink } from '../../src/base/warn.js';
import { IOMMU_READ, type MemAccounting, MOCK_APERTURE_START, MockDomain, XA_NODE_SIZE } from '../../src/iommu/index.js';

const IO = 2048;
/** 384 entries straddling a 1 MiB chunk boundary and several 64-entry leaves. */
const WIN_START = MOCK_APERTURE_START + 0x100000 - 128 * IO;
const WIN_ENTRIES = 384;

type Op = { kind: 'map'; at: number; len: number; pfn: number } | { kind: 'unmap'; pick: number; span: number } | { kind: 'read'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('map' as const), at: fc.nat({ max: WIN_ENTRIES - 1 }), len: fc.integer({ min: 1, max: 40 }), pfn: fc.nat({ max: 2 ** 30 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('unmap' as const), pick: fc.nat(), span: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), pick: fc.nat() }) },
);

class Memcg implements MemAccounting {
  usage = 0;
  charge(b: number): boolean {
    this.usage += b;
    return true;
  }
  uncharge(b: number): void {
    this.usage -= b;
  }
}

function run(ops: Op[], huge: boolean): number {
  const warn = new WarnSink({ panicOnWarn: true });
  const d = new MockDomain({ warn, faults: new FaultRouter() }, { huge, warnUnmapMissing: !huge, accountNodes: true });
  const cg = new Memcg();
  /** entry index in window -> paddr */
  const model = new Map<number, number>();
  /** live maps: start entry -> length in entries */
  const maps = new Map<number, number>();
  const out = new Uint32Array(WIN_ENTRIES);
  let done = 0;
  for (const op of ops) {
    if (op.kind === 'map') {
      const len = Math.min(op.len, WIN_ENTRIES - op.at);
      let free = true;
      for (let i = op.at; i < op.at + len && free; i++) if (model.has(i)) free = false;
      if (!free) continue;
      const paddr = op.pfn * IO;
      expect(d.map(WIN_START + op.at * IO, paddr, len * IO, IOMMU_READ, cg)).toBe(0);
      for (let i = 0; i < len; i++) model.set(op.at + i, paddr + i * IO);
      maps.set(op.at, len);
    } else if (op.kind === 'unmap') {
      if (maps.size === 0) continue;
      const starts = [...maps.keys()].sort((a, b) => a - b);
      // a run of up to `span` adjacent whole maps
      let s = starts[op.pick % starts.length];
      const first = s;
      let end = s + maps.get(s)!;
      maps.delete(s);
      for (let k = 1; k < op.span && maps.has(end); k++) {
        s = end;
        end = s + maps.get(s)!;
        maps.delete(s);
      }
      expect(d.unmap(WIN_START + first * IO, (end - first) * IO)).toBe((end - first) * IO);
      for (let i = first; i < end; i++) model.delete(i);
    } else {
      if (maps.size === 0) continue;
      const starts = [...maps.keys()];
      const s = starts[op.pick % starts.length];
      const len = maps.get(s)!;
      // read the map back CPU-page-wise with the page offset of its first entry
      const pageOff = (WIN_START + s * IO) % 4096;
      const base = WIN_START + s * IO - pageOff;
      const pages = Math.ceil((len * IO + pageOff) / 4096);
      if (pages * 4096 - pageOff > len * IO) continue; // last page not fully in this map
      expect(d.readPfns(WIN_START + s * IO, base, pages, out, 0)).toBe(pages);
      for (let k = 0; k < pages; k++) {
        const iova = k === 0 ? WIN_START + s * IO : base + k * 4096;
        const want = Math.floor(model.get((iova - WIN_START) / IO)! / 4096);
        if (out[k] !== want) expect({ page: k, pfn: out[k] }).toEqual({ page: k, pfn: want });
      }
    }
    done++;
    for (let i = 0; i < WIN_ENTRIES; i++) {
      const want = model.get(i);
      const ok = want === undefined ? d.entryAt(WIN_START + i * IO) === undefined : d.iovaToPhys(WIN_START + i * IO) === want;
      if (!ok) expect({ entry: i, got: d.entryAt(WIN_START + i * IO) }).toEqual({ entry: i, want });
    }
    if (d.mappedBytes() !== model.size * IO) expect(d.mappedBytes()).toBe(model.size * IO);
    if (cg.usage !== d.countNodes() * XA_NODE_SIZE) expect(cg.usage).toBe(d.countNodes() * XA_NODE_SIZE);
  }
  for (const [s, len] of maps) d.unmap(WIN_START + s * IO, len * IO);
  expect(d.countEntries()).toBe(0);
  expect(cg.usage).toBe(0);
  d.free();
  expect(warn.warnings).toEqual([]);
  return done;
}

describe('mock domain against a Map model', () => {
  for (const huge of [false, true]) {
    it(`legal map/unmap sequences never WARN and read back the model${huge ? ' (huge variant)' : ''}`, () => {
      let total = 0;
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 100, maxLength: 300 }), (ops) => {
          total += run(ops, huge);
        }),
        { seed: huge ? 0x4ee : 0x5eed, numRuns: 25 },
      );
      expect(total).toBeGreaterThanOrEqual(2000);
    });
  }
});
