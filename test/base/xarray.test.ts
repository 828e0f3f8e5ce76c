// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EBUSY, ENOMEM } from '../../src/base/errno.js';
import { FailNth, FaultRouter } from '../../src/base/fault.js';
import { XArray, XArrayAlloc, xaNodesNeeded } from '../../src/base/xarray.js';

type XOp =
  | { kind: 'store'; index: number; value: number }
  | { kind: 'erase'; index: number }
  | { kind: 'load'; index: number }
  | { kind: 'range'; first: number; len: number }
  | { kind: 'first'; first: number; len: number };

/** Indexes cluster in a few regions so leaves fill, empty and get freed. */
const indexArb = fc.oneof(
  { weight: 5, arbitrary: fc.nat(300) },
  { weight: 2, arbitrary: fc.integer({ min: 4000, max: 4400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 30 - 100, max: 2 ** 30 + 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 52 - 200, max: 2 ** 52 }) },
);

const xopArb: fc.Arbitrary<XOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('store' as const), index: indexArb, value: fc.nat(2 ** 40) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('erase' as const), index: indexArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('load' as const), index: indexArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('range' as const), first: indexArb, len: fc.oneof(fc.nat(200), fc.constant(2 ** 53)) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('first' as const), first: indexArb, len: fc.oneof(fc.nat(200), fc.constant(2 ** 53)) }),
  },
);

