// SPDX-License-Identifier: GPL-2.0-only
/**
 * Sparse index stores in the manner of the kernel's xarray (lib/xarray.c).
 *
 * `XArray` holds value entries (xa_mk_value): index (integer, 0..2^53-1) → value
 * (integer >= 0). iommufd uses it for iopt_pages.pinned_pfns, page index → PFN.
 *
 * Layout: a radix tree of 64-way nodes like the kernel's (XA_CHUNK_SHIFT = 6).
 * Leaves are `Float64Array(64)` with -1 marking an empty slot plus a count of
 * present slots; interior nodes hold 64 child references. The tree grows upward
 * when an index beyond its reach is stored and shrinks when only slot 0 of the
 * root remains; empty leaves and nodes are freed on erase. A one-leaf cache makes
 * sequential load/store O(1) without walking; otherwise a walk is at most 9 levels
 * (indexes up to 2^52 need 8 interior levels).
 *
 * Allocation: the model's leaves are not the kernel's nodes (a lone entry at
 * index 0 sits in the kernel's head, and the kernel's tree can be taller), so a
 * store passes the fault point `xa_node_alloc` once per node the kernel's
 * xarray would make for it (kernelNodesFor()). iommufd stores into its
 * pinned_pfns under the xarray's lock (pages_to_xarray()), where each node is a
 * GFP_NOWAIT allocation failslab counts whatever ignore-gfp-wait says and, when
 * it fails, is made again with GFP_KERNEL and the store retried (xas_nomem()):
 * the point fires without failing the store ('atomic' class). Load, store and
 * erase allocate nothing else.
 *
 * `XArrayAlloc<T>` is the xa_alloc pattern (XA_FLAGS_ALLOC): object IDs handed out
 * lowest-free-first in [min, max].
 */

import { EBUSY, ENOMEM } from './errno.js';
import { type FaultRouter, faultPoint } from './fault.js';

export const XA_NODE_ALLOC = faultPoint('xa_node_alloc', 'atomic');
export const XA_ALLOC = faultPoint('xa_alloc', 'slab');

const SHIFT = 6;
const SLOTS = 1 << SHIFT;
const MASK = SLOTS - 1;
/** Largest storable index (keeps every index an exact double). */
export const XA_MAX_INDEX = Number.MAX_SAFE_INTEGER;
/** Interior levels needed to reach XA_MAX_INDEX: 64^9 = 2^54 > 2^53. */
const MAX_HEIGHT = 8;

/** POW[l] = 64^l, the span of one slot at interior level l (leaves are level 0). */
const POW: number[] = [];
for (let l = 0, v = 1; l <= MAX_HEIGHT + 1; l++, v *= SLOTS) POW.push(v);

/** Rough V8 object overheads, only for heapBytes(). */
const LEAF_BYTES = SLOTS * 8 + 96;
const NODE_BYTES = SLOTS * 8 + 96;

class XaLeaf {
  readonly vals = new Float64Array(SLOTS).fill(-1);
  count = 0;
}

class XaNode {
  readonly slots: Array<XaNode | XaLeaf | null> = new Array<XaNode | XaLeaf | null>(SLOTS).fill(
    null,
  );
  count = 0;
}

// Emptied leaves and nodes are recycled (all their slots are already clear):
// an access pinning and unpinning one page otherwise builds a typed-array leaf
// every time, the dominant cost of a small pin.
const POOL_MAX = 64;
const leafPool: XaLeaf[] = [];
const nodePool: XaNode[] = [];
function newLeaf(): XaLeaf {
  return leafPool.pop() ?? new XaLeaf();
}
function newNode(): XaNode {
  return nodePool.pop() ?? new XaNode();
}

function isIndex(index: number): boolean {
  return index >= 0 && index <= XA_MAX_INDEX && Math.floor(index) === index;
}

export class XArray {
  private root: XaNode | XaLeaf | null = null;
  /** Interior levels above the leaves; the tree covers [0, 64^(height+1)). */
  private height = 0;
  private n = 0;
  private nLeaves = 0;
  private nNodes = 0;
  /** Index of slot 0 of the cached leaf, or -1. */
  private cacheBase = -1;
  private cacheLeaf: XaLeaf | null = null;
  /** Scratch path for erase (no allocation per call). */
  private readonly pathNodes: Array<XaNode | null> = new Array<XaNode | null>(MAX_HEIGHT + 1).fill(
    null,
  );
  private readonly pathSlots = new Uint8Array(MAX_HEIGHT + 1);
  private readonly faults: FaultRouter | undefined;
  /** Bumped by every store, erase and clear (see `changes`). */
  private gen = 0;

