// SPDX-License-Identifier: GPL-2.0-only
/**
 * Physical memory: page frames, folios and the page allocator.
 *
 * Geometry. Frames are 4 KiB and numbered by PFN, a JS number below 2^32
 * (page tables store pfn+1 in a Uint32Array), so a machine holds less than
 * 16 TiB. Memory is cut into 1 GiB regions of 512 blocks of 2 MiB. Per-frame
 * metadata lives in typed arrays owned by the region: the per-block ones are
 * allocated the first time the region is used, the per-frame words of a 2 MiB
 * block the first time the block is taken (an untouched 16 GiB machine costs a
 * few kilobytes, a fresh machine touching a few pages a few tens). Page contents are allocated on the first write only (a
 * Uint8Array(4096) per written page); reading a never-written page gives zeros.
 *
 * Folios are order 0 (4 KiB), 9 (2 MiB: THP and hugetlb) or 18 (1 GiB
 * hugetlb), naturally aligned. A 2 MiB block is either free, split into order-0
 * frames, one order-9 folio, or a slice of an order-18 folio.
 *
 * Placement. The default layout is 'scattered': order-0 frames come from a few
 * randomly chosen open 2 MiB blocks, at random offsets inside them, and new
 * blocks are taken at random inside regions already in use before a fresh
 * region is broken (so 1 GiB folios stay possible). Consecutive order-0
 * allocations are therefore almost never physically contiguous, as on a real
 * machine whose free lists are fragmented. Everything derives from the seed.
 * The 'linear' layout hands out the lowest free frame / block / region instead.
 *
 * Refcount model. `refcount(pfn)` of a frame is the number of page-table
 * mappings of that frame plus one per GUP get or pin held on it. A PMD-size
 * mapping of (a 2 MiB slice of) a huge folio counts once for every frame it
 * maps; it is stored once per block (`mapHuge`), not per frame. The kernel
 * keeps one refcount per folio; we keep the per-frame view for tests and the
 * folio total (`folioRefcount(head)`, the kernel's folio_ref_count: every
 * per-frame reference plus one per PMD-size mapping) for freeing: a
 * folio is freed when its total reaches zero, so a pinned frame stays
 * allocated after munmap until it is unpinned. `pincount(pfn)` counts FOLL_PIN
 * pins per frame (the kernel counts pins per folio: `folioPincount(head)` is
 * the sum). The kernel adds GUP_PIN_COUNTING_BIAS to an order-0 page's
 * refcount per pin; we count a pin as one reference and keep the pin count
 * apart. A freshly allocated folio has no references: the caller maps or gets
 * it at once.
 *
 * The zero page. `zeroPfn` (= totalFrames, one frame past RAM, like the
 * kernel's zero page living in the kernel image) is mapped for read faults on
 * untouched private anonymous memory. It is never refcounted or pinned (GUP
 * skips the zero page since v6.5) and never freed; `refcount(zeroPfn)` reads 1.
 *
 * Fault injection. An allocation of order >= `faultMinOrder` passes the
 * 'alloc_pages' point of class 'page' first. The default minimum order is 1,
 * fail_page_alloc's default min-order, which the iommufd selftests leave
 * unchanged: order-0 pages do not fail. A user folio (anonymous, THP, page
 * cache: GFP_HIGHUSER*, GFP_TRANSHUGE) carries __GFP_HIGHMEM, which
 * fail_page_alloc leaves alone while `ignoreHighmem` (its
 * ignore-gfp-highmem, Y by default; the exported C programs set N); a
 * kernel allocation (`kernel: true`) has no __GFP_HIGHMEM. A hugetlb folio
 * comes off its pool, not from the page allocator, and passes no point.
 *
 * Hugetlb. A pool per huge size (order 9, order 18) with an optional limit
 * (nr_hugepages; unlimited by default, pages come from free blocks on demand)
 * and reservations taken at mmap time: reserved blocks/regions are kept back
 * from order-0 and THP allocations.
 */
import { type FaultRouter, faultPoint } from '../base/fault.js';
import { Prng } from '../base/prng.js';
import type { WarnSink } from '../base/warn.js';
import { PAGE_SIZE, PMD_ORDER, PUD_ORDER } from './constants.js';

/** fail_page_alloc: the page allocator's fault point. */
export const FP_ALLOC_PAGES = faultPoint('alloc_pages', 'page');

const R_SHIFT = 18;
const R_FRAMES = 1 << R_SHIFT;
const R_MASK = R_FRAMES - 1;
const B_SHIFT = 9;
const B_FRAMES = 1 << B_SHIFT;
const B_MASK = B_FRAMES - 1;
const B_PER_R = 512;
const WORDS_PER_BLOCK = B_FRAMES / 32;
/** Where a block's allocated-frame bits start in its metas array. */
const BM_OFF = 2 * B_FRAMES;
/** Open order-0 blocks kept in the scattered layout. */
const ACTIVE_BLOCKS = 4;
/** Int32 words per block in Region.metas; blocks whose words are allocated at once. */
const META_WORDS = BM_OFF + WORDS_PER_BLOCK;
const META_CHUNK = ACTIVE_BLOCKS;

const BLOCK_FREE = 0;
const BLOCK_SMALL = 1;
const BLOCK_HUGE = 2;
const BLOCK_GIGA = 3;

const REGION_FREE = 0;
const REGION_PARTIAL = 1;
const REGION_GIGA = 2;

// Per-frame state is two Int32 words, meta[2i] = references and
// meta[2i+1] = pins | flags << 24, so one scattered frame costs one cache line.
// They are kept per 2 MiB block (Region.metas[b]; frame i of the region at
// metas[i >>> B_SHIFT][(i & B_MASK) << 1]), followed by the block's
// allocated-frame bits when it holds order-0 frames (WORDS_PER_BLOCK words
// from BM_OFF).
const PIN_MASK = 0xffffff;
const F_ALLOC = 1 << 24;
const F_DIRTY = 1 << 25;
const F_HUGETLB = 1 << 26;
/** An anonymous folio MADV_FREE made lazily freeable (!PG_swapbacked), on its head frame. */
const F_LAZYFREE = 1 << 27;
/**
 * A hugetlb folio whose reservation is given back when it is freed
 * (HPG_restore_reserve: set by the zap of a private owner's last mapping of it).
 */
const F_RESTORE_RESV = 1 << 28;

const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_U16 = new Uint16Array(0);

/**
 * One shared page of contents per byte value, never written in place: a frame
 * written whole with one byte value holds it instead of a copy of its own (a
 * write_memory fill of gigabytes costs a map entry per page, not 4 KiB). A
 * partial write gives the frame its own copy first (store()).
 */
const UNIFORM_PAGES: Array<Uint8Array | undefined> = new Array(256);

