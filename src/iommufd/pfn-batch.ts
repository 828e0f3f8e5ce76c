// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct pfn_batch (pages.c): a list of runs of physically contiguous PFNs,
 * `pfns[k] .. pfns[k] + npfns[k] - 1`, for consecutive page indexes. Batches
 * end where a new run would start, so pushing a batch to a domain makes one
 * map call per run.
 *
 * Storage comes from temp_kmalloc(): capacity = bytes / 12, capped at the temp
 * memory limit (65536 B → 5461 entries), with a 256 B on-stack backup (21
 * entries) for destroy paths that must not fail. The test limit of 12 bytes
 * gives a one-entry batch, which is how the selftests force carries.
 */
import { ENOMEM, EINVAL } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { U32_MAX } from '../base/u64.js';
import type { IommufdEnv } from './env.js';
import { PAGE_SIZE } from '../mm/constants.js';
import { cover, coverSites } from '../base/coverage.js';

/** sizeof(unsigned long) + sizeof(u32): one batch entry. */
export const BATCH_ELEMENT_BYTES = 12;
/** BATCH_BACKUP_SIZE: 32 u64 on the stack of the destroy paths. */
export const BATCH_BACKUP_BYTES = 256;

/** iommufd_should_fail() in temp_kmalloc when no backup buffer exists. */
export const FP_TEMP_KMALLOC = faultPoint('temp_kmalloc', 'iommufd');
/** The kmalloc() calls of temp_kmalloc under failslab. */
export const FP_TEMP_KMALLOC_SLAB = faultPoint('temp_kmalloc.kmalloc', 'slab');
export const FP_TEMP_KMALLOC_PAGE = faultPoint('temp_kmalloc.kmalloc_page', 'slab');

/**
 * temp_kmalloc(): decide how many bytes a temporary buffer gets, or fail.
 * Returns the usable size in bytes or -ENOMEM. A request smaller than the
 * backup uses the backup but keeps its requested size (the kernel does not
 * update *size there); the last-resort fallback to the backup gives its size.
 */
export function tempKmallocSize(env: IommufdEnv, size: number, backupLen: number): number {
  if (env.warn.on(size === 0, 'temp_kmalloc.zero')) return -ENOMEM;
  if (size < backupLen) return size;
  if (backupLen === 0 && env.faults.shouldFail(FP_TEMP_KMALLOC)) return -ENOMEM;
  size = Math.min(size, env.tempMemoryLimit);
  if (!env.faults.shouldFail(FP_TEMP_KMALLOC_SLAB)) return size;
  // kmalloc(size) failed: fall back to one page.
  if (backupLen !== 0) {
    if (!env.faults.shouldFail(FP_TEMP_KMALLOC_PAGE)) return PAGE_SIZE;
    return backupLen;
  }
  if (env.faults.shouldFail(FP_TEMP_KMALLOC_PAGE)) return -ENOMEM;
  return PAGE_SIZE;
}

// Typed-array storage is recycled: a batch is per call, and per-call
// allocation of up to 5461-entry arrays would dominate small operations.
const pool = new Map<number, Uint32Array[]>();

function takeArray(len: number): Uint32Array {
  const list = pool.get(len);
  const a = list?.pop();
  return a ?? new Uint32Array(len);
}

function giveArray(a: Uint32Array): void {
  let list = pool.get(a.length);
  if (!list) pool.set(a.length, (list = []));
  if (list.length < 8) list.push(a);
}

/** enum batch_kind (7.x): what the PFNs of a batch are; one kind per batch. */
export const BATCH_CPU_MEMORY = 0;
/** PFNs of a dma-buf's physical range: no struct page, mapped IOMMU_MMIO. */
export const BATCH_MMIO = 1;

/** Coverage sites of PfnBatch's methods (base/coverage.ts). */
const COV_PfnBatch = coverSites('PfnBatch', ['init', 'destroy', 'clear', 'addFrom', 'takeKind', 'addRun', 'clearCarry', 'skipCarry', 'checkTotal']);

export class PfnBatch {
  pfns: Uint32Array = EMPTY;
  npfns: Uint32Array = EMPTY;
  arraySize = 0;
  end = 0;
  totalPfns = 0;
  kind = BATCH_CPU_MEMORY;

  /**
   * __batch_init(): size the batch for `maxPages` PFNs. Without a backup the
   * allocation may fail (-ENOMEM); with `backup` it cannot.
   */
  init(env: IommufdEnv, maxPages: number, backup: boolean): number {
    cover(COV_PfnBatch.init);
    const backupLen = backup ? BATCH_BACKUP_BYTES : 0;
    const size = tempKmallocSize(env, maxPages * BATCH_ELEMENT_BYTES, backupLen);
    if (size < 0) return size;
    if (env.warn.testOn(size < BATCH_ELEMENT_BYTES, 'batch_init.too_small')) return -EINVAL;
    this.arraySize = Math.floor(size / BATCH_ELEMENT_BYTES);
    this.pfns = takeArray(this.arraySize);
    this.npfns = takeArray(this.arraySize);
    this.clear();
    return 0;
  }

  destroy(): void {
    cover(COV_PfnBatch.destroy);
    if (this.pfns !== EMPTY) {
      giveArray(this.pfns);
      giveArray(this.npfns);
    }
    this.pfns = EMPTY;
    this.npfns = EMPTY;
    this.arraySize = 0;
    this.end = 0;
    this.totalPfns = 0;
  }