  constructor(opts?: { faults?: FaultRouter }) {
    this.faults = opts?.faults;
  }

  /** A count that moves on every store, erase and clear: equal counts, same contents (audit memos). */
  get changes(): number {
    return this.gen;
  }

  /** The leaf holding `index`, or null. Fills the one-leaf cache. */
  private leafFor(index: number): XaLeaf | null {
    const base = index - (index & MASK);
    if (base === this.cacheBase) return this.cacheLeaf;
    let node = this.root;
    if (node === null || index >= POW[this.height + 1]!) return null;
    for (let l = this.height; l > 0; l--) {
      node = (node as XaNode).slots[Math.floor(index / POW[l]!) & MASK]!;
      if (node === null) return null;
    }
    const leaf = node as XaLeaf;
    this.cacheBase = base;
    this.cacheLeaf = leaf;
    return leaf;
  }

  /** The value at `index`, or -1 when absent. */
  load(index: number): number {
    if (index - (index & MASK) === this.cacheBase) return this.cacheLeaf!.vals[index & MASK]!;
    if (!isIndex(index)) return -1;
    const leaf = this.leafFor(index);
    return leaf === null ? -1 : leaf.vals[index & MASK]!;
  }

  /**
   * Store a value entry; 0. Passes `xa_node_alloc` once for each node the
   * kernel's xarray makes for the store, none of which can fail it.
   */
  store(index: number, value: number): number {
    if (!(value >= 0) || value > XA_MAX_INDEX || Math.floor(value) !== value) {
      throw new RangeError(`xarray: value ${value} is not an integer >= 0`);
    }
    this.gen++;
    let leaf: XaLeaf | null;
    const off = index & MASK;
    if (index - off === this.cacheBase) {
      leaf = this.cacheLeaf!;
      // The kernel keeps a lone index 0 in its head: a second index needs its first node.
      if (this.n === 1 && off !== 0 && leaf.vals[off]! < 0 && leaf.vals[0]! >= 0) this.passNodes(1);
    } else {
      if (!isIndex(index)) throw new RangeError(`xarray: bad index ${index}`);
      leaf = this.leafFor(index);
      if (leaf === null) {
        this.passNodes(this.kernelNodesFor(index));
        leaf = this.createLeaf(index);
      } else if (this.n === 1 && off !== 0 && leaf.vals[off]! < 0 && leaf.vals[0]! >= 0) this.passNodes(1);
    }
    if (leaf.vals[off]! < 0) {
      leaf.count++;
      this.n++;
    }
    leaf.vals[off] = value;
    return 0;
  }

  /** `n` passes of the node point (GFP_NOWAIT under the lock, made again with GFP_KERNEL when it fails). */
  private passNodes(n: number): void {
    const f = this.faults;
    if (f === undefined) return;
    for (; n > 0; n--) f.shouldFail(XA_NODE_ALLOC);
  }

  /**
   * The nodes the kernel's xarray holding this array's indexes would make to
   * store at `index` (xas_expand(), xas_create()): where the tree is too low,
   * one new node per level above it on the path, plus the node holding the
   * old tree at block 0 where the path leaves that block; within the tree,
   * the path's nodes below the lowest one present. Nothing for an empty
   * array's index 0 (the head holds it).
   */
  kernelNodesFor(index: number): number {
    let top = 0;
    for (let x = index; x >= 1; x = Math.floor(x / SLOTS)) top++;
    if (this.n === 0) return top;
    // A lone index 0 is the head entry itself: no node yet.
    const h = this.n === 1 && this.load(0) >= 0 ? 0 : this.height + 1;
    let nodes = 0;
    for (let l = h + 1; l <= top; l++) nodes += Math.floor(index / POW[l]!) !== 0 ? 2 : 1;
    if (h === 0) return nodes;
    if (index >= POW[this.height + 1]!) return nodes + h;
    let node = this.root!;
    let l = this.height;
    while (l > 0) {
      const child = (node as XaNode).slots[Math.floor(index / POW[l]!) & MASK]!;
      if (child === null) break;
      node = child;
      l--;
    }
    return nodes + l;
  }

