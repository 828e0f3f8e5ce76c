// SPDX-License-Identifier: GPL-2.0-only
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DoubleSpanIter,
  type IntervalKey,
  IntervalNode,
  IntervalTree,
  iterDoubleSpans,
  iterSpans,
  SpanIter,
} from '../../src/base/interval-tree.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const SPACE = 200;

type Triple = [number, number, number];

function buildTree(ivs: Array<[number, number]>): IntervalTree<number, null> {
  const t = new IntervalTree<number, null>(1);
  for (const [s, l] of ivs) t.insert(new IntervalNode(s, l, null));
  return t;
}

function coverage(ivs: Array<[number, number]>): boolean[] {
  const cov = new Array<boolean>(SPACE + 1).fill(false);
  for (const [s, l] of ivs) for (let i = s; i <= l && i <= SPACE; i++) cov[i] = true;
  return cov;
}

/** Maximal runs of equal class over [first, last]. */
function runs(cls: (i: number) => number, first: number, last: number): Triple[] {
  const out: Triple[] = [];
  let s = first;
  for (let i = first + 1; i <= last + 1; i++) {
    if (i > last || cls(i) !== cls(s)) {
      out.push([cls(s), s, i - 1]);
      s = i;
    }
  }
  return out;
}

/** Brute-force single span sequence: (isHole, start, last). */
function bruteSpans(cov: boolean[], first: number, last: number): Triple[] {
  return runs((i) => (cov[i] ? 0 : 1), first, last);
}

function collect(it: SpanIter<number>): Triple[] {
  const out: Triple[] = [];
  for (; !it.done(); it.next()) out.push([it.isHole, it.start, it.last]);
  return out;
}

function spans<K extends IntervalKey>(t: IntervalTree<K, unknown>, f: K, l: K): Array<[number, K, K]> {
  return [...iterSpans(t, f, l)].map((s) => [s.kind, s.start, s.last]);
}

function dspans<K extends IntervalKey>(
  t1: IntervalTree<K, unknown>,
  t2: IntervalTree<K, unknown>,
  f: K,
  l: K,
): Array<[number, K, K]> {
  return [...iterDoubleSpans(t1, t2, f, l)].map((s) => [s.kind, s.start, s.last]);
}

const ivArb = fc
  .tuple(fc.nat(SPACE), fc.nat(25))
  .map(([s, len]): [number, number] => [s, Math.min(SPACE, s + len)]);
const treeArb = fc.array(ivArb, { maxLength: 14, size: 'max' });
const rangeArb = fc
  .tuple(fc.nat(SPACE), fc.nat(SPACE))
  .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));

describe('SpanIter hand vectors', () => {
  it('empty tree is one hole', () => {
    expect(spans(buildTree([]), 0, 9)).toEqual([[1, 0, 9]]);
  });
  it('merges overlapping and adjacent nodes', () => {
    const t = buildTree([
      [0, 3],
      [4, 6],
      [9, 12],
      [10, 11],
      [11, 15],
    ]);
    expect(spans(t, 0, 20)).toEqual([
      [0, 0, 6],
      [1, 7, 8],
      [0, 9, 15],
      [1, 16, 20],
    ]);
  });
  it('clips used spans to the range and starts inside a used span', () => {
    const t = buildTree([[0, 100]]);
    expect(spans(t, 10, 20)).toEqual([[0, 10, 20]]);
    const t2 = buildTree([
      [0, 5],
      [8, 100],
    ]);
    expect(spans(t2, 3, 9)).toEqual([
      [0, 3, 5],
      [1, 6, 7],
      [0, 8, 9],
    ]);
  });
  it('leading and trailing holes', () => {
    const t = buildTree([[5, 6]]);
    expect(spans(t, 0, 9)).toEqual([
      [1, 0, 4],
      [0, 5, 6],
      [1, 7, 9],
    ]);
  });
  it('advance: inside the span, just after it, elsewhere, past the end, when done', () => {
    const t = buildTree([
      [5, 6],
      [10, 12],
    ]);
    const it = new SpanIter<number>();
    it.first(t, 0, 20);
    expect([it.isHole, it.startHole, it.lastHole]).toEqual([1, 0, 4]);
    it.advance(3);
    expect([it.isHole, it.start, it.last]).toEqual([1, 3, 4]);
    it.advance(5);
    expect([it.isHole, it.startUsed, it.lastUsed]).toEqual([0, 5, 6]);
    it.advance(11);
    expect([it.isHole, it.start, it.last]).toEqual([0, 11, 12]);
    it.advance(2);
    expect([it.isHole, it.start, it.last]).toEqual([1, 2, 4]);
    it.advance(21);
    expect(it.done()).toBe(true);
    it.advance(3);
    expect(it.done()).toBe(true);
  });
  it('bigint keys at the top of u64', () => {
    const t = new IntervalTree<bigint, null>(1n);
    t.insert(new IntervalNode(U64_MAX - 5n, U64_MAX, null));
    t.insert(new IntervalNode(U64_MAX - 20n, U64_MAX - 6n, null));
    expect(spans(t, U64_MAX - 30n, U64_MAX)).toEqual([
      [1, U64_MAX - 30n, U64_MAX - 21n],
      [0, U64_MAX - 20n, U64_MAX],
    ]);
    expect(spans(t, 0n, U64_MAX - 10n)).toEqual([
      [1, 0n, U64_MAX - 21n],
      [0, U64_MAX - 20n, U64_MAX - 10n],
    ]);
  });
  it('advance backwards to 0 from a span ending at ULONG_MAX ends iteration (u64 wrap)', () => {
    const t = new IntervalTree<bigint, null>(1n);
    t.insert(new IntervalNode(0n, 9n, null));
    const it = new SpanIter<bigint>();
    it.first(t, 0n, U64_MAX);
    it.next();
    expect([it.isHole, it.start, it.last]).toEqual([1, 10n, U64_MAX]);
    it.advance(0n); // last_hole + 1 wraps to 0: the kernel takes the "next" path
    expect(it.done()).toBe(true);
    it.first(t, 0n, U64_MAX);
    it.next();
    it.advance(3n); // any other backwards index restarts from there
    expect([it.isHole, it.start, it.last]).toEqual([0, 3n, 9n]);
  });
});