describe('XArray', () => {
  it('basic store/load/erase', () => {
    const xa = new XArray();
    expect(xa.isEmpty()).toBe(true);
    expect(xa.load(5)).toBe(-1);
    expect(xa.store(5, 0)).toBe(0);
    expect(xa.store(2 ** 52, 77)).toBe(0);
    expect(xa.load(5)).toBe(0);
    expect(xa.load(2 ** 52)).toBe(77);
    expect(xa.load(6)).toBe(-1);
    expect(xa.count()).toBe(2);
    expect(xa.firstPresent(6, 2 ** 53)).toBe(2 ** 52);
    expect(xa.lastPresent(2 ** 53)).toBe(2 ** 52);
    expect(xa.lastPresent(2 ** 52 - 1)).toBe(5);
    expect(xa.erase(5)).toBe(0);
    expect(xa.erase(5)).toBe(-1);
    expect(xa.count()).toBe(1);
    expect(xa.erase(2 ** 52)).toBe(77);
    expect(xa.isEmpty()).toBe(true);
    expect(xa.heapBytes()).toBe(0);
    expect(xa.nodeCounts()).toEqual({ leaves: 0, nodes: 0, height: 0 });
    expect(() => xa.store(1, -1)).toThrow(RangeError);
    expect(() => xa.store(1, 1.5)).toThrow(RangeError);
    expect(() => xa.store(-1, 1)).toThrow(RangeError);
    expect(xa.load(-1)).toBe(-1);
    expect(xa.load(1.5)).toBe(-1);
  });

  it('walks stop early and tolerate erasing the current entry', () => {
    const xa = new XArray();
    for (let i = 0; i < 300; i += 3) xa.store(i, i * 10);
    const seen: number[] = [];
    xa.forEachInRange(10, 40, (i, v) => {
      expect(v).toBe(i * 10);
      seen.push(i);
      return i < 20;
    });
    expect(seen).toEqual([12, 15, 18, 21]);
    const erased: number[] = [];
    xa.forEachInRange(0, 1000, (i) => {
      expect(xa.erase(i)).toBe(i * 10);
      erased.push(i);
      return true;
    });
    expect(erased.length).toBe(100);
    expect(xa.isEmpty()).toBe(true);
    expect(xa.nodeCounts().leaves).toBe(0);
  });

  it('matches a Map model over random operations', () => {
    let ops = 0;
    fc.assert(
      fc.property(fc.array(xopArb, { minLength: 50, maxLength: 300, size: 'max' }), (prog) => {
        const xa = new XArray();
        const m = new Map<number, number>();
        for (const op of prog) {
          switch (op.kind) {
            case 'store':
              expect(xa.store(op.index, op.value)).toBe(0);
              m.set(op.index, op.value);
              break;
            case 'erase':
              expect(xa.erase(op.index)).toBe(m.get(op.index) ?? -1);
              m.delete(op.index);
              break;
            case 'load':
              expect(xa.load(op.index)).toBe(m.get(op.index) ?? -1);
              break;
            case 'range': {
              const last = op.first + op.len;
              const got: Array<[number, number]> = [];
              xa.forEachInRange(op.first, last, (i, v) => {
                got.push([i, v]);
                return undefined;
              });
              const want = [...m].filter(([i]) => i >= op.first && i <= last).sort((a, b) => a[0] - b[0]);
              expect(got).toEqual(want);
              break;
            }
            case 'first': {
              const last = op.first + op.len;
              const keys = [...m.keys()].filter((i) => i >= op.first && i <= last);
              expect(xa.firstPresent(op.first, last)).toBe(keys.length ? Math.min(...keys) : -1);
              expect(xa.lastPresent(last, op.first)).toBe(keys.length ? Math.max(...keys) : -1);
              break;
            }
          }
          expect(xa.count()).toBe(m.size);
          ops++;
        }
        // Leaves are freed when empty: leaf count equals the number of distinct 64-chunks used.
        const chunks = new Set([...m.keys()].map((i) => Math.floor(i / 64)));
        expect(xa.nodeCounts().leaves).toBe(chunks.size);
        for (const i of [...m.keys()]) xa.erase(i);
        expect(xa.isEmpty()).toBe(true);
        expect(xa.heapBytes()).toBe(0);
      }),
      { seed: 42, numRuns: 80 },
    );
    expect(ops).toBeGreaterThan(10000);
  });

  it('passes xa_node_alloc once per node the kernel would make, and the store never fails at it', () => {
    const faults = new FaultRouter();
    const task = new FailNth();
    faults.current = task;
    const xa = new XArray({ faults });
    const passes = (index: number): number => {
      const before = task.passed;
      expect(xa.store(index, index + 1)).toBe(0);
      return task.passed - before;
    };
    // An empty array keeps index 0 in its head; a second index inside the first 64 makes one node.
    expect(passes(0)).toBe(0);
    expect(xa.kernelNodesFor(5)).toBe(1);
    expect(passes(5)).toBe(1);
    expect(passes(6)).toBe(0);
    // Past the tree: one node on the path's new level and one more for the old tree (block 0).
    expect(xa.kernelNodesFor(64)).toBe(2);
    // Two levels up: the tree grows by two levels (2 nodes), the path below them takes 2 more.
    expect(xa.kernelNodesFor(4096)).toBe(4);
    expect(xaNodesNeeded([0, 5, 6], 4096, false)).toBe(4);
    expect(passes(4096)).toBe(4);
    // Within the tree: only the missing leaf.
    expect(xa.kernelNodesFor(4096 + 64)).toBe(1);
    expect(passes(4096 + 64)).toBe(1);

    // Armed, the point fires (fail-nth reads 0) and the store is made all the same.
    task.arm(1);
    expect(xa.store(8192, 7)).toBe(0);
    expect(task.read()).toBe(0);
    expect(task.lastFailed?.name).toBe('xa_node_alloc');
    expect(task.lastFailed?.cls).toBe('atomic');
    expect(xa.load(8192)).toBe(7);

    // Erased back to index 0 alone, the kernel's tree shrinks into the head again.
    for (const i of [5, 6, 4096, 4096 + 64, 8192]) xa.erase(i);
    expect(xa.count()).toBe(1);
    expect(xa.kernelNodesFor(100)).toBe(3);
    expect(xaNodesNeeded([0], 100, false)).toBe(3);
    // Emptied: a first index of 70 makes a root and a leaf.
    xa.erase(0);
    expect(xa.kernelNodesFor(70)).toBe(2);
    expect(passes(70)).toBe(2);
  });

  it('kernelNodesFor agrees with xaNodesNeeded over random index sets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300000 }), { maxLength: 12 }), fc.integer({ min: 0, max: 300000 }), (keys, at) => {
        const xa = new XArray();
        for (const k of keys) xa.store(k, 1);
        fc.pre(!keys.includes(at));
        expect(xa.kernelNodesFor(at)).toBe(xaNodesNeeded(keys, at, false));
      }),
      { seed: 7, numRuns: 400 },
    );
  });

  it('clear drops everything', () => {
    const xa = new XArray();
    for (let i = 0; i < 1000; i++) xa.store(i * 7, i);
    expect(xa.heapBytes()).toBeGreaterThan(0);
    xa.clear();
    expect(xa.count()).toBe(0);
    expect(xa.load(7)).toBe(-1);
    expect(xa.firstPresent(0, 1e9)).toBe(-1);
    expect(xa.heapBytes()).toBe(0);
  });
});