  /** Allocate the path and leaf for `index` (its node points were already passed). */
  private createLeaf(index: number): XaLeaf {
    if (this.root === null) {
      this.height = 0;
      while (index >= POW[this.height + 1]!) this.height++;
    } else {
      while (index >= POW[this.height + 1]!) {
        const top = newNode();
        top.slots[0] = this.root;
        top.count = 1;
        this.nNodes++;
        this.root = top;
        this.height++;
      }
    }
    const leaf = newLeaf();
    this.nLeaves++;
    if (this.height === 0) {
      this.root = leaf;
    } else {
      if (this.root === null) {
        this.root = newNode();
        this.nNodes++;
      }
      let node = this.root as XaNode;
      for (let l = this.height; l > 0; l--) {
        const slot = Math.floor(index / POW[l]!) & MASK;
        if (l === 1) {
          node.slots[slot] = leaf;
          node.count++;
          break;
        }
        let child = node.slots[slot] as XaNode | null;
        if (child === null) {
          child = newNode();
          this.nNodes++;
          node.slots[slot] = child;
          node.count++;
        }
        node = child;
      }
    }
    this.cacheBase = index - (index & MASK);
    this.cacheLeaf = leaf;
    return leaf;
  }

  /** Remove the entry at `index`; returns the old value or -1. */
  erase(index: number): number {
    if (!isIndex(index)) return -1;
    const leaf = this.leafFor(index);
    if (leaf === null) return -1;
    const off = index & MASK;
    const old = leaf.vals[off]!;
    if (old < 0) return -1;
    this.gen++;
    leaf.vals[off] = -1;
    this.n--;
    if (--leaf.count === 0) this.freeLeaf(index);
    return old;
  }

  /** Unlink the (now empty) leaf holding `index`, freeing emptied ancestors. */
  private freeLeaf(index: number): void {
    const freed = this.cacheBase === index - (index & MASK) ? this.cacheLeaf : null;
    this.cacheBase = -1;
    this.cacheLeaf = null;
    this.nLeaves--;
    const h = this.height;
    if (h === 0) {
      if (leafPool.length < POOL_MAX) leafPool.push(this.root as XaLeaf);
      this.root = null;
      return;
    }
    if (freed && leafPool.length < POOL_MAX) leafPool.push(freed);
    let node = this.root as XaNode;
    for (let l = h; l > 0; l--) {
      const slot = Math.floor(index / POW[l]!) & MASK;
      this.pathNodes[l] = node;
      this.pathSlots[l] = slot;
      node = node.slots[slot] as XaNode;
    }
    for (let l = 1; l <= h; l++) {
      const p = this.pathNodes[l]!;
      p.slots[this.pathSlots[l]!] = null;
      this.pathNodes[l] = null;
      if (--p.count !== 0) {
        for (let k = l + 1; k <= h; k++) this.pathNodes[k] = null;
        break;
      }
      this.nNodes--;
      if (nodePool.length < POOL_MAX) nodePool.push(p);
      if (l === h) {
        this.root = null;
        this.height = 0;
        return;
      }
    }
    // Shrink while the root only holds slot 0.
    while (this.height > 0) {
      const r = this.root as XaNode;
      if (r.count !== 1 || r.slots[0] === null) break;
      this.root = r.slots[0]!;
      r.slots[0] = null;
      this.nNodes--;
      this.height--;
    }
  }

  /** Number of present entries. */
  count(): number {
    return this.n;
  }

  isEmpty(): boolean {
    return this.n === 0;
  }

  /**
   * Call fn(index, value) for present entries with index in [first, last], in
   * ascending order, until fn returns false. fn may erase entries (including the
   * current one); entries stored during the walk may or may not be visited.
   */
  forEachInRange(
    first: number,
    last: number,
    fn: (index: number, value: number) => boolean | undefined,
  ): void {
    const root = this.root;
    if (root === null) return;
    if (first < 0) first = 0;
    const top = POW[this.height + 1]! - 1;
    if (last > top) last = top;
    if (first > last) return;
    this.walk(root, this.height, 0, first, last, fn);
  }

  private walk(
    node: XaNode | XaLeaf,
    level: number,
    base: number,
    first: number,
    last: number,
    fn: (index: number, value: number) => boolean | undefined,
  ): boolean {
    if (level === 0) {
      const vals = (node as XaLeaf).vals;
      const lo = first > base ? first - base : 0;
      const hi = last < base + MASK ? last - base : MASK;
      for (let i = lo; i <= hi; i++) {
        const v = vals[i]!;
        if (v >= 0 && fn(base + i, v) === false) return false;
      }
      return true;
    }
    const span = POW[level]!;
    const lo = first > base ? Math.floor((first - base) / span) : 0;
    const hi = last < base + POW[level + 1]! - 1 ? Math.floor((last - base) / span) : MASK;
    const slots = (node as XaNode).slots;
    for (let i = lo; i <= hi; i++) {
      const c = slots[i]!;
      if (c !== null && !this.walk(c, level - 1, base + i * span, first, last, fn)) return false;
    }
    return true;
  }