describe('SpanIter vs brute force', () => {
  it('full iteration over random trees and ranges', () => {
    let cases = 0;
    fc.assert(
      fc.property(treeArb, rangeArb, (ivs, [f, l]) => {
        const t = buildTree(ivs);
        const it = new SpanIter<number>();
        it.first(t, f, l);
        expect(collect(it)).toEqual(bruteSpans(coverage(ivs), f, l));
        // next() after done stays done
        it.next();
        expect(it.done()).toBe(true);
        cases++;
      }),
      { seed: 42, numRuns: 6000 },
    );
    expect(cases).toBe(6000);
  });

  it('random next/advance walks', () => {
    let steps = 0;
    const stepArb = fc.oneof(fc.constant(-1), fc.nat(SPACE + 5));
    fc.assert(
      fc.property(treeArb, rangeArb, fc.array(stepArb, { minLength: 1, maxLength: 20, size: 'max' }), (ivs, [f, l], walk) => {
        const t = buildTree(ivs);
        const cov = coverage(ivs);
        const it = new SpanIter<number>();
        it.first(t, f, l);
        let expected = bruteSpans(cov, f, l);
        for (const x of walk) {
          if (x === -1) {
            it.next();
            expected = expected.slice(1);
          } else {
            it.advance(x);
            if (expected.length !== 0) expected = x > l ? [] : bruteSpans(cov, x, l);
          }
          if (expected.length === 0) expect(it.done()).toBe(true);
          else expect([it.isHole, it.start, it.last]).toEqual(expected[0]);
          steps++;
        }
      }),
      { seed: 1234, numRuns: 3000 },
    );
    expect(steps).toBeGreaterThan(10000);
  });
});

describe('DoubleSpanIter', () => {
  it('kernel-core §3 vector: tree#2 span cut by tree#1', () => {
    const t1 = buildTree([[2, 2]]);
    const t2 = buildTree([[0, 7]]);
    expect(dspans(t1, t2, 0, 7)).toEqual([
      [2, 0, 1],
      [1, 2, 2],
      [2, 3, 7],
    ]);
  });
  it('consecutive used reports, holes between, empty trees', () => {
    expect(dspans(buildTree([[0, 3]]), buildTree([[2, 9]]), 0, 9)).toEqual([
      [1, 0, 3],
      [2, 4, 9],
    ]);
    expect(dspans(buildTree([]), buildTree([]), 0, 9)).toEqual([[0, 0, 9]]);
    expect(
      dspans(
        buildTree([[5, 6]]),
        buildTree([
          [0, 1],
          [8, 9],
        ]),
        0,
        9,
      ),
    ).toEqual([
      [2, 0, 1],
      [0, 2, 4],
      [1, 5, 6],
      [0, 7, 7],
      [2, 8, 9],
    ]);
    // tree #2 covered entirely by tree #1: never reported
    expect(dspans(buildTree([[0, 9]]), buildTree([[3, 4]]), 0, 9)).toEqual([[1, 0, 9]]);
  });
  it('object API fields and aliases', () => {
    const it = new DoubleSpanIter<number>();
    it.first(buildTree([[4, 4]]), buildTree([]), 2, 6);
    expect([it.isUsed, it.startHole, it.lastHole]).toEqual([0, 2, 3]);
    it.next();
    expect([it.isUsed, it.startUsed, it.lastUsed]).toEqual([1, 4, 4]);
    it.next();
    expect([it.isUsed, it.start, it.last]).toEqual([0, 5, 6]);
    it.next();
    expect(it.done()).toBe(true);
    it.next();
    expect(it.isUsed).toBe(-1);
  });
  it('bigint keys up to 2^64-1', () => {
    const t1 = new IntervalTree<bigint, null>(1n);
    const t2 = new IntervalTree<bigint, null>(1n);
    t1.insert(new IntervalNode(U64_MAX - 3n, U64_MAX - 2n, null));
    t2.insert(new IntervalNode(U64_MAX - 10n, U64_MAX, null));
    expect(dspans(t1, t2, U64_MAX - 12n, U64_MAX)).toEqual([
      [0, U64_MAX - 12n, U64_MAX - 11n],
      [2, U64_MAX - 10n, U64_MAX - 4n],
      [1, U64_MAX - 3n, U64_MAX - 2n],
      [2, U64_MAX - 1n, U64_MAX],
    ]);
  });
  it('random trees vs the priority rule', () => {
    let cases = 0;
    fc.assert(
      fc.property(treeArb, treeArb, rangeArb, (a, b, [f, l]) => {
        const c1 = coverage(a);
        const c2 = coverage(b);
        const want = runs((i) => (c1[i] ? 1 : c2[i] ? 2 : 0), f, l);
        const got = dspans(buildTree(a), buildTree(b), f, l);
        expect(got).toEqual(want);
        for (let i = 1; i < got.length; i++) {
          expect(got[i]![0] === 0 && got[i - 1]![0] === 0).toBe(false);
          expect(got[i]![1]).toBe(got[i - 1]![2] + 1);
        }
        cases++;
      }),
      { seed: 777, numRuns: 5000 },
    );
    expect(cases).toBe(5000);
  });
});