describe('XArrayAlloc', () => {
  it('allocates the lowest free id from min, -EBUSY when full, reuses after erase', () => {
    const xa = new XArrayAlloc<string>();
    expect(xa.alloc('a', 1, 3)).toBe(1);
    expect(xa.alloc('b', 1, 3)).toBe(2);
    expect(xa.alloc('c', 1, 3)).toBe(3);
    expect(xa.alloc('d', 1, 3)).toBe(-EBUSY);
    expect(xa.size).toBe(3);
    expect(xa.erase(2)).toBe('b');
    expect(xa.erase(2)).toBeUndefined();
    expect(xa.alloc('e', 1, 3)).toBe(2);
    expect(xa.load(2)).toBe('e');
    expect(xa.alloc('f', 1, 10)).toBe(4);
    expect(xa.alloc('g', 0, 10)).toBe(0);
    expect(xa.alloc('h', 7, 10)).toBe(7);
    expect(xa.alloc('i', 5, 4)).toBe(-EBUSY);
    expect([...xa.entries()]).toEqual([
      [0, 'g'],
      [1, 'a'],
      [2, 'e'],
      [3, 'c'],
      [4, 'f'],
      [7, 'h'],
    ]);
  });

  it('reserve / store / load (XA_ZERO_ENTRY)', () => {
    const xa = new XArrayAlloc<string>();
    const id = xa.reserve(1, 100);
    expect(id).toBe(1);
    expect(xa.load(1)).toBeUndefined();
    expect(xa.has(1)).toBe(true);
    expect([...xa.entries()]).toEqual([]);
    expect(xa.alloc('x', 1, 100)).toBe(2);
    xa.store(1, 'obj');
    expect(xa.load(1)).toBe('obj');
    xa.store(50, 'direct');
    expect(xa.alloc('y', 50, 100)).toBe(51);
    expect(xa.size).toBe(4);
  });

  it('16-bit limit fills exactly', () => {
    const xa = new XArrayAlloc<number>();
    for (let i = 0; i <= 0xffff; i++) expect(xa.alloc(i, 0, 0xffff)).toBe(i);
    expect(xa.alloc(-1, 0, 0xffff)).toBe(-EBUSY);
    expect(xa.erase(4242)).toBe(4242);
    expect(xa.erase(100)).toBe(100);
    expect(xa.alloc(0, 0, 0xffff)).toBe(100);
    expect(xa.alloc(0, 0, 0xffff)).toBe(4242);
    expect(xa.alloc(0, 0, 0xffff)).toBe(-EBUSY);
  });

  it('fault point xa_alloc: -ENOMEM only when a new node is needed, nothing changes', () => {
    const faults = new FaultRouter();
    const task = new FailNth();
    faults.current = task;
    const xa = new XArrayAlloc<string>({ faults });
    task.arm(1);
    expect(xa.alloc('a', 1, 1000)).toBe(-ENOMEM);
    expect(task.lastFailed?.name).toBe('xa_alloc');
    expect(xa.size).toBe(0);
    expect(xa.alloc('a', 1, 1000)).toBe(1);
    task.arm(1);
    expect(xa.alloc('b', 1, 1000)).toBe(2); // same 64-id node: no allocation
    expect(task.read()).toBe(1);
    task.arm(0);
    // A full range gives -EBUSY without passing the fault point.
    const passed = task.passed;
    expect(xa.alloc('c', 1, 2)).toBe(-EBUSY);
    expect(task.passed).toBe(passed);
  });

  it('matches a brute-force model', () => {
    let ops = 0;
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), min: fc.nat(20), span: fc.nat(40) }),
      fc.record({ kind: fc.constant('erase' as const), id: fc.nat(70) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 200, size: 'max' }), (prog) => {
        const xa = new XArrayAlloc<number>();
        const m = new Map<number, number>();
        let v = 0;
        for (const op of prog) {
          if (op.kind === 'alloc') {
            const max = op.min + op.span;
            let want = -EBUSY;
            for (let i = op.min; i <= max; i++) {
              if (!m.has(i)) {
                want = i;
                break;
              }
            }
            expect(xa.alloc(v, op.min, max)).toBe(want);
            if (want >= 0) m.set(want, v);
            v++;
          } else {
            expect(xa.erase(op.id)).toBe(m.get(op.id));
            m.delete(op.id);
          }
          expect(xa.size).toBe(m.size);
          ops++;
        }
        expect([...xa.entries()]).toEqual([...m].sort((a, b) => a[0] - b[0]));
      }),
      { seed: 5, numRuns: 100 },
    );
    expect(ops).toBeGreaterThan(5000);
  });
});

describe('xaNodesNeeded (the nodes a kernel xarray store makes: xas_create(), xas_expand())', () => {
  it('none for index 0 of an empty array (the head holds it), one per level for a first index past it', () => {
    expect(xaNodesNeeded([], 0, false)).toBe(0);
    expect(xaNodesNeeded([], 1, false)).toBe(1);
    expect(xaNodesNeeded([], 63, false)).toBe(1);
    // virt_id 0x55 in an empty vdevs array: a root and a leaf
    expect(xaNodesNeeded([], 0x55, false)).toBe(2);
    expect(xaNodesNeeded([], 2n ** 63n, false)).toBe(11);
  });

  it('none inside an existing leaf; a new root and a leaf past the tree\'s reach; a new leaf beside another', () => {
    // ALLOC1: a non-empty array also holds the zero entry at 0, whose leaf covers 1..63
    expect(xaNodesNeeded([1], 2, true)).toBe(0);
    expect(xaNodesNeeded([1, 2, 3], 64, true)).toBe(2);
    expect(xaNodesNeeded([1, 64], 65, true)).toBe(0);
    expect(xaNodesNeeded([1, 64], 200, true)).toBe(1);
    // a plain array with index 0 alone keeps it in the head: index 5 needs the leaf
    expect(xaNodesNeeded([0], 5, false)).toBe(1);
    // emptied again: nothing left to share
    expect(xaNodesNeeded([], 70, true)).toBe(2);
  });
});

