// SPDX-License-Identifier: GPL-2.0-only
/**
 * Augmented interval tree with the kernel's span iterators.
 *
 * Kernel counterparts: INTERVAL_TREE_DEFINE (include/linux/interval_tree_generic.h,
 * instantiated in lib/interval_tree.c), interval_tree_span_iter (lib/interval_tree.c)
 * and interval_tree_double_span_iter (drivers/iommu/iommufd/double_span.h, pages.c).
 *
 * Design
 * - The tree is an AVL tree ordered by `start`, with each node carrying the largest
 *   `last` found in its subtree. Nodes with equal `start` keep insertion order (a new
 *   node goes after existing equal ones), as the kernel's rb-tree insert does.
 *   Insert and remove are O(log n); iterFirst/iterNext are O(log n) per reported node.
 *   Nothing recurses and no query allocates.
 * - Nodes are embedded in their owners, as in the kernel: the caller creates an
 *   `IntervalNode`, sets start/last, inserts it, and must remove it before changing
 *   start or last.
 * - Keys are either all `number` or all `bigint` within one tree. The tree itself only
 *   compares keys. The span iterators need "+1" and "-1": they take the unit from the
 *   type of `firstIndex` passed to `first()` (1 or 1n), once per `first()` call.
 *   The tree constructor optionally takes the unit (`new IntervalTree<bigint>(1n)`);
 *   when given, inserted keys are checked to be of that type.
 * - bigint keys model `unsigned long` (u64). The one place where the kernel's
 *   wrap-around at ULONG_MAX changes behaviour (a span iterator advanced backwards
 *   from a span ending at ULONG_MAX) is reproduced for bigint keys.
 */

export type IntervalKey = number | bigint;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** key + 1 for either key type (callers never mix types). */
function inc<K extends IntervalKey>(a: K, one: K): K {
  return ((a as number) + (one as number)) as K;
}

/** The smaller key (Math.min does not take bigint). */
function minKey<K extends IntervalKey>(a: K, b: K): K {
  return b < a ? b : a;
}

/** key - 1 for either key type. */
function dec<K extends IntervalKey>(a: K, one: K): K {
  return ((a as number) - (one as number)) as K;
}

/**
 * An interval [start, last] (inclusive) embedded in an owning object.
 * The fields prefixed with `_` are the tree's private links; do not touch them.
 */
export class IntervalNode<K extends IntervalKey, T = unknown> {
  start: K;
  last: K;
  owner: T;
  /** @internal */ _left: IntervalNode<K, T> | null = null;
  /** @internal */ _right: IntervalNode<K, T> | null = null;
  /** @internal */ _parent: IntervalNode<K, T> | null = null;
  /** @internal AVL height of the subtree rooted here (1 for a leaf). */
  _height = 0;
  /** @internal Largest `last` in the subtree rooted here. */
  _subtreeLast: K;
  /** @internal The tree holding this node, or null (RB_EMPTY_NODE). */
  _tree: IntervalTree<K, T> | null = null;

  constructor(start: K, last: K, owner: T) {
    this.start = start;
    this.last = last;
    this.owner = owner;
    this._subtreeLast = last;
  }

  /** True while the node is linked into a tree (the kernel's !RB_EMPTY_NODE). */
  get inTree(): boolean {
    return this._tree !== null;
  }
}

function heightOf(n: IntervalNode<IntervalKey, unknown> | null): number {
  return n === null ? 0 : n._height;
}

/** Lowest-start node in the subtree of `node` that intersects [start, last]. */
function subtreeSearch<K extends IntervalKey, T>(
  node: IntervalNode<K, T>,
  start: K,
  last: K,
): IntervalNode<K, T> | undefined {
  for (;;) {
    // Invariant: some node of this subtree ends at or after `start`.
    const l = node._left;
    if (l !== null && start <= l._subtreeLast) {
      // The leftmost node ending at or after `start` lies on the left; if it starts
      // after `last`, nothing to its right can match either.
      node = l;
      continue;
    }
    if (node.start <= last) {
      if (start <= node.last) return node;
      const r = node._right;
      if (r !== null && start <= r._subtreeLast) {
        node = r;
        continue;
      }
    }
    return undefined;
  }
}