  /** Lowest present index in [first, last], or -1. */
  firstPresent(first: number, last: number): number {
    return this.present(first, last, false);
  }

  /** Highest present index in [first, last], or -1. */
  lastPresent(last: number, first = 0): number {
    return this.present(first, last, true);
  }

  private present(first: number, last: number, down: boolean): number {
    const root = this.root;
    if (root === null) return -1;
    if (first < 0) first = 0;
    const top = POW[this.height + 1]! - 1;
    if (last > top) last = top;
    if (first > last) return -1;
    return this.find(root, this.height, 0, first, last, down);
  }

  /** The lowest (`down`: highest) present index in [first, last] under `node`, or -1. */
  private find(node: XaNode | XaLeaf, level: number, base: number, first: number, last: number, down: boolean): number {
    const step = down ? -1 : 1;
    if (level === 0) {
      const vals = (node as XaLeaf).vals;
      const lo = first > base ? first - base : 0;
      const hi = last < base + MASK ? last - base : MASK;
      for (let i = down ? hi : lo; i >= lo && i <= hi; i += step) if (vals[i]! >= 0) return base + i;
      return -1;
    }
    const span = POW[level]!;
    const lo = first > base ? Math.floor((first - base) / span) : 0;
    const hi = last < base + POW[level + 1]! - 1 ? Math.floor((last - base) / span) : MASK;
    const slots = (node as XaNode).slots;
    for (let i = down ? hi : lo; i >= lo && i <= hi; i += step) {
      const c = slots[i]!;
      if (c !== null) {
        const r = this.find(c, level - 1, base + i * span, first, last, down);
        if (r >= 0) return r;
      }
    }
    return -1;
  }

  /** Drop every entry (xa_destroy). */
  clear(): void {
    this.gen++;
    this.root = null;
    this.height = 0;
    this.n = 0;
    this.nLeaves = 0;
    this.nNodes = 0;
    this.cacheBase = -1;
    this.cacheLeaf = null;
  }

  /** Approximate heap bytes held by leaves and nodes. */
  heapBytes(): number {
    return this.nLeaves * LEAF_BYTES + this.nNodes * NODE_BYTES;
  }

  /** Leaves and interior nodes currently allocated (tests, benchmarks). */
  nodeCounts(): { leaves: number; nodes: number; height: number } {
    return { leaves: this.nLeaves, nodes: this.nNodes, height: this.height };
  }
}

/** Marks an id reserved by reserve() (the kernel's XA_ZERO_ENTRY). */
const RESERVED: unique symbol = Symbol('xa-zero-entry');

/** Chunk size used to decide when an allocating store needs a new node. */
const ALLOC_CHUNK = SLOTS;
/** Hints are a cache; forget them if callers use many distinct minimums. */
const MAX_HINTS = 16;

/**
 * xa_alloc-style ID allocator holding objects.
 *
 * alloc() hands out the lowest free id in [min, max]. An id whose 64-id chunk
 * holds no other id needs a new node in the kernel's xarray; only then is the
 * `xa_alloc` fault point (slab) passed, after the free id was found (so a full
 * range gives -EBUSY without passing it). reserve() takes an id without a value
 * (XA_ZERO_ENTRY): load() returns undefined and entries() skips it until store().
 *
 * Lowest-free search keeps, per `min` seen, a hint h such that every id in
 * [min, h) is taken; erase() lowers hints, so dense allocation is O(1) amortised.
 */
export class XArrayAlloc<T> {
  private readonly map = new Map<number, T | typeof RESERVED>();
  private readonly chunkUse = new Map<number, number>();
  private readonly hints = new Map<number, number>();
  private readonly faults: FaultRouter | undefined;

  constructor(opts?: { faults?: FaultRouter }) {
    this.faults = opts?.faults;
  }

  load(id: number): T | undefined {
    const v = this.map.get(id);
    return v === RESERVED ? undefined : v;
  }

  /** True when the id is taken (by a value or a reservation). */
  has(id: number): boolean {
    return this.map.has(id);
  }

  /** Lowest free id in [min, max] holding `value`; -EBUSY when full, -ENOMEM on fault. */
  alloc(value: T, min: number, max: number): number {
    return this.take(value, min, max);
  }