export function uniformPage(b: number): Uint8Array {
  let p = UNIFORM_PAGES[b];
  if (p === undefined) {
    p = new Uint8Array(PAGE_SIZE).fill(b);
    UNIFORM_PAGES[b] = p;
  }
  return p;
}

function isUniformPage(page: Uint8Array): boolean {
  return UNIFORM_PAGES[page[0]] === page;
}

/** The one value every byte of src[off, off + len) holds, or -1. */
function sameByte(src: Uint8Array, off: number, len: number): number {
  const b = src[off];
  const at = src.byteOffset + off;
  if ((at & 3) === 0 && (len & 3) === 0) {
    // four bytes at a time where the range is word-aligned (a page of a buffer always is)
    const words = new Uint32Array(src.buffer, at, len >>> 2);
    const w = (b * 0x01010101) >>> 0;
    for (let i = 0; i < words.length; i++) if (words[i] !== w) return -1;
    return b;
  }
  for (let i = off + 1; i < off + len; i++) if (src[i] !== b) return -1;
  return b;
}

/** isZeroFilled()'s copy of a backed frame. */
const zeroCheckPage = new Uint8Array(PAGE_SIZE);

/** Largest machine: PFNs and zeroPfn stay below 2^32 - 1. */
export const MAX_PHYS_BYTES = 2 ** 44 - 2 * PAGE_SIZE;

/**
 * The largest machine a program or the command line may ask for (1 TiB):
 * the per-frame tables of the memory it uses (8 bytes per 4 KiB) and its page
 * tables then stay within a few GiB of the host's memory, where 16 TiB in use
 * would take 32 GiB.
 */
export const MAX_MACHINE_BYTES = 2 ** 40;

/**
 * A model limit, not the kernel's: at most this many user page tables (8 TiB
 * of 4 KiB mappings) machine-wide, so that a machine of terabytes populating
 * its whole address space stays within the host's memory. Past it a fault
 * fails as if RAM had run out.
 */
export const MAX_USER_TABLES = 2 ** 22;

export type PhysLayout = 'scattered' | 'linear';

export interface PhysicalMemoryOptions {
  seed?: number;
  layout?: PhysLayout;
  /** Routes the 'alloc_pages' fault point to the calling task. */
  faults?: FaultRouter;
  /** Reports refcount underflows and writes to the zero page. */
  warn?: WarnSink;
  /** Lowest order whose allocation is a fault point (fail_page_alloc min-order, default 1). */
  faultMinOrder?: number;
  /** nr_hugepages per size: the pool limit; unlimited when absent. A 1G pool needs `gbpages`. */
  hugetlbPages?: { '2M'?: number; '1G'?: number };
  /**
   * The CPU maps 1 GiB pages (X86_FEATURE_GBPAGES, "pdpe1gb"): only then does x86 register the
   * 1 GiB hstate (gigantic_pages_init()). Default false, as under QEMU's default qemu64 CPU.
   */
  gbpages?: boolean;
}

/** Frame contents held outside the model (see PhysicalMemory.backing). */
export interface FrameBacking {
  copy(pfn: number, offset: number, buf: Uint8Array, bufOff: number, len: number, write: boolean): boolean;
}

export interface AllocOptions {
  /** A hugetlb folio (counted in the hugetlb pool). */
  hugetlb?: boolean;
  /** The kernel's own pages (GFP_KERNEL: no __GFP_HIGHMEM), not a user folio. */
  kernel?: boolean;
  /** Consume one hugetlb reservation of this order instead of taking unreserved memory. */
  reserved?: boolean;
}

/** A small unordered set of indexes with O(1) add/delete and indexable items (for random picks). */
class IndexSet {
  readonly items: number[] = [];
  private readonly pos = new Map<number, number>();

  get size(): number {
    return this.items.length;
  }

  has(x: number): boolean {
    return this.pos.has(x);
  }

  add(x: number): void {
    if (this.pos.has(x)) return;
    this.pos.set(x, this.items.length);
    this.items.push(x);
  }

  delete(x: number): void {
    const p = this.pos.get(x);
    if (p === undefined) return;
    const last = this.items.pop()!;
    if (last !== x) {
      this.items[p] = last;
      this.pos.set(last, p);
    }
    this.pos.delete(x);
  }

  min(): number {
    let m = this.items[0];
    for (let k = 1; k < this.items.length; k++) if (this.items[k] < m) m = this.items[k];
    return m;
  }

  /** The items in the order a search should try them: rotated at random, or ascending. */
  order(prng: Prng | null): number[] {
    const n = this.items.length;
    if (!prng) return [...this.items].sort((a, b) => a - b);
    const s = prng.below(n);
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) out[k] = this.items[(s + k) % n];
    return out;
  }
}

/** 1 GiB of frames and their metadata (materialized on first use). */
class Region {
  readonly index: number;
  readonly base: number;
  readonly nframes: number;
  readonly nblocks: number;
  state = REGION_FREE;
  freeBlocks: number;
  materialized = false;
  /**
   * Per block b, its frames' words (undefined until the block is first
   * taken): for local frame k, [2k] PTE mappings + GUP references, [2k+1]
   * FOLL_PIN pins | flags.
   */
  metas: Array<Int32Array | undefined> = [];
  /** The chunk block words are taken from, and how many blocks' words it has left. */
  private metaChunk: Int32Array = EMPTY_I32;
  private metaLeft = 0;
  blockState: Uint8Array = EMPTY_U8;
  /** Free frames of a BLOCK_SMALL block. */
  blockFree: Uint16Array = EMPTY_U16;
  /** PMD-size mappings of the block (huge folios). */
  blockMap: Int32Array = EMPTY_I32;
  /** Folio total references of an order-9 folio occupying the block. */
  blockRef: Int32Array = EMPTY_I32;
  /** Folio total references of the order-18 folio occupying the region. */
  gigaRef = 0;

  constructor(index: number, nframes: number) {
    this.index = index;
    this.base = index * R_FRAMES;
    this.nframes = nframes;
    this.nblocks = Math.ceil(nframes / B_FRAMES);
    this.freeBlocks = this.nblocks;
  }

  get full(): boolean {
    return this.nframes === R_FRAMES;
  }

  blockCap(b: number): number {
    return Math.min(B_FRAMES, this.nframes - b * B_FRAMES);
  }

  /** The per-frame words of block b, allocated (zeroed) on first use. */
  meta(b: number): Int32Array {
    let m = this.metas[b];
    if (m === undefined) {
      // Taken from a chunk of META_CHUNK blocks' words (a block's words live as long as the region: never
      // given back one by one), so a machine's first blocks cost one zeroed allocation, not one each.
      if (this.metaLeft === 0) {
        this.metaChunk = new Int32Array(META_WORDS * Math.min(META_CHUNK, this.nblocks));
        this.metaLeft = this.metaChunk.length / META_WORDS;
      }
      const at = this.metaChunk.length - META_WORDS * this.metaLeft--;
      m = this.metaChunk.subarray(at, at + META_WORDS);
      this.metas[b] = m;
    }
    return m;
  }

