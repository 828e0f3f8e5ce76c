// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IntervalKey, IntervalNode, IntervalTree } from '../../src/base/interval-tree.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

interface Rec<K extends IntervalKey> {
  seq: number;
  node: IntervalNode<K, number>;
}

/** One random operation on a small abstract key space 0..999 (mapped monotonically to keys). */
type Op =
  | { kind: 'insert'; a: number; len: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'query'; a: number; len: number }
  | { kind: 'walk' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), a: fc.nat(999), len: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('query' as const), a: fc.nat(999), len: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('walk' as const) }) },
);

function cmpKey<K extends IntervalKey>(a: K, b: K): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Run ops against the tree and a brute-force array model; returns the number of ops run. */
function runOps<K extends IntervalKey>(ops: Op[], key: (x: number) => K, one: K): number {
  const tree = new IntervalTree<K, number>(one);
  let model: Rec<K>[] = [];
  let seq = 0;
  const inOrder = () =>
    [...model].sort((x, y) => cmpKey(x.node.start, y.node.start) || x.seq - y.seq).map((r) => r.node);
  for (const op of ops) {
    switch (op.kind) {
      case 'insert': {
        const node = new IntervalNode<K, number>(key(op.a), key(Math.min(999, op.a + op.len)), seq);
        expect(node.inTree).toBe(false);
        tree.insert(node);
        expect(node.inTree).toBe(true);
        model.push({ seq: seq++, node });
        break;
      }
      case 'remove': {
        if (model.length === 0) break;
        const r = model[op.pick % model.length]!;
        tree.remove(r.node);
        expect(r.node.inTree).toBe(false);
        model = model.filter((x) => x !== r);
        break;
      }
      case 'query': {
        const s = key(op.a);
        const l = key(Math.min(999, op.a + op.len));
        const got: IntervalNode<K, number>[] = [];
        for (let n = tree.iterFirst(s, l); n !== undefined; n = tree.iterNext(n, s, l)) got.push(n);
        const want = inOrder().filter((n) => n.start <= l && s <= n.last);
        expect(got).toEqual(want);
        break;
      }
      case 'walk': {
        expect([...tree]).toEqual(inOrder());
        const w: IntervalNode<K, number>[] = [];
        for (let n = tree.first(); n !== undefined; n = tree.next(n)) w.push(n);
        expect(w).toEqual(inOrder());
        break;
      }
    }
    expect(tree.size).toBe(model.length);
    expect(tree.isEmpty()).toBe(model.length === 0);
    tree.validate();
  }
  expect([...tree]).toEqual(inOrder());
  return ops.length;
}

describe('IntervalTree', () => {
  it('hand cases: overlap, duplicates, point queries', () => {
    const t = new IntervalTree<number, string>(1);
    const a = new IntervalNode(10, 20, 'a');
    const b = new IntervalNode(15, 15, 'b');
    const c = new IntervalNode(10, 20, 'c');
    const d = new IntervalNode(30, 40, 'd');
    for (const n of [a, b, c, d]) t.insert(n);
    const q = (s: number, l: number) => [...t.overlapping(s, l)].map((n) => n.owner);
    expect(q(0, 9)).toEqual([]);
    expect(q(0, 10)).toEqual(['a', 'c']);
    expect(q(15, 15)).toEqual(['a', 'c', 'b']);
    expect(q(21, 29)).toEqual([]);
    expect(q(20, 30)).toEqual(['a', 'c', 'd']);
    expect(q(41, 100)).toEqual([]);
    expect(t.first()?.owner).toBe('a');
    expect(t.last()?.owner).toBe('d');
    expect(t.prev(d)?.owner).toBe('b');
    t.remove(a);
    expect(q(0, 100)).toEqual(['c', 'b', 'd']);
    expect(() => t.remove(a)).toThrow();
    expect(() => t.insert(c)).toThrow();
    expect(t.size).toBe(3);
  });

  it('checks key types when given a unit', () => {
    const t = new IntervalTree<bigint>(1n);
    expect(() => t.insert(new IntervalNode(1 as unknown as bigint, 2n, undefined))).toThrow(TypeError);
  });

  it('stays balanced on sorted inserts and removes (height O(log n))', () => {
    const t = new IntervalTree<number, number>(1);
    const nodes: IntervalNode<number, number>[] = [];
    for (let i = 0; i < 4096; i++) {
      const n = new IntervalNode(i, i + 3, i);
      nodes.push(n);
      t.insert(n);
    }
    t.validate();
    // AVL height bound: 1.44 log2(n+2)
    const root = nodes.find((n) => n._parent === null)!;
    expect(root._height).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(4098)));
    expect(root._subtreeLast).toBe(4095 + 3);
    for (let i = 0; i < 4096; i += 2) t.remove(nodes[i]!);
    t.validate();
    expect(t.size).toBe(2048);
    expect([...t.overlapping(100, 104)].map((n) => n.owner)).toEqual([97, 99, 101, 103]);
  });

  it('number keys vs brute-force model', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        total += runOps(ops, (x) => x, 1);
      }),
      { seed: 42, numRuns: 60 },
    );
    expect(total).toBeGreaterThan(3000);
  });

  it('widely varying lengths with heavy removal vs model (successor-removal retrace)', () => {
    let total = 0;
    const wideOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), a: fc.nat(999), len: fc.oneof(fc.nat(5), fc.nat(999)) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('query' as const), a: fc.nat(999), len: fc.nat(50) }) },
    );
    fc.assert(
      fc.property(fc.array(wideOp, { minLength: 100, maxLength: 300, size: 'max' }), (ops) => {
        total += runOps(ops, (x) => x, 1);
      }),
      { seed: 2024, numRuns: 30 },
    );
    expect(total).toBeGreaterThan(3000);
  });

  it('small dense number keys (many duplicates) vs model', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        total += runOps(ops, (x) => x % 37, 1);
      }),
      { seed: 7, numRuns: 30 },
    );
    expect(total).toBeGreaterThan(1500);
  });

  it('bigint keys near 2^64-1 vs brute-force model', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        total += runOps(ops, (x) => U64_MAX - 999n + BigInt(x), 1n);
      }),
      { seed: 4242, numRuns: 60 },
    );
    expect(total).toBeGreaterThan(3000);
  });

  it('bigint keys spread over the whole u64 range vs model', () => {
    let total = 0;
    const scale = U64_MAX / 999n;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        total += runOps(ops, (x) => (x === 999 ? U64_MAX : BigInt(x) * scale), 1n);
      }),
      { seed: 99, numRuns: 40 },
    );
    expect(total).toBeGreaterThan(2000);
  });
});
