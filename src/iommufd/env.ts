// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the iommufd core needs from the machine it runs on: the WARN sink, the
 * fault router (fail_nth of the calling task), the kernel profile, physical
 * memory, and the test-build knobs that are global in the kernel
 * (iommufd_test_memory_limit).
 */
import type { FaultRouter } from '../base/fault.js';
import type { Profile } from '../base/profile.js';
import type { WarnSink } from '../base/warn.js';
import type { PhysicalMemory } from '../mm/physical-memory.js';
import type { Task } from '../mm/task.js';

/** TEMP_MEMORY_LIMIT: the cap on temporary kernel buffers (pages.c). */
export const TEMP_MEMORY_LIMIT = 65536;

export interface IommufdEnv {
  readonly warn: WarnSink;
  readonly faults: FaultRouter;
  readonly profile: Profile;
  readonly phys: PhysicalMemory;
  /** iommufd_test_memory_limit (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT); TEMP_MEMORY_LIMIT by default. */
  tempMemoryLimit: number;
  /** The task making the current syscall (`current`). */
  current(): Task;
}

import type { FaultPoint } from '../base/fault.js';
import { PAGE_SIZE } from '../mm/constants.js';

/** A memory cgroup as the iommufd core sees it (GFP_KERNEL_ACCOUNT charges). */
export interface ChargeTarget {
  charge(bytes: number): boolean;
  uncharge(bytes: number): void;
}

/** What a successful kernel allocation must give back when freed. */
export interface KernelAllocation {
  readonly memcg: ChargeTarget | undefined;
  readonly bytes: number;
}

/**
 * kzalloc(size, GFP_KERNEL[_ACCOUNT]) of a kernel object: a failslab fault
 * point, then (when accounted) a charge to the calling task's memory cgroup.
 * Sizes are approximate x86-64 sizeof values of the kernel structs.
 */
export function kernelAlloc(env: IommufdEnv, fp: FaultPoint, bytes: number, accounted: boolean): KernelAllocation | undefined {
  if (env.faults.shouldFail(fp)) return undefined;
  return charged(env, bytes, accounted);
}

/** An allocation past its fault point: charged to the calling task's memory cgroup when accounted. */
function charged(env: IommufdEnv, bytes: number, accounted: boolean): KernelAllocation | undefined {
  if (!accounted) return { memcg: undefined, bytes };
  const memcg = env.current().memcg;
  if (!memcg.charge(bytes)) return undefined;
  return { memcg, bytes };
}

/**
 * kvmalloc()/kvzalloc()/kvcalloc() of `bytes`: kernelAlloc(), except that past
 * PAGE_SIZE a failed kmalloc falls back to vmalloc (mm/util.c
 * __kvmalloc_node_noprof()), so the point fires without failing the call.
 * (Callers check kvmallocFits() first for sizes it refuses.)
 */
export function kvAlloc(env: IommufdEnv, fp: FaultPoint, bytes: number, accounted: boolean): KernelAllocation | undefined {
  if (env.faults.shouldFail(fp) && bytes <= PAGE_SIZE) return undefined;
  return charged(env, bytes, accounted);
}

/** sizeof(struct file), charged to no memcg. */
const SIZEOF_FILE = 232;

/**
 * anon_inode_getfile() -> alloc_file_pseudo(): the file's pseudo dentry
 * (d_alloc_pseudo(): fault point `dentry`) and then the file itself
 * (alloc_empty_file(): `file`), two slab allocations. The file's
 * allocation, or undefined when either failed (-ENOMEM).
 */
export function allocPseudoFile(env: IommufdEnv, dentry: FaultPoint, file: FaultPoint): KernelAllocation | undefined {
  if (env.faults.shouldFail(dentry)) return undefined;
  return kernelAlloc(env, file, SIZEOF_FILE, false);
}

/**
 * Whether kvmalloc() of `bytes` can succeed at all: it refuses more than
 * INT_MAX bytes (mm/util.c __kvmalloc_node_noprof()), and its vmalloc
 * fallback needs that many free pages.
 */
export function kvmallocFits(env: IommufdEnv, bytes: bigint): boolean {
  return bytes <= 0x7fff_ffffn && Number(bytes) <= env.phys.freeFrames() * 4096;
}

export function kernelFree(a: KernelAllocation | undefined): void {
  if (a?.memcg) a.memcg.uncharge(a.bytes);
}