/**
 * In-order iteration of a tree, as a generator doing `for (n = first(); n; n = next(n)) yield n` would
 * (each step takes the successor of the node last given, when asked), without a generator's cost.
 */
class TreeIterator<K extends IntervalKey, T> implements IterableIterator<IntervalNode<K, T>> {
  private cur: IntervalNode<K, T> | undefined = undefined;
  /** 0 not started, 1 started, 2 done. */
  private state = 0;

  constructor(private readonly tree: IntervalTree<K, T>) {}

  next(): IteratorResult<IntervalNode<K, T>> {
    if (this.state === 2) return { done: true, value: undefined };
    const n = this.state === 0 ? this.tree.first() : this.tree.next(this.cur as IntervalNode<K, T>);
    if (n === undefined) {
      this.state = 2;
      this.cur = undefined;
      return { done: true, value: undefined };
    }
    this.state = 1;
    this.cur = n;
    return { done: false, value: n };
  }

  return(): IteratorResult<IntervalNode<K, T>> {
    this.state = 2;
    this.cur = undefined;
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): IterableIterator<IntervalNode<K, T>> {
    return this;
  }
}

export class IntervalTree<K extends IntervalKey, T = unknown> {
  private root: IntervalNode<K, T> | null = null;
  private count = 0;
  /** Bumped by every insert and remove (see `changes`). */
  private gen = 0;
  /** The key unit when given to the constructor (used to check key types). */
  readonly one: K | undefined;

  constructor(one?: K) {
    this.one = one;
  }

  get size(): number {
    return this.count;
  }

  /**
   * A count that moves on every insert and remove: equal counts, the same
   * nodes linked (audit memos). A linked node's start/last must not change in
   * place (the order and subtree maxima would go stale): the one writer,
   * IoptArea.setRange, runs before the area's nodes are inserted.
   */
  get changes(): number {
    return this.gen;
  }

  isEmpty(): boolean {
    return this.root === null;
  }

  /** Link `node` into the tree. Overlapping and duplicate intervals are allowed. */
  insert(node: IntervalNode<K, T>): void {
    if (node._tree !== null) throw new Error('interval tree: node already in a tree');
    if (this.one !== undefined) {
      const t = typeof this.one;
      if (typeof node.start !== t || typeof node.last !== t) {
        throw new TypeError(`interval tree: keys must be ${t}`);
      }
    }
    const start = node.start;
    node._left = null;
    node._right = null;
    node._height = 1;
    node._subtreeLast = node.last;
    node._tree = this;
    this.count++;
    this.gen++;
    let p = this.root;
    if (p === null) {
      node._parent = null;
      this.root = node;
      return;
    }
    for (;;) {
      if (start < p.start) {
        if (p._left === null) {
          p._left = node;
          break;
        }
        p = p._left;
      } else {
        if (p._right === null) {
          p._right = node;
          break;
        }
        p = p._right;
      }
    }
    node._parent = p;
    this.fixup(p, null);
  }

  /** Unlink `node` from the tree. */
  remove(node: IntervalNode<K, T>): void {
    if (node._tree !== this) throw new Error('interval tree: node is not in this tree');
    const parent = node._parent;
    const l = node._left;
    const r = node._right;
    if (l === null || r === null) {
      const child = l ?? r;
      this.replaceChild(parent, node, child);
      if (child !== null) child._parent = parent;
      if (parent !== null) this.fixup(parent, null);
    } else {
      // Two children: the in-order successor takes the node's place, carrying the
      // node's height and subtree maximum so the retrace can compare against them.
      let s = r;
      while (s._left !== null) s = s._left;
      let from: IntervalNode<K, T>;
      if (s === r) {
        from = s;
      } else {
        const sp = s._parent!;
        sp._left = s._right;
        if (s._right !== null) s._right._parent = sp;
        s._right = r;
        r._parent = s;
        from = sp;
      }
      s._left = l;
      l._parent = s;
      s._parent = parent;
      this.replaceChild(parent, node, s);
      s._height = node._height;
      s._subtreeLast = node._subtreeLast;
      this.fixup(from, s);
    }
    node._left = null;
    node._right = null;
    node._parent = null;
    node._height = 0;
    node._subtreeLast = node.last;
    node._tree = null;
    this.count--;
    this.gen++;
  }

