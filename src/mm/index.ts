// SPDX-License-Identifier: GPL-2.0-only
/** The simulated mm: physical memory, address spaces, GUP, accounting, tasks. */
export * from './constants.js';
export { MAX_MACHINE_BYTES, MAX_PHYS_BYTES, PhysicalMemory, FP_ALLOC_PAGES, type AllocOptions, type FrameBacking, type PhysLayout, type PhysicalMemoryOptions } from './physical-memory.js';
export { MemFile, type MemFileKind, type MemFileMapping } from './memfile.js';
export {
  FAULT_READ,
  FAULT_UNSHARE,
  FAULT_WRITE,
  MmStruct,
  PTE_ANON,
  PTE_EXCL,
  PtNode,
  TASK_PAGES,
  Vma,
  type MmCaller,
  type MmOptions,
  type MmapOptions,
  type ThpMode,
  type UserBacking,
} from './address-space.js';
export {
  getUserPages,
  getUserPagesRemote,
  pinUserPages,
  pinUserPagesRemote,
  putPages,
  unpinUserPage,
  unpinUserPageRange,
  unpinUserPages,
} from './gup.js';
export { MemCgroup, UserStruct, accountLockedVm, accountLockedVmCapable, memlockLimitPages, type CapableTask, type RlimitTask } from './accounting.js';
export { CAPABILITIES, CAP_IPC_LOCK, CAP_SYS_ADMIN, CAP_SYS_RAWIO, CAP_SYS_RESOURCE, Task, checkCapabilities, type TaskInit } from './task.js';
