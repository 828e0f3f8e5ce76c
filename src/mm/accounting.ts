// SPDX-License-Identifier: GPL-2.0-only
/**
 * Memory accounting: the per-user locked_vm (struct user_struct), the per-mm
 * locked_vm / pinned_vm counters (fields of MmStruct) with
 * __account_locked_vm() (mm/util.c), and a memory cgroup for
 * GFP_KERNEL_ACCOUNT allocations. All counts are in pages except the memcg
 * (bytes).
 *
 * The iommufd core does its own incr_user_locked_vm() on UserStruct.lockedVm
 * (a compare-and-swap loop in the kernel); this module only provides the field.
 */
import { ENOMEM } from '../base/errno.js';
import type { MmStruct } from './address-space.js';
import { PAGE_SHIFT } from './constants.js';

/** struct user_struct: shared by every process of one uid. */
export class UserStruct {
  readonly uid: number;
  /** Pages charged by iommufd's USER accounting mode (and io_uring, RDMA, ... in the kernel). */
  lockedVm = 0;
  /** Processes of this user alive. */
  processes = 0;

  constructor(uid: number) {
    this.uid = uid;
  }
}

/** What __account_locked_vm() needs from the task whose RLIMIT_MEMLOCK applies. */
export interface RlimitTask {
  readonly rlimitMemlock: bigint;
}

/** A task with capabilities (for account_locked_vm()). */
export interface CapableTask extends RlimitTask {
  capable(cap: string): boolean;
}

/** RLIMIT_MEMLOCK of the task in pages (rlimit >> PAGE_SHIFT; RLIM_INFINITY gives 2^52 - 1). */
export function memlockLimitPages(task: RlimitTask): number {
  return Number(BigInt.asUintN(64, task.rlimitMemlock) >> BigInt(PAGE_SHIFT));
}

/**
 * __account_locked_vm(mm, pages, inc, task, bypass_rlim): charge (inc) or
 * uncharge `pages` to mm->locked_vm. An increment above RLIMIT_MEMLOCK of
 * `task` fails with -ENOMEM unless `bypassRlim` (callers pass
 * capable(CAP_IPC_LOCK) there; iommufd passes false). A decrement below zero
 * is a WARN; the model clamps at zero (the kernel lets the unsigned wrap).
 */
export function accountLockedVm(mm: MmStruct, pages: number, inc: boolean, task: RlimitTask, bypassRlim: boolean): number {
  const locked = mm.lockedVm;
  if (inc) {
    if (!bypassRlim && locked + pages > memlockLimitPages(task)) return -ENOMEM;
    mm.lockedVm = locked + pages;
    return 0;
  }
  if (pages > locked) {
    mm.opts.warn?.warn('__account_locked_vm.underflow', `${pages} > ${locked}`);
    mm.lockedVm = 0;
    return 0;
  }
  mm.lockedVm = locked - pages;
  return 0;
}

/**
 * account_locked_vm(mm, pages, inc): __account_locked_vm() for the calling
 * task, bypassing RLIMIT_MEMLOCK when it has CAP_IPC_LOCK; 0 pages is a no-op.
 */
export function accountLockedVmCapable(mm: MmStruct, pages: number, inc: boolean, task: CapableTask): number {
  if (pages === 0) return 0;
  return accountLockedVm(mm, pages, inc, task, task.capable('CAP_IPC_LOCK'));
}

/**
 * A memory cgroup: GFP_KERNEL_ACCOUNT allocations charge it, a charge over the
 * limit fails (the allocation returns -ENOMEM). Limit and usage in bytes.
 */
export class MemCgroup {
  readonly name: string;
  /** memory.max; unlimited by default. */
  limit: number;
  usage = 0;
  /** memory.peak. */
  peak = 0;
  /** Charges refused (memory.events max). */
  failcnt = 0;

  constructor(opts: { limit?: number; name?: string } = {}) {
    this.limit = opts.limit ?? Number.POSITIVE_INFINITY;
    this.name = opts.name ?? 'memcg';
  }

  /** Charge `bytes`; false (nothing charged) when it would pass the limit. */
  charge(bytes: number): boolean {
    if (this.usage + bytes > this.limit) {
      this.failcnt++;
      return false;
    }
    this.usage += bytes;
    if (this.usage > this.peak) this.peak = this.usage;
    return true;
  }

  uncharge(bytes: number): void {
    this.usage -= bytes;
    if (this.usage < 0) this.usage = 0;
  }
}