  /** Like alloc() but leaves the id reserved with no value (XA_ZERO_ENTRY). */
  reserve(min: number, max: number): number {
    return this.take(RESERVED, min, max);
  }

  private take(value: T | typeof RESERVED, min: number, max: number): number {
    if (!(min >= 0) || !(min <= max)) return -EBUSY;
    let id = this.hints.get(min) ?? min;
    while (id <= max && this.map.has(id)) id++;
    if (this.hints.size >= MAX_HINTS && !this.hints.has(min)) this.hints.clear();
    this.hints.set(min, id);
    if (id > max) return -EBUSY;
    const chunk = Math.floor(id / ALLOC_CHUNK);
    const used = this.chunkUse.get(chunk) ?? 0;
    if (used === 0 && this.faults?.shouldFail(XA_ALLOC)) return -ENOMEM;
    this.map.set(id, value);
    this.chunkUse.set(chunk, used + 1);
    this.hints.set(min, id + 1);
    return id;
  }

  /** Put `value` at `id` (replacing a value or a reservation, or taking a free id). */
  store(id: number, value: T): void {
    if (!this.map.has(id)) {
      const chunk = Math.floor(id / ALLOC_CHUNK);
      this.chunkUse.set(chunk, (this.chunkUse.get(chunk) ?? 0) + 1);
    }
    this.map.set(id, value);
  }

  /** Free `id`; returns its value (undefined if free or only reserved). */
  erase(id: number): T | undefined {
    const v = this.map.get(id);
    if (v === undefined && !this.map.has(id)) return undefined;
    this.map.delete(id);
    const chunk = Math.floor(id / ALLOC_CHUNK);
    const used = this.chunkUse.get(chunk)! - 1;
    if (used === 0) this.chunkUse.delete(chunk);
    else this.chunkUse.set(chunk, used);
    for (const [m, h] of this.hints) if (m <= id && id < h) this.hints.set(m, id);
    return v === RESERVED ? undefined : v;
  }

  /** The ids taken, reservations included. */
  keys(): IterableIterator<number> {
    return this.map.keys();
  }

  /** Number of ids taken, reservations included. */
  get size(): number {
    return this.map.size;
  }

  /** Present values in ascending id order (reservations skipped, like xa_for_each). */
  *entries(): IterableIterator<[number, T]> {
    const ids = [...this.map.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const v = this.map.get(id);
      if (v === undefined && !this.map.has(id)) continue;
      if (v === RESERVED) continue;
      yield [id, v as T];
    }
  }
}

/** Tree levels (64-way nodes) an xarray needs to hold `index`: 0 for index 0 (kept in the head itself). */
function xaLevels(index: bigint): number {
  let l = 0;
  for (let x = index; x > 0n; x >>= 6n) l++;
  return l;
}

/**
 * The nodes a store at `index` allocates in a kernel xarray holding the
 * indexes `present` (xas_create() / xas_expand()): when the tree is too low
 * for it, a node per level it grows by, and a second one on such a level
 * where the path leaves block 0 (the first takes the old tree); within the
 * tree, each level whose 64^l-aligned block holds no present index. `zeroBusy`: XA_FLAGS_ALLOC1, whose non-empty
 * tree also holds the zero entry at index 0. Such stores run under the
 * xarray's lock, so each node is a GFP_NOWAIT allocation failslab counts
 * whatever ignore-gfp-wait says, and one that fails is made again with the
 * caller's gfp and retried (__xas_nomem()): a call that passes these points
 * under fail-nth never fails at them.
 */
export function xaNodesNeeded(present: Iterable<number | bigint>, index: number | bigint, zeroBusy: boolean): number {
  const keys: bigint[] = [];
  for (const k of present) keys.push(BigInt(k));
  if (zeroBusy && keys.length > 0) keys.push(0n);
  const at = BigInt(index);
  let height = 0;
  for (const k of keys) height = Math.max(height, xaLevels(k));
  const top = Math.max(height, xaLevels(at));
  let nodes = 0;
  for (let l = 1, shift = 6n; l <= top; l++, shift += 6n) {
    const block = at >> shift;
    if (l <= height) {
      if (!keys.some((k) => k >> shift === block)) nodes++;
    } else {
      // A level the tree grows by: the path's node, and apart from it the node that takes the old tree
      // (block 0) when the array was not empty.
      nodes += keys.length > 0 && block !== 0n ? 2 : 1;
    }
  }
  return nodes;
}