  /** batch_clear() */
  clear(): void {
    cover(COV_PfnBatch.clear);
    this.totalPfns = 0;
    this.end = 0;
    this.kind = BATCH_CPU_MEMORY;
    if (this.arraySize > 0) {
      this.pfns[0] = 0;
      this.npfns[0] = 0;
    }
  }

  /**
   * batch_add_pfn(): extend the last run when `pfn` continues it (even when the
   * batch is full), else open a new entry if there is room.
   */
  add(pfn: number): boolean {
    if (this.kind !== BATCH_CPU_MEMORY && !this.takeKind(BATCH_CPU_MEMORY)) return false;
    const end = this.end;
    if (end > 0) {
      const last = end - 1;
      const n = this.npfns[last];
      if (pfn === this.pfns[last] + n && n !== U32_MAX) {
        this.npfns[last] = n + 1;
        this.totalPfns++;
        return true;
      }
    }
    if (end === this.arraySize) return false;
    this.pfns[end] = pfn;
    this.npfns[end] = 1;
    this.end = end + 1;
    this.totalPfns++;
    return true;
  }

  /**
   * batch_add_pfn() of src[off], src[off + 1], ... up to n PFNs, stopping at
   * the first that does not fit: how many were added. One loop with the
   * batch's end in a local, for the per-page readers (batch_from_pages,
   * batch_from_domain).
   */
  addFrom(src: Uint32Array, off: number, n: number): number {
    cover(COV_PfnBatch.addFrom);
    if (this.kind !== BATCH_CPU_MEMORY && !this.takeKind(BATCH_CPU_MEMORY)) return 0;
    const pfns = this.pfns;
    const npfns = this.npfns;
    const cap = this.arraySize;
    let end = this.end;
    let k = 0;
    for (; k < n; k++) {
      const pfn = src[off + k];
      if (end > 0) {
        const c = npfns[end - 1];
        if (pfn === pfns[end - 1] + c && c !== U32_MAX) {
          npfns[end - 1] = c + 1;
          continue;
        }
      }
      if (end === cap) break;
      pfns[end] = pfn;
      npfns[end] = 1;
      end++;
    }
    this.end = end;
    this.totalPfns += k;
    return k;
  }

  /** A batch holds one kind of PFN: an empty batch takes any, a non-empty one only its own. */
  private takeKind(kind: number): boolean {
    cover(COV_PfnBatch.takeKind);
    if (this.kind === kind) return true;
    if (this.end !== 0) return false;
    this.kind = kind;
    return true;
  }

  /** batch_add_pfn_num(): `nr` PFNs from `pfn` as one run of `kind`; false (nothing added) when they do not fit. */
  addRun(pfn: number, nr: number, kind: number): boolean {
    cover(COV_PfnBatch.addRun);
    if (!this.takeKind(kind)) return false;
    const end = this.end;
    if (end > 0 && pfn === this.pfns[end - 1] + this.npfns[end - 1] && nr <= U32_MAX - this.npfns[end - 1]) {
      this.npfns[end - 1] += nr;
    } else if (end < this.arraySize) {
      this.pfns[end] = pfn;
      this.npfns[end] = nr;
      this.end = end + 1;
    } else return false;
    this.totalPfns += nr;
    return true;
  }

  /**
   * batch_clear_carry(): keep the trailing `keep` PFNs of the last entry as the
   * only entry. The v6.2 code wrote npfns[0] before reading the last entry
   * (wrong when the last entry is slot 0) and left end at 0.
   */
  clearCarry(env: IommufdEnv, keep: number): void {
    cover(COV_PfnBatch.clearCarry);
    if (keep === 0) {
      this.clear();
      return;
    }
    const end = this.end;
    const bad = end === 0 || this.npfns[end - 1] < keep;
    env.warn.testOn(bad, 'batch_clear_carry', bad ? `end=${end} keep=${keep}` : '');
    this.totalPfns = keep;
    const p = env.profile;
    if (p.carryWritesCountFirst) {
      this.npfns[0] = keep;
      this.pfns[0] = this.pfns[end - 1] + (this.npfns[end - 1] - keep);
    } else {
      this.pfns[0] = this.pfns[end - 1] + (this.npfns[end - 1] - keep);
      this.npfns[0] = keep;
    }
    this.end = p.carryLeavesEndZero ? 0 : 1;
  }

  /** batch_skip_carry(): drop the first `skip` PFNs of a single-entry carry. */
  skipCarry(env: IommufdEnv, skip: number): void {
    cover(COV_PfnBatch.skipCarry);
    if (this.totalPfns === 0) return;
    env.warn.testOn(this.totalPfns !== this.npfns[0], 'batch_skip_carry');
    skip = Math.min(this.totalPfns, skip);
    this.pfns[0] += skip;
    this.npfns[0] -= skip;
    this.totalPfns -= skip;
  }

  /** Model invariant: total_pfns equals the sum of the valid entries (broken by the v6.2 carry bugs). */
  checkTotal(env: IommufdEnv, where: string): void {
    cover(COV_PfnBatch.checkTotal);
    if (!env.warn.checks) return;
    let sum = 0;
    for (let k = 0; k < this.end; k++) sum += this.npfns[k];
    env.warn.on(sum !== this.totalPfns, 'pfn_batch.total', `${where}: total_pfns=${this.totalPfns} but entries sum to ${sum}`);
  }
}

const EMPTY = new Uint32Array(0);