  /** The lowest-start node intersecting [start, last], or undefined. */
  iterFirst(start: K, last: K): IntervalNode<K, T> | undefined {
    const root = this.root;
    if (root === null || root._subtreeLast < start) return undefined;
    return subtreeSearch(root, start, last);
  }

  /** The next node after `node` (in start order) intersecting [start, last]. */
  iterNext(node: IntervalNode<K, T>, start: K, last: K): IntervalNode<K, T> | undefined {
    let n = node;
    let r = n._right;
    for (;;) {
      if (r !== null && start <= r._subtreeLast) return subtreeSearch(r, start, last);
      // Climb until we arrive from a left child: that parent is next in order.
      for (;;) {
        const p = n._parent;
        if (p === null) return undefined;
        const from = n;
        n = p;
        if (p._left === from) break;
      }
      if (last < n.start) return undefined;
      if (start <= n.last) return n;
      r = n._right;
    }
  }

  /** The lowest-start node, or undefined. */
  first(): IntervalNode<K, T> | undefined {
    let n = this.root;
    if (n === null) return undefined;
    while (n._left !== null) n = n._left;
    return n;
  }

  /** The highest-start node, or undefined. */
  last(): IntervalNode<K, T> | undefined {
    let n = this.root;
    if (n === null) return undefined;
    while (n._right !== null) n = n._right;
    return n;
  }

  /** In-order successor of `node`, or undefined. */
  next(node: IntervalNode<K, T>): IntervalNode<K, T> | undefined {
    let n = node._right;
    if (n !== null) {
      while (n._left !== null) n = n._left;
      return n;
    }
    let c = node;
    let p = c._parent;
    while (p !== null && p._right === c) {
      c = p;
      p = p._parent;
    }
    return p ?? undefined;
  }

  /** In-order predecessor of `node`, or undefined. */
  prev(node: IntervalNode<K, T>): IntervalNode<K, T> | undefined {
    let n = node._left;
    if (n !== null) {
      while (n._right !== null) n = n._right;
      return n;
    }
    let c = node;
    let p = c._parent;
    while (p !== null && p._left === c) {
      c = p;
      p = p._parent;
    }
    return p ?? undefined;
  }

  [Symbol.iterator](): IterableIterator<IntervalNode<K, T>> {
    return new TreeIterator(this);
  }

  /** Every node intersecting [start, last], in start order (allocates; not for hot paths). */
  *overlapping(start: K, last: K): IterableIterator<IntervalNode<K, T>> {
    for (let n = this.iterFirst(start, last); n !== undefined; n = this.iterNext(n, start, last)) {
      yield n;
    }
  }

  /** Check every structural invariant; throws on the first violation (tests, audits). */
  validate(): void {
    const root = this.root;
    if (root !== null && root._parent !== null) throw new Error('interval tree: root has a parent');
    let seen = 0;
    let prevStart: K | undefined;
    for (let n = this.first(); n !== undefined; n = this.next(n)) {
      seen++;
      if (n._tree !== this) throw new Error('interval tree: node tree marker wrong');
      if (prevStart !== undefined && n.start < prevStart) throw new Error('interval tree: order');
      prevStart = n.start;
      const l = n._left;
      const r = n._right;
      if (l !== null && l._parent !== n) throw new Error('interval tree: left parent link');
      if (r !== null && r._parent !== n) throw new Error('interval tree: right parent link');
      const hl = heightOf(l);
      const hr = heightOf(r);
      if (n._height !== Math.max(hl, hr) + 1) throw new Error('interval tree: height');
      if (hl > hr + 1 || hr > hl + 1) throw new Error('interval tree: balance');
      let m = n.last;
      if (l !== null && l._subtreeLast > m) m = l._subtreeLast;
      if (r !== null && r._subtreeLast > m) m = r._subtreeLast;
      if (m !== n._subtreeLast) throw new Error('interval tree: subtree last');
    }
    if (seen !== this.count) throw new Error('interval tree: size');
  }