  /** Frame i's pins | flags word (0 for a frame of a block never taken). */
  flags(i: number): number {
    const m = this.metas[i >>> B_SHIFT];
    return m === undefined ? 0 : m[((i & B_MASK) << 1) + 1];
  }

  materialize(): void {
    if (this.materialized) return;
    this.materialized = true;
    // Sized to the region (the last one of a small machine is partial).
    this.metas = new Array<Int32Array | undefined>(this.nblocks).fill(undefined);
    // the four per-block tables in one zeroed buffer (int32 ones first, for their alignment)
    const buf = new ArrayBuffer(B_PER_R * (4 + 4 + 2 + 1));
    this.blockMap = new Int32Array(buf, 0, B_PER_R);
    this.blockRef = new Int32Array(buf, 4 * B_PER_R, B_PER_R);
    this.blockFree = new Uint16Array(buf, 8 * B_PER_R, B_PER_R);
    this.blockState = new Uint8Array(buf, 10 * B_PER_R, B_PER_R);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export class PhysicalMemory {
  readonly bytes: number;
  readonly totalFrames: number;
  /** The shared zero page (outside RAM, never refcounted). */
  readonly zeroPfn: number;
  readonly layout: PhysLayout;
  faults: FaultRouter | undefined;
  warn: WarnSink | undefined;
  faultMinOrder: number;
  /** fail_page_alloc's ignore-gfp-highmem: user folios (__GFP_HIGHMEM) pass no point. */
  ignoreHighmem = false;
  /** Contents of written pages. */
  private readonly data = new Map<number, Uint8Array>();
  private readonly regions: Region[] = [];
  private readonly prng: Prng | null;
  private readonly freeRegions = new IndexSet();
  private readonly partialRegions = new IndexSet();
  /** Global numbers (pfn >> 9) of BLOCK_SMALL blocks with free frames. */
  private readonly smallBlocks = new IndexSet();
  private fullFreeRegions = 0;
  private freeHugeBlocks = 0;
  private inUse = 0;
  /** Page-table pages of user address spaces (allocTable()): RAM they take, without PFNs of their own. */
  private tables = 0;
  // hugetlb pool, index 0 = 2 MiB, 1 = 1 GiB
  private readonly hugeLimit: [number, number];
  private readonly hugeInUse: [number, number] = [0, 0];
  /**
   * resv_huge_pages: below zero while folios a zap marked F_RESTORE_RESV are
   * still held (pinned) after their VMA gave its reservations back; the
   * kernel's unsigned counter wraps the same way until they are freed.
   */
  private readonly hugeResv: [number, number] = [0, 0];
  /** Folios holding F_RESTORE_RESV, per size: what hugeResv will get back. */
  private readonly hugeRestore: [number, number] = [0, 0];
  /** The 1 GiB hstate exists (PhysicalMemoryOptions.gbpages). */
  readonly gbpages: boolean;
  /** Bumped by everything that can change a frame's pincount() (see pinChanges). */
  private pinGen = 0;
  /** Folios freed so far (see foliosFreed). */
  private freed = 0;
  /** Small-page and page-table allocations refused for want of RAM (see ramRefusals). */
  private refusals = 0;

  constructor(bytes: number | bigint = 16 * 2 ** 30, opts: PhysicalMemoryOptions = {}) {
    const n = Number(bytes);
    if (!Number.isSafeInteger(n) || n < PAGE_SIZE || n % PAGE_SIZE !== 0 || n > MAX_PHYS_BYTES)
      throw new RangeError(`physical memory size must be a multiple of 4 KiB in [4 KiB, 16 TiB): ${bytes}`);
    this.bytes = n;
    this.totalFrames = n / PAGE_SIZE;
    this.zeroPfn = this.totalFrames;
    this.layout = opts.layout ?? 'scattered';
    this.prng = this.layout === 'scattered' ? new Prng(opts.seed ?? 1) : null;
    this.faults = opts.faults;
    this.warn = opts.warn;
    this.faultMinOrder = opts.faultMinOrder ?? 1;
    this.gbpages = opts.gbpages ?? false;
    if (opts.hugetlbPages?.['1G'] !== undefined && !this.gbpages) throw new RangeError('a 1 GiB hugetlb pool needs gbpages (a CPU with 1 GiB pages)');
    this.hugeLimit = [opts.hugetlbPages?.['2M'] ?? Number.POSITIVE_INFINITY, opts.hugetlbPages?.['1G'] ?? Number.POSITIVE_INFINITY];
    const nregions = Math.ceil(this.totalFrames / R_FRAMES);
    for (let k = 0; k < nregions; k++) {
      const r = new Region(k, Math.min(R_FRAMES, this.totalFrames - k * R_FRAMES));
      this.regions.push(r);
      this.freeRegions.add(k);
      if (r.full) this.fullFreeRegions++;
      for (let b = 0; b < r.nblocks; b++) if (r.blockCap(b) === B_FRAMES) this.freeHugeBlocks++;
    }
  }

  // ---------------------------------------------------------------------------
  // allocation

  /**
   * Allocate a naturally aligned folio of `order` (0, 9 or 18). Returns its head
   * PFN, or -1 when no memory fits (or the fault point fired). The folio starts
   * with no references.
   */
  allocFolio(order: number, opts?: AllocOptions): number {
    this.pinGen++;
    const hugetlb = opts?.hugetlb === true;
    const reserved = opts?.reserved === true;
    if (order !== 0 && order !== PMD_ORDER && order !== PUD_ORDER) throw new RangeError(`unsupported folio order ${order}`);
    const hi = order === PUD_ORDER ? 1 : 0;
    if (hugetlb) {
      if (order === 0) throw new RangeError('hugetlb folios are order 9 or 18');
      if (reserved) {
        if (this.hugeResv[hi] + this.hugeRestore[hi] <= 0) {
          this.warn?.warn('hugetlb.resv_underflow');
          return -1;
        }
      } else if (this.hugeInUse[hi] + this.hugeResv[hi] >= this.hugeLimit[hi]) return -1;
    }
    // should_fail_alloc_page(): below min-order, or __GFP_HIGHMEM with ignore-gfp-highmem, is no point
    if (!hugetlb && order >= this.faultMinOrder && (opts?.kernel === true || !this.ignoreHighmem) && this.faults?.shouldFail(FP_ALLOC_PAGES)) return -1;
    if (reserved) this.hugeResv[hi]--;
    let pfn: number;
    // RAM holding user page tables is not there for folios
    if (this.inUse + this.tables + (1 << order) > this.totalFrames) pfn = -1;
    else if (order === 0) pfn = this.allocSmall();
    else if (order === PMD_ORDER) pfn = this.allocHuge(reserved);
    else pfn = this.allocGiga(reserved);
    if (pfn < 0) {
      if (order === 0) this.refusals++;
      if (reserved) this.hugeResv[hi]++;
      return -1;
    }
    this.inUse += 1 << order;
    if (hugetlb) {
      this.hugeInUse[hi]++;
      const i = pfn & R_MASK;
      this.regionOf(pfn).meta(i >>> B_SHIFT)[((i & B_MASK) << 1) + 1] |= F_HUGETLB;
    }
    return pfn;
  }

  private regionOf(pfn: number): Region {
    return this.regions[pfn >>> R_SHIFT];
  }

  private allocSmall(): number {
    const sb = this.smallBlocks;
    if (sb.size === 0 || (this.prng !== null && sb.size < ACTIVE_BLOCKS)) this.openBlock(BLOCK_SMALL, false);
    if (sb.size === 0) return -1;
    const g = this.prng ? sb.items[this.prng.below(sb.size)] : sb.min();
    const r = this.regions[g >>> (R_SHIFT - B_SHIFT)];
    const b = g & (B_PER_R - 1);
    const bit = this.findFreeFrame(r, b);
    const m = r.meta(b);
    m[BM_OFF + (bit >>> 5)] |= 1 << (bit & 31);
    if (--r.blockFree[b] === 0) sb.delete(g);
    m[(bit << 1) + 1] = F_ALLOC;
    return r.base + b * B_FRAMES + bit;
  }

  private findFreeFrame(r: Region, b: number): number {
    const bm = r.meta(b);
    const w0 = BM_OFF;
    const s = this.prng ? this.prng.below(B_FRAMES) : 0;
    const sw = s >>> 5;
    const low = (s & 31) === 0 ? 0 : (1 << (s & 31)) - 1;
    let free = ~(bm[w0 + sw] | low);
    if (free !== 0) return sw * 32 + ctz32(free);
    for (let k = 1; k <= WORDS_PER_BLOCK; k++) {
      const w = (sw + k) % WORDS_PER_BLOCK;
      free = ~bm[w0 + w];
      if (free !== 0) return w * 32 + ctz32(free);
    }
    throw new Error(`physical-memory: block ${r.index}:${b} has no free frame`);
  }

  /** Units the hugetlb reservations hold back from unreserved block allocations. */
  private blocksHeld(): number {
    return this.hugeResv[0] + B_PER_R * this.hugeResv[1];
  }

  /**
   * Take a free 2 MiB block for order-0 frames (kind SMALL) or an order-9
   * folio (kind HUGE). Prefers regions already in use. Returns the global block
   * number or -1.
   */
  private openBlock(kind: number, reserved: boolean): number {
    const allowFull = reserved || this.freeHugeBlocks - 1 >= this.blocksHeld();
    if (kind === BLOCK_HUGE && !allowFull) return -1;
    if (this.partialRegions.size > 0) {
      for (const ri of this.partialRegions.order(this.prng)) {
        const r = this.regions[ri];
        const b = this.findFreeBlock(r, kind === BLOCK_HUGE, allowFull);
        if (b >= 0) return this.takeBlock(r, b, kind);
      }
    }
    for (const ri of this.freeRegions.order(this.prng)) {
      const r = this.regions[ri];
      if (r.full && this.fullFreeRegions - 1 < this.hugeResv[1]) continue;
      const b = this.findFreeBlock(r, kind === BLOCK_HUGE, allowFull);
      if (b < 0) continue;
      this.leaveFreeRegions(r, REGION_PARTIAL);
      return this.takeBlock(r, b, kind);
    }
    return -1;
  }

  private findFreeBlock(r: Region, needFull: boolean, allowFull: boolean): number {
    const n = r.nblocks;
    const s = this.prng ? this.prng.below(n) : 0;
    const st = r.materialized ? r.blockState : null;
    for (let k = 0; k < n; k++) {
      const b = (s + k) % n;
      if (st && st[b] !== BLOCK_FREE) continue;
      const full = r.blockCap(b) === B_FRAMES;
      if (full ? allowFull : !needFull) return b;
    }
    return -1;
  }

  private leaveFreeRegions(r: Region, state: number): void {
    r.materialize();
    this.freeRegions.delete(r.index);
    if (r.full) this.fullFreeRegions--;
    r.state = state;
    if (state === REGION_PARTIAL) this.partialRegions.add(r.index);
  }

  private takeBlock(r: Region, b: number, kind: number): number {
    r.blockState[b] = kind;
    const cap = r.blockCap(b);
    if (cap === B_FRAMES) this.freeHugeBlocks--;
    if (--r.freeBlocks === 0) this.partialRegions.delete(r.index);
    const g = r.index * B_PER_R + b;
    if (kind === BLOCK_SMALL) {
      r.blockFree[b] = cap;
      const m = r.meta(b);
      for (let bit = cap; bit < B_FRAMES; bit++) m[BM_OFF + (bit >>> 5)] |= 1 << (bit & 31);
      this.smallBlocks.add(g);
    } else {
      r.blockRef[b] = 0;
      r.blockMap[b] = 0;
    }
    return g;
  }

  private allocHuge(reserved: boolean): number {
    const g = this.openBlock(BLOCK_HUGE, reserved);
    if (g < 0) return -1;
    const r = this.regions[g >>> (R_SHIFT - B_SHIFT)];
    const b = g & (B_PER_R - 1);
    const m = r.meta(b);
    for (let k = 0; k < B_FRAMES; k++) m[(k << 1) + 1] = F_ALLOC;
    return r.base + b * B_FRAMES;
  }

  private allocGiga(reserved: boolean): number {
    if (!reserved && this.fullFreeRegions - 1 < this.hugeResv[1]) return -1;
    if (!reserved && this.freeHugeBlocks - B_PER_R < this.blocksHeld()) return -1;
    for (const ri of this.freeRegions.order(this.prng)) {
      const r = this.regions[ri];
      if (!r.full) continue;
      this.leaveFreeRegions(r, REGION_GIGA);
      r.blockState.fill(BLOCK_GIGA);
      r.freeBlocks = 0;
      this.freeHugeBlocks -= B_PER_R;
      for (let b = 0; b < B_PER_R; b++) {
        const m = r.meta(b);
        for (let k = 0; k < B_FRAMES; k++) m[(k << 1) + 1] = F_ALLOC;
      }
      r.blockMap.fill(0);
      r.gigaRef = 0;
      return r.base;
    }
    return -1;
  }

  private freeFolio(head: number, order: number): void {
    this.pinGen++;
    this.freed++;
    const r = this.regionOf(head);
    const i = head & R_MASK;
    this.inUse -= 1 << order;
    this.dropData(head, 1 << order);
    if (order === 0) {
      const b = i >>> B_SHIFT;
      const bit = i & (B_FRAMES - 1);
      const m = r.meta(b);
      m[(bit << 1) + 1] = 0;
      m[BM_OFF + (bit >>> 5)] &= ~(1 << (bit & 31));
      const g = r.index * B_PER_R + b;
      if (++r.blockFree[b] === r.blockCap(b)) {
        this.smallBlocks.delete(g);
        this.blockToFree(r, b);
      } else if (r.blockFree[b] === 1) this.smallBlocks.add(g);
      return;
    }
    const fl = r.flags(i);
    if (fl & F_HUGETLB) {
      const hi = order === PUD_ORDER ? 1 : 0;
      this.hugeInUse[hi]--;
      // free_huge_folio(): the reservation the folio's zap restored is counted again now
      if (fl & F_RESTORE_RESV) {
        this.hugeResv[hi]++;
        this.hugeRestore[hi]--;
      }
    }
    if (order === PMD_ORDER) {
      const b = i >>> B_SHIFT;
      r.meta(b).fill(0);
      r.blockMap[b] = 0;
      this.blockToFree(r, b);
      return;
    }
    for (const m of r.metas) m?.fill(0);
    r.blockState.fill(BLOCK_FREE);
    r.blockMap.fill(0);
    r.freeBlocks = r.nblocks;
    this.freeHugeBlocks += B_PER_R;
    r.state = REGION_FREE;
    this.freeRegions.add(r.index);
    this.fullFreeRegions++;
  }

  private blockToFree(r: Region, b: number): void {
    r.blockState[b] = BLOCK_FREE;
    r.meta(b).fill(0, BM_OFF, BM_OFF + WORDS_PER_BLOCK);
    if (r.blockCap(b) === B_FRAMES) this.freeHugeBlocks++;
    r.freeBlocks++;
    if (r.freeBlocks === r.nblocks) {
      this.partialRegions.delete(r.index);
      r.state = REGION_FREE;
      this.freeRegions.add(r.index);
      if (r.full) this.fullFreeRegions++;
    } else if (r.freeBlocks === 1) this.partialRegions.add(r.index);
  }

  private dropData(head: number, n: number): void {
    const d = this.data;
    if (d.size === 0) return;
    if (n <= d.size) {
      for (let k = 0; k < n; k++) d.delete(head + k);
      return;
    }
    for (const pfn of d.keys()) if (pfn >= head && pfn < head + n) d.delete(pfn);
  }

  // ---------------------------------------------------------------------------
  // hugetlb pool

  /** A hugetlb page size of this order is registered (size_to_hstate()): 2 MiB always, 1 GiB with gbpages. */
  hasHstate(order: number): boolean {
    return order === PMD_ORDER || (order === PUD_ORDER && this.gbpages);
  }

  /** hugetlb_acct_memory(): reserve `n` huge pages of `order`; false when the pool cannot promise them. */
  hugetlbReserve(order: number, n: number): boolean {
    if (n === 0) return true;
    const hi = order === PUD_ORDER ? 1 : 0;
    if (this.hugeInUse[hi] + this.hugeResv[hi] + n > this.hugeLimit[hi]) return false;
    if (hi === 0) {
      if (this.freeHugeBlocks - this.blocksHeld() < n) return false;
    } else {
      if (this.fullFreeRegions - this.hugeResv[1] < n) return false;
      if (this.freeHugeBlocks - this.blocksHeld() < n * B_PER_R) return false;
    }
    this.hugeResv[hi] += n;
    return true;
  }

  hugetlbUnreserve(order: number, n: number): void {
    const hi = order === PUD_ORDER ? 1 : 0;
    // (below zero only by what the folios marked to restore will give back)
    const have = this.hugeResv[hi] + this.hugeRestore[hi];
    if (this.warn?.on(have < n, 'hugetlb.unreserve_underflow')) n = Math.max(0, have);
    this.hugeResv[hi] -= n;
  }

  /**
   * Mark the hugetlb folio at `head` to give a reservation back when it is
   * freed (__unmap_hugepage_range() on a private owner's last mapping of an
   * anonymous folio, unless the pool has surplus pages).
   */
  hugetlbRestoreReserve(head: number, order: number): void {
    const hi = order === PUD_ORDER ? 1 : 0;
    if (this.hasFlag(head, F_RESTORE_RESV) || this.hugetlbStats(order).surplus > 0) return;
    this.setFlag(head, F_RESTORE_RESV, true);
    this.hugeRestore[hi]++;
  }

  /**
   * The reservations the pool owes of one huge size: resv_huge_pages and what
   * the folios marked to restore will add (what the VMAs and files hold).
   */
  hugetlbReservationsOwed(order: number): number {
    const hi = order === PUD_ORDER ? 1 : 0;
    return this.hugeResv[hi] + this.hugeRestore[hi];
  }

  /**
   * Pool state of one huge size, like /sys/kernel/mm/hugepages/hugepages-*kB:
   * `reserved` may be below zero (hugeResv); surplus pages are those in use or
   * reserved beyond the limit (a pool shrunk under them).
   */
  hugetlbStats(order: number): { limit: number; inUse: number; reserved: number; surplus: number } {
    const hi = order === PUD_ORDER ? 1 : 0;
    const held = this.hugeInUse[hi] + this.hugeResv[hi];
    return { limit: this.hugeLimit[hi], inUse: this.hugeInUse[hi], reserved: this.hugeResv[hi], surplus: Math.max(0, held - this.hugeLimit[hi]) };
  }

  setHugetlbLimit(order: number, n: number): void {
    this.hugeLimit[order === PUD_ORDER ? 1 : 0] = n;
  }

  // ---------------------------------------------------------------------------
  // references (hot paths: no allocation, no bigint). Frames past RAM (the zero
  // page, kernel data pages such as the vDSO's) hold no counted references.

  /** One more reference on a frame (PTE mapping or FOLL_GET). */
  getFrame(pfn: number): void {
    if (pfn >= this.zeroPfn) return;
    const r = this.regions[pfn >>> R_SHIFT];
    const i = pfn & R_MASK;
    r.meta(i >>> B_SHIFT)[(i & B_MASK) << 1]++;
    const st = r.blockState[i >>> B_SHIFT];
    if (st === BLOCK_HUGE) r.blockRef[i >>> B_SHIFT]++;
    else if (st === BLOCK_GIGA) r.gigaRef++;
  }

  /** Drop a reference taken by getFrame(); frees the folio with its last reference. */
  putFrame(pfn: number): void {
    if (pfn >= this.zeroPfn) return;
    const r = this.regions[pfn >>> R_SHIFT];
    const i = pfn & R_MASK;
    const m = r.meta(i >>> B_SHIFT);
    const j = (i & B_MASK) << 1;
    if (m[j] <= 0) {
      this.warn?.warn('put_page.underflow', `pfn ${pfn}`);
      return;
    }
    this.dropFolioRef(r, i, --m[j]);
  }

  /** A FOLL_PIN pin: one reference and one pin on the frame. */
  pinFrame(pfn: number): void {
    if (pfn >= this.zeroPfn) return;
    this.pinGen++;
    const r = this.regions[pfn >>> R_SHIFT];
    const i = pfn & R_MASK;
    const m = r.meta(i >>> B_SHIFT);
    const j = (i & B_MASK) << 1;
    m[j]++;
    m[j + 1]++;
    const st = r.blockState[i >>> B_SHIFT];
    if (st === BLOCK_HUGE) r.blockRef[i >>> B_SHIFT]++;
    else if (st === BLOCK_GIGA) r.gigaRef++;
  }

  /** unpin_user_page(): drop one pin and its reference; `dirty` marks the frame dirty first. */
  unpinFrame(pfn: number, dirty: boolean): void {
    if (pfn >= this.zeroPfn) return;
    this.pinGen++;
    const r = this.regions[pfn >>> R_SHIFT];
    const i = pfn & R_MASK;
    const m = r.meta(i >>> B_SHIFT);
    const j = (i & B_MASK) << 1;
    const p = m[j + 1];
    const ref = m[j];
    if ((p & PIN_MASK) === 0 || ref <= 0) {
      this.warn?.warn('unpin_user_page.underflow', `pfn ${pfn}`);
      return;
    }
    m[j + 1] = dirty ? (p - 1) | F_DIRTY : p - 1;
    m[j] = ref - 1;
    this.dropFolioRef(r, i, ref - 1);
  }

  /**
   * unpin `n` consecutive frames inside one 2 MiB block (a run of one huge
   * folio, or order-0 frames): per-frame updates, one folio-total update.
   */
  unpinRange(pfn: number, n: number, dirty: boolean): void {
    if (pfn >= this.zeroPfn) return;
    this.pinGen++;
    const r = this.regions[pfn >>> R_SHIFT];
    const i0 = pfn & R_MASK;
    const b = i0 >>> B_SHIFT;
    const st = r.blockState[b];
    if (st === BLOCK_SMALL || n === 1) {
      for (let k = 0; k < n; k++) this.unpinFrame(pfn + k, dirty);
      return;
    }
    const m = r.meta(b);
    const f = dirty ? F_DIRTY : 0;
    const k0 = i0 & B_MASK;
    for (let j = k0 << 1; j < (k0 + n) << 1; j += 2) {
      const p = m[j + 1];
      if ((p & PIN_MASK) === 0 || m[j] <= 0) {
        // undo nothing: fall back to the checked path for the rest
        const done = (j >> 1) - k0;
        if (done) this.dropFolioRefs(r, b, st, done);
        for (let k = done; k < n; k++) this.unpinFrame(pfn + k, dirty);
        return;
      }
      m[j + 1] = (p - 1) | f;
      m[j]--;
    }
    this.dropFolioRefs(r, b, st, n);
  }

  private dropFolioRefs(r: Region, b: number, st: number, n: number): void {
    if (st === BLOCK_HUGE) {
      if ((r.blockRef[b] -= n) === 0) this.freeFolio(r.base + b * B_FRAMES, PMD_ORDER);
    } else if ((r.gigaRef -= n) === 0) this.freeFolio(r.base, PUD_ORDER);
  }

  /**
   * Get (pin=false) or pin `n` consecutive frames inside one 2 MiB block
   * (one huge folio, or order-0 frames): per-frame counts plus one
   * folio-total update.
   */
  grabRange(pfn: number, n: number, pin: boolean): void {
    if (pfn >= this.zeroPfn) return;
    if (pin) this.pinGen++;
    const r = this.regions[pfn >>> R_SHIFT];
    const i0 = pfn & R_MASK;
    const m = r.meta(i0 >>> B_SHIFT);
    const k0 = i0 & B_MASK;
    if (pin) {
      for (let j = k0 << 1; j < (k0 + n) << 1; j += 2) {
        m[j]++;
        m[j + 1]++;
      }
    } else for (let j = k0 << 1; j < (k0 + n) << 1; j += 2) m[j]++;
    const st = r.blockState[i0 >>> B_SHIFT];
    if (st === BLOCK_HUGE) r.blockRef[i0 >>> B_SHIFT] += n;
    else if (st === BLOCK_GIGA) r.gigaRef += n;
    // order-0 frames: each frame's ref is its folio's total already
  }

  /** A reference on frame i of `r` went away; `left` is the frame's remaining count. */
  private dropFolioRef(r: Region, i: number, left: number): void {
    const b = i >>> B_SHIFT;
    const st = r.blockState[b];
    if (st === BLOCK_SMALL) {
      if (left === 0) this.freeFolio(r.base + i, 0);
    } else if (st === BLOCK_HUGE) {
      if (--r.blockRef[b] === 0) this.freeFolio(r.base + b * B_FRAMES, PMD_ORDER);
    } else if (st === BLOCK_GIGA) {
      if (--r.gigaRef === 0) this.freeFolio(r.base, PUD_ORDER);
    }
  }

  /** A PMD-size page-table entry now maps the 2 MiB slice starting at `pfn` (of a huge folio). */
  mapHuge(pfn: number): void {
    const r = this.regions[pfn >>> R_SHIFT];
    const b = (pfn & R_MASK) >>> B_SHIFT;
    r.blockMap[b]++;
    if (r.blockState[b] === BLOCK_HUGE) r.blockRef[b]++;
    else r.gigaRef++;
  }

  /** The PMD-size entry mapping the slice at `pfn` is gone. */
  unmapHuge(pfn: number): void {
    const r = this.regions[pfn >>> R_SHIFT];
    const b = (pfn & R_MASK) >>> B_SHIFT;
    if (r.blockMap[b] <= 0) {
      this.warn?.warn('unmap_huge.underflow', `pfn ${pfn}`);
      return;
    }
    r.blockMap[b]--;
    if (r.blockState[b] === BLOCK_HUGE) {
      if (--r.blockRef[b] === 0) this.freeFolio(r.base + b * B_FRAMES, PMD_ORDER);
    } else if (--r.gigaRef === 0) this.freeFolio(r.base, PUD_ORDER);
  }

  // ---------------------------------------------------------------------------
  // queries

  private valid(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this.totalFrames;
  }

  isAllocated(pfn: number): boolean {
    if (!this.valid(pfn)) return false;
    const r = this.regionOf(pfn);
    return r.materialized && (r.flags(pfn & R_MASK) & F_ALLOC) !== 0;
  }

  /** Page-table mappings + GUP references of the frame (0 for free frames). */
  refcount(pfn: number): number {
    if (pfn === this.zeroPfn) return 1;
    if (!this.isAllocated(pfn)) return 0;
    const r = this.regionOf(pfn);
    const i = pfn & R_MASK;
    return r.meta(i >>> B_SHIFT)[(i & B_MASK) << 1] + r.blockMap[i >>> B_SHIFT];
  }

  /**
   * A count that moves whenever any frame's pincount() may: every pin and
   * unpin, every folio allocated or freed (audit memos).
   */
  get pinChanges(): number {
    return this.pinGen;
  }

  /**
   * A count that moves whenever a folio is freed (and never otherwise): a
   * state where only allocations happened holds every frame it held before.
   */
  get foliosFreed(): number {
    return this.freed;
  }

  /**
   * Order-0 folios and page tables refused because RAM was full (not by a
   * fault point). The kernel would reclaim or call the OOM killer there; the
   * model fails the allocation (for the differential oracle: where a run
   * starts to part from a real kernel's for want of memory).
   */
  get ramRefusals(): number {
    return this.refusals;
  }

  /**
   * An allocation its caller found RAM could not meet without trying it (a
   * shmem fallocate() that free memory cannot satisfy, MemFile.allocate()):
   * counted as a refusal, where the kernel's loop would have reclaimed and
   * called the OOM killer.
   */
  refuseForRam(): void {
    this.refusals++;
  }

  /** FOLL_PIN pins held on the frame. */
  pincount(pfn: number): number {
    if (!this.isAllocated(pfn)) return 0;
    return this.regionOf(pfn).flags(pfn & R_MASK) & PIN_MASK;
  }

  /** Order of the folio holding the frame, -1 if the frame is free. */
  folioOrder(pfn: number): number {
    if (pfn === this.zeroPfn) return 0;
    if (!this.isAllocated(pfn)) return -1;
    const r = this.regionOf(pfn);
    const st = r.blockState[(pfn & R_MASK) >>> B_SHIFT];
    return st === BLOCK_SMALL ? 0 : st === BLOCK_HUGE ? PMD_ORDER : PUD_ORDER;
  }

  /** Head PFN of the folio holding the frame, -1 if the frame is free. */
  folioHead(pfn: number): number {
    const o = this.folioOrder(pfn);
    if (o < 0) return -1;
    return pfn - (pfn % 2 ** o);
  }

  /** folio_ref_count(): per-frame references of all its frames plus one per PMD-size mapping. */
  folioRefcount(head: number): number {
    if (head === this.zeroPfn) return 1;
    const o = this.folioOrder(head);
    if (o < 0) return 0;
    const r = this.regionOf(head);
    const i = head & R_MASK;
    if (o === 0) return r.meta(i >>> B_SHIFT)[(i & B_MASK) << 1];
    if (o === PMD_ORDER) return r.blockRef[i >>> B_SHIFT];
    return r.gigaRef;
  }

  /** Pins on the whole folio (sum of pincount() over its frames): folio_maybe_dma_pinned() when > 0. */
  folioPincount(head: number): number {
    const o = this.folioOrder(head);
    if (o < 0 || head === this.zeroPfn) return 0;
    const h = this.folioHead(head);
    const r = this.regionOf(h);
    const i0 = h & R_MASK;
    let s = 0;
    for (let i = i0; i < i0 + 2 ** o; i++) s += r.flags(i) & PIN_MASK;
    return s;
  }

  /** PMD-size mappings of the 2 MiB slice holding `pfn` (the mapcount of a hugetlb folio). */
  hugeMapcount(pfn: number): number {
    if (!this.isAllocated(pfn)) return 0;
    const r = this.regionOf(pfn);
    return r.blockMap[(pfn & R_MASK) >>> B_SHIFT];
  }

  isHugetlb(pfn: number): boolean {
    const h = this.folioHead(pfn);
    return h >= 0 && h !== this.zeroPfn && (this.regionOf(h).flags(h & R_MASK) & F_HUGETLB) !== 0;
  }

  isDirty(pfn: number): boolean {
    return this.hasFlag(pfn, F_DIRTY);
  }

  setDirty(pfn: number, dirty: boolean): void {
    this.setFlag(pfn, F_DIRTY, dirty);
  }

  private hasFlag(pfn: number, flag: number): boolean {
    return this.isAllocated(pfn) && (this.regionOf(pfn).flags(pfn & R_MASK) & flag) !== 0;
  }

  private setFlag(pfn: number, flag: number, on: boolean): void {
    if (!this.isAllocated(pfn)) return;
    const i = pfn & R_MASK;
    const m = this.regionOf(pfn).meta(i >>> B_SHIFT);
    const j = ((i & B_MASK) << 1) + 1;
    if (on) m[j] |= flag;
    else m[j] &= ~flag;
  }

  /**
   * folio_test_swapbacked() false on an anonymous folio (folio_mark_lazyfree()): set by
   * MADV_FREE, kept on the folio's head frame, cleared by allocation and folio_set_swapbacked().
   */
  isLazyfree(head: number): boolean {
    return this.hasFlag(head, F_LAZYFREE);
  }

  setLazyfree(head: number, on: boolean): void {
    this.setFlag(head, F_LAZYFREE, on);
  }

  /** Every byte of frame `pfn` is 0 (pages_identical() with the zero page). */
  isZeroFilled(pfn: number): boolean {
    if (this.backing !== undefined) {
      this.read(pfn, 0, zeroCheckPage, 0, PAGE_SIZE);
      return sameByte(zeroCheckPage, 0, PAGE_SIZE) === 0;
    }
    const page = this.data.get(pfn);
    return page === undefined || sameByte(page, 0, PAGE_SIZE) === 0;
  }

  /**
   * split_folio() of an order-9 folio no PMD maps any more (its pages mapped
   * by PTEs, so each frame's references are its own): 512 order-0 folios in
   * its place, each keeping its frame's references and pins and taking the
   * folio's dirty and lazy-free state (__split_folio_to_order() copies the
   * flags to every page); a frame nothing references any more is freed. False,
   * changing nothing, for any other folio (hugetlb, still PMD-mapped, small).
   */
  splitFolio(head: number): boolean {
    if (this.folioOrder(head) !== PMD_ORDER || head % B_FRAMES !== 0) return false;
    const r = this.regionOf(head);
    const b = (head & R_MASK) >>> B_SHIFT;
    const m = r.meta(b);
    if (r.blockMap[b] !== 0 || m[1] & F_HUGETLB) return false;
    let inherit = m[1] & F_LAZYFREE;
    for (let k = 0; k < B_FRAMES; k++) inherit |= m[(k << 1) + 1] & F_DIRTY;
    for (let k = 0; k < B_FRAMES; k++) m[(k << 1) + 1] |= inherit;
    m.fill(-1, BM_OFF, BM_OFF + WORDS_PER_BLOCK);
    r.blockState[b] = BLOCK_SMALL;
    r.blockFree[b] = 0;
    r.blockRef[b] = 0;
    this.pinGen++;
    for (let k = 0; k < B_FRAMES; k++) if (m[k << 1] === 0) this.freeFolio(head + k, 0);
    return true;
  }

  /** Frames held by allocated folios (for leak checks). */
  framesInUse(): number {
    return this.inUse;
  }

  /** Frames neither in folios nor in user page tables. */
  freeFrames(): number {
    return this.totalFrames - this.inUse - this.tables;
  }

  /**
   * pte_alloc_one() for a user address space (GFP_PGTABLE_USER): a page of RAM
   * for one page table, false when none is free or the page allocator's fault
   * point fires (an order-0 allocation, so only below fail_page_alloc's
   * min-order). `force`: counted even so, where the model cannot fail (the
   * table of a page-cache page already in RAM), so RAM may run over by a
   * table or two. The page has no PFN here: nothing maps, pins or reads it.
   * Not charged to the memcg (user pages are not either).
   */
  allocTable(force = false): boolean {
    if (!force) {
      if (0 >= this.faultMinOrder && this.faults?.shouldFail(FP_ALLOC_PAGES)) return false;
      if (this.inUse + this.tables >= this.totalFrames || this.tables >= MAX_USER_TABLES) {
        this.refusals++;
        return false;
      }
    }
    this.tables++;
    return true;
  }

  /**
   * __get_free_page() of a page a system call gives back before it returns
   * (mincore()'s buffer of entries): false when the page allocator's fault
   * point fires (an order-0 allocation, so only below fail_page_alloc's
   * min-order) or no page is free (a refusal, as allocTable()'s). Nothing is
   * held afterwards.
   */
  tempPage(): boolean {
    if (0 >= this.faultMinOrder && this.faults?.shouldFail(FP_ALLOC_PAGES)) return false;
    if (this.inUse + this.tables >= this.totalFrames) {
      this.refusals++;
      return false;
    }
    return true;
  }

  /** pte_free(): give back a page allocTable() took. */
  freeTable(): void {
    this.warn?.on(this.tables <= 0, 'pte_free.underflow');
    if (this.tables > 0) this.tables--;
  }

  /** User page-table pages counted now (a leak check: 0 once every address space is gone). */
  tablePages(): number {
    return this.tables;
  }

  /** Bytes of per-frame metadata allocated so far (regions materialize on first use). */
  metadataBytes(): number {
    let b = 0;
    for (const r of this.regions)
      if (r.materialized) b += r.metas.reduce((n, m) => n + (m?.byteLength ?? 0), 0) + r.blockState.byteLength + r.blockFree.byteLength + r.blockMap.byteLength + r.blockRef.byteLength;
    return b;
  }

  /** Every allocated folio as [head, order] (for audits; walks only materialized regions). */
  *folios(): Generator<[number, number]> {
    for (const r of this.regions) {
      if (!r.materialized || r.state === REGION_FREE) continue;
      if (r.state === REGION_GIGA) {
        yield [r.base, PUD_ORDER];
        continue;
      }
      for (let b = 0; b < r.nblocks; b++) {
        const st = r.blockState[b];
        if (st === BLOCK_HUGE) yield [r.base + b * B_FRAMES, PMD_ORDER];
        else if (st === BLOCK_SMALL) {
          for (let i = b * B_FRAMES; i < b * B_FRAMES + r.blockCap(b); i++) if (r.flags(i) & F_ALLOC) yield [r.base + i, 0];
        }
      }
    }
  }

  // ---------------------------------------------------------------------------
  // contents

  /**
   * Where frame contents live when a real process holds them (the bridge):
   * copy(pfn, offset, buf, bufOff, len, write) returns false for a frame it
   * does not back, whose contents are then the model's own.
   */
  backing: FrameBacking | undefined;

  /** Copy `len` bytes of frame `pfn` from `offset` into dst[dstOff..]. */
  read(pfn: number, offset: number, dst: Uint8Array, dstOff: number, len: number): void {
    if (this.backing?.copy(pfn, offset, dst, dstOff, len, false)) return;
    const page = this.data.get(pfn);
    if (page) dst.set(page.subarray(offset, offset + len), dstOff);
    else dst.fill(0, dstOff, dstOff + len);
  }

  /** Copy src[srcOff..srcOff+len) into frame `pfn` at `offset`; marks the frame dirty. */
  write(pfn: number, offset: number, src: Uint8Array, srcOff: number, len: number): void {
    if (pfn === this.zeroPfn) {
      this.warn?.warn('write_zero_page', 'write to the shared zero page');
      return;
    }
    if (!this.backing?.copy(pfn, offset, src, srcOff, len, true)) this.store(pfn, offset, src, srcOff, len);
    const i = pfn & R_MASK;
    this.regionOf(pfn).meta(i >>> B_SHIFT)[((i & B_MASK) << 1) + 1] |= F_DIRTY;
  }

  /**
   * The contents of a page past RAM and the zero page: kernel data a special
   * mapping shows (the vDSO's [vvar]). User reads of such a frame see them;
   * it holds no references and user writes to frames past RAM go nowhere.
   */
  setKernelPage(pfn: number, contents: Uint8Array): void {
    if (this.warn?.on(pfn <= this.zeroPfn || contents.length > PAGE_SIZE, 'set_kernel_page.range', `pfn ${pfn}`)) return;
    const page = new Uint8Array(PAGE_SIZE);
    page.set(contents);
    this.data.set(pfn, page);
  }

  /** Write the model's own copy of a frame's contents (no backing, no dirty mark): the bridge's snapshots. */
  store(pfn: number, offset: number, src: Uint8Array, srcOff: number, len: number): void {
    if (len === PAGE_SIZE) {
      // (a uniform page as the source, the scratch populate's zeros: its byte, without a scan)
      const b = srcOff === 0 && src.length === PAGE_SIZE && isUniformPage(src) ? src[0] : sameByte(src, srcOff, len);
      if (b === 0) {
        this.data.delete(pfn);
        return;
      }
      if (b > 0) {
        this.data.set(pfn, uniformPage(b));
        return;
      }
    }
    let page = this.data.get(pfn);
    if (!page) {
      page = new Uint8Array(PAGE_SIZE);
      this.data.set(pfn, page);
    } else if (isUniformPage(page)) {
      page = page.slice();
      this.data.set(pfn, page);
    }
    page.set(src.subarray(srcOff, srcOff + len), offset);
  }

  /** copy_user_highpage(): dst gets src's contents (zero page or unwritten → zeros). */
  copyFrame(dst: number, src: number): void {
    if (this.backing !== undefined) {
      const buf = new Uint8Array(PAGE_SIZE);
      this.read(src, 0, buf, 0, PAGE_SIZE);
      this.data.set(dst, buf);
      return;
    }
    const page = this.data.get(src);
    if (page) this.data.set(dst, isUniformPage(page) ? page : page.slice());
    else this.data.delete(dst);
  }

  /** Contents of a written page (undefined = all zeros). Read-only view for tests. */
  pageData(pfn: number): Uint8Array | undefined {
    return this.data.get(pfn);
  }

  /** Pages with allocated contents. */
  writtenPages(): number {
    return this.data.size;
  }
}