  private replaceChild(
    parent: IntervalNode<K, T> | null,
    old: IntervalNode<K, T>,
    neu: IntervalNode<K, T> | null,
  ): void {
    if (parent === null) this.root = neu;
    else if (parent._left === old) parent._left = neu;
    else parent._right = neu;
  }

  private static update<K extends IntervalKey, T>(n: IntervalNode<K, T>): void {
    const l = n._left;
    const r = n._right;
    let h = 0;
    let m = n.last;
    if (l !== null) {
      h = l._height;
      if (l._subtreeLast > m) m = l._subtreeLast;
    }
    if (r !== null) {
      if (r._height > h) h = r._height;
      if (r._subtreeLast > m) m = r._subtreeLast;
    }
    n._height = h + 1;
    n._subtreeLast = m;
  }

  private rotateLeft(x: IntervalNode<K, T>): IntervalNode<K, T> {
    const y = x._right!;
    const p = x._parent;
    x._right = y._left;
    if (y._left !== null) y._left._parent = x;
    y._left = x;
    x._parent = y;
    y._parent = p;
    this.replaceChild(p, x, y);
    IntervalTree.update(x);
    IntervalTree.update(y);
    return y;
  }

  private rotateRight(x: IntervalNode<K, T>): IntervalNode<K, T> {
    const y = x._left!;
    const p = x._parent;
    x._left = y._right;
    if (y._right !== null) y._right._parent = x;
    y._right = x;
    x._parent = y;
    y._parent = p;
    this.replaceChild(p, x, y);
    IntervalTree.update(x);
    IntervalTree.update(y);
    return y;
  }

  /**
   * Retrace from `n` to the root: recompute height and subtree maximum, rebalance.
   * Stops once a subtree's height and maximum are unchanged, but never before
   * `mustReach` (the successor moved into a removed node's place) was processed.
   */
  private fixup(n: IntervalNode<K, T> | null, mustReach: IntervalNode<K, T> | null): void {
    while (n !== null) {
      const oldH = n._height;
      const oldM = n._subtreeLast;
      if (n === mustReach) mustReach = null;
      IntervalTree.update(n);
      const hl = heightOf(n._left);
      const hr = heightOf(n._right);
      if (hl > hr + 1) {
        const l = n._left!;
        if (heightOf(l._left) < heightOf(l._right)) this.rotateLeft(l);
        n = this.rotateRight(n);
      } else if (hr > hl + 1) {
        const r = n._right!;
        if (heightOf(r._right) < heightOf(r._left)) this.rotateRight(r);
        n = this.rotateLeft(n);
      }
      if (mustReach === null && n._height === oldH && n._subtreeLast === oldM) return;
      n = n._parent;
    }
  }
}

/**
 * interval_tree_span_iter: walks [firstIndex, lastIndex] as alternating maximal
 * hole / used spans that tile the range. Nodes that overlap or touch merge into
 * one used span; used spans are clipped to lastIndex. Stepping allocates nothing.
 *
 * `start`/`last` hold the current span (the kernel's aliased start_hole/start_used
 * and last_hole/last_used unions); the named getters read the same fields.
 */
export class SpanIter<K extends IntervalKey> {
  /** 1 hole, 0 used, -1 done. */
  isHole = -1;
  start: K;
  last: K;
  /** Iteration bounds (read-only for callers). */
  firstIndex: K;
  lastIndex: K;
  private tree: IntervalTree<K, unknown> | null = null;
  /** Node ending the current/last used run (kernel nodes[0]). */
  private n0: IntervalNode<K, unknown> | null = null;
  /** First node of the next used run (kernel nodes[1]). */
  private n1: IntervalNode<K, unknown> | null = null;
  private one: K;

  constructor() {
    const zero = 0 as K;
    this.start = zero;
    this.last = zero;
    this.firstIndex = zero;
    this.lastIndex = zero;
    this.one = 1 as K;
  }

  get startHole(): K {
    return this.start;
  }
  get lastHole(): K {
    return this.last;
  }
  get startUsed(): K {
    return this.start;
  }
  get lastUsed(): K {
    return this.last;
  }

  done(): boolean {
    return this.isHole === -1;
  }

  /**
   * Merge the run of nodes beginning at n1: afterwards n0 is the node of that run
   * reaching furthest and n1 the first node of the following run (or null).
   */
  private nextGap(): void {
    const tree = this.tree!;
    const first = this.firstIndex;
    const lastIndex = this.lastIndex;
    const one = this.one;
    let cur: IntervalNode<K, unknown> | undefined = this.n1!;
    let end = cur;
    do {
      if (cur.last > end.last) end = cur;
      cur = tree.iterNext(cur, first, lastIndex);
    } while (cur !== undefined && (end.last >= cur.start || inc(end.last, one) === cur.start));
    this.n0 = end;
    this.n1 = cur ?? null;
  }

  first(tree: IntervalTree<K, unknown>, firstIndex: K, lastIndex: K): void {
    this.tree = tree;
    this.one = (typeof firstIndex === 'bigint' ? 1n : 1) as K;
    this.firstIndex = firstIndex;
    this.lastIndex = lastIndex;
    this.n0 = null;
    const n1 = tree.iterFirst(firstIndex, lastIndex) ?? null;
    this.n1 = n1;
    if (n1 === null) {
      this.start = firstIndex;
      this.last = lastIndex;
      this.isHole = 1;
      return;
    }
    if (n1.start > firstIndex) {
      this.start = firstIndex;
      this.last = dec(n1.start, this.one);
      this.isHole = 1;
      this.nextGap();
      return;
    }
    this.start = firstIndex;
    this.isHole = 0;
    this.nextGap();
    this.clipUsed();
  }

  /** Set the used span's end from n0, clipping at lastIndex (then no more nodes). */
  private clipUsed(): void {
    const end = this.n0!.last;
    if (end >= this.lastIndex) {
      this.last = this.lastIndex;
      this.n0 = null;
      this.n1 = null;
    } else {
      this.last = end;
    }
  }

  /**
   * Step to the following span. Once done it stays done (the kernel would step a
   * done-by-advance iterator again; no caller does that).
   */
  next(): void {
    const n0 = this.n0;
    if (this.isHole === -1 || (n0 === null && this.n1 === null)) {
      this.isHole = -1;
      return;
    }
    if (this.isHole !== 0) {
      this.start = inc(this.last, this.one);
      this.isHole = 0;
      this.clipUsed();
      return;
    }
    const n1 = this.n1;
    this.start = inc(n0!.last, this.one);
    this.isHole = 1;
    if (n1 === null) {
      this.last = this.lastIndex;
      this.n0 = null;
      return;
    }
    this.last = dec(n1.start, this.one);
    this.nextGap();
  }

  /**
   * Move the iterator to `newIndex`: the reported span then starts there.
   * Cheap when newIndex lies in the current span or just after it.
   */
  advance(newIndex: K): void {
    if (this.isHole === -1) return;
    this.firstIndex = newIndex;
    if (newIndex > this.lastIndex) {
      this.isHole = -1;
      return;
    }
    const last = this.last;
    if (this.start <= newIndex && newIndex <= last) {
      this.start = newIndex;
      return;
    }
    // u64 arithmetic: last + 1 wraps to 0 at ULONG_MAX.
    const after =
      typeof last === 'bigint' && last === U64_MAX ? (0n as K) : inc(last, this.one);
    if (newIndex === after) this.next();
    else this.first(this.tree!, newIndex, this.lastIndex);
  }
}

/**
 * interval_tree_double_span_iter: spans over the union of two trees on the same
 * range. isUsed: 0 hole in both, 1 used by tree #1, 2 used by tree #2 only, -1 done.
 * Tree #1 has priority: a tree-#2 used span is cut where tree #1 becomes used.
 */
export class DoubleSpanIter<K extends IntervalKey> {
  /** 0 hole, 1 used by tree #1, 2 used by tree #2, -1 done. */
  isUsed = -1;
  start: K;
  last: K;
  readonly spans: readonly [SpanIter<K>, SpanIter<K>] = [new SpanIter<K>(), new SpanIter<K>()];
  private one: K;

  constructor() {
    this.start = 0 as K;
    this.last = 0 as K;
    this.one = 1 as K;
  }

  get startHole(): K {
    return this.start;
  }
  get lastHole(): K {
    return this.last;
  }
  get startUsed(): K {
    return this.start;
  }
  get lastUsed(): K {
    return this.last;
  }

  done(): boolean {
    return this.isUsed === -1;
  }

  private update(): void {
    const s0 = this.spans[0];
    const s1 = this.spans[1];
    if (s0.isHole === -1) {
      this.isUsed = -1;
      return;
    }
    if (s0.isHole === 0) {
      this.isUsed = 1;
      this.start = s0.start;
      this.last = s0.last;
      return;
    }
    if (s1.isHole === -1) {
      this.isUsed = -1;
      return;
    }
    const hole0Last = s0.last;
    if (s1.isHole === 0) {
      this.isUsed = 2;
      this.start = s1.start;
      this.last = minKey(s1.last, hole0Last);
      return;
    }
    this.isUsed = 0;
    this.start = s0.start;
    this.last = minKey(s1.last, hole0Last);
  }

  first(
    tree1: IntervalTree<K, unknown>,
    tree2: IntervalTree<K, unknown>,
    firstIndex: K,
    lastIndex: K,
  ): void {
    this.one = (typeof firstIndex === 'bigint' ? 1n : 1) as K;
    this.spans[0].first(tree1, firstIndex, lastIndex);
    this.spans[1].first(tree2, firstIndex, lastIndex);
    this.update();
  }

  next(): void {
    const s0 = this.spans[0];
    if (this.isUsed === -1 || this.last === s0.lastIndex) {
      this.isUsed = -1;
      return;
    }
    const n = inc(this.last, this.one);
    s0.advance(n);
    this.spans[1].advance(n);
    this.update();
  }
}

/** A reported span, for the convenience generators below. */
export interface Span<K extends IntervalKey> {
  /** SpanIter: 1 hole / 0 used. DoubleSpanIter: 0 hole / 1 tree #1 / 2 tree #2. */
  kind: number;
  start: K;
  last: K;
}

/** interval_tree_for_each_span as a generator (allocates per span; not for hot loops). */
export function* iterSpans<K extends IntervalKey>(
  tree: IntervalTree<K, unknown>,
  firstIndex: K,
  lastIndex: K,
): IterableIterator<Span<K>> {
  const it = new SpanIter<K>();
  for (it.first(tree, firstIndex, lastIndex); !it.done(); it.next()) {
    yield { kind: it.isHole, start: it.start, last: it.last };
  }
}

/** interval_tree_for_each_double_span as a generator (allocates per span). */
export function* iterDoubleSpans<K extends IntervalKey>(
  tree1: IntervalTree<K, unknown>,
  tree2: IntervalTree<K, unknown>,
  firstIndex: K,
  lastIndex: K,
): IterableIterator<Span<K>> {
  const it = new DoubleSpanIter<K>();
  for (it.first(tree1, tree2, firstIndex, lastIndex); !it.done(); it.next()) {
    yield { kind: it.isUsed, start: it.start, last: it.last };
  }
}
