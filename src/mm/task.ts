// SPDX-License-Identifier: GPL-2.0-only
/**
 * A task (struct task_struct, as far as the model needs one): identity,
 * credentials (uid, the user_struct, effective capabilities), RLIMIT_MEMLOCK,
 * the address space, the memory cgroup and the per-task fail-nth state.
 */
import { EINVAL, EPERM } from '../base/errno.js';
import { FailNth } from '../base/fault.js';
import type { MemCgroup, UserStruct } from './accounting.js';
import type { MmStruct } from './address-space.js';
import { STK_LIM } from './constants.js';

/** Linux capability names (include/uapi/linux/capability.h), index = capability number. */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

export const CAP_IPC_LOCK = 'CAP_IPC_LOCK';
export const CAP_SYS_RESOURCE = 'CAP_SYS_RESOURCE';
export const CAP_SYS_ADMIN = 'CAP_SYS_ADMIN';
export const CAP_SYS_RAWIO = 'CAP_SYS_RAWIO';

const KNOWN = new Set(CAPABILITIES);

/** Check capability names; a typo is a programming error. */
export function checkCapabilities(caps: Iterable<string>): Set<string> {
  const s = new Set<string>();
  for (const c of caps) {
    if (!KNOWN.has(c)) throw new RangeError(`unknown capability ${JSON.stringify(c)}`);
    s.add(c);
  }
  return s;
}

export interface TaskInit {
  pid: number;
  uid: number;
  /** Effective and saved UIDs (default: the real one). */
  euid?: number;
  suid?: number;
  user: UserStruct;
  caps: Iterable<string>;
  /** Permitted capabilities (default: the effective ones). */
  permitted?: Iterable<string>;
  /** The capability bounding set (default: the permitted set). */
  capBset?: Iterable<string>;
  keepCaps?: boolean;
  rlimitMemlock: bigint;
  /** RLIMIT_MEMLOCK's hard limit (default: the soft one). */
  rlimitMemlockMax?: bigint;
  /** RLIMIT_STACK soft limit (default _STK_LIM, 8 MiB). */
  rlimitStack?: bigint;
  mm: MmStruct;
  memcg: MemCgroup;
  failNth?: FailNth;
}

export class Task {
  readonly pid: number;
  /** The real UID (cred->uid); setuid(2) and its kin change it and the next two (cred.ts). */
  uid: number;
  /** The effective UID, which the filesystem UID follows. */
  euid: number;
  /** The saved set-user-ID. */
  suid: number;
  /** The real UID's user_struct (cred->user), which iommufd's USER accounting charges. */
  user: UserStruct;
  /** Effective capabilities (names). Tests may add/remove (capset). */
  readonly caps: Set<string>;
  /** Permitted capabilities: what the effective set comes back to when the effective UID returns to 0. */
  readonly permitted: Set<string>;
  /**
   * The capability bounding set (cred->cap_bset): what an execve() gives root
   * back as its permitted set. The model's processes start with the set they
   * were given, which is also their bounding set.
   */
  readonly capBset: Set<string>;
  /** SECBIT_KEEP_CAPS (prctl PR_SET_KEEPCAPS): leaving UID 0 keeps the permitted set. */
  keepCaps = false;
  /** RLIMIT_MEMLOCK in bytes (RLIM_INFINITY = 2^64 - 1): the soft limit, the one every check reads. */
  rlimitMemlock: bigint;
  /** RLIMIT_MEMLOCK's hard limit: the soft one may not go above it, nor it rise without CAP_SYS_RESOURCE. */
  rlimitMemlockMax: bigint;
  /** RLIMIT_STACK in bytes: where exec put mmap_base (inherited by fork). */
  rlimitStack: bigint;
  private mmOf: MmStruct;
  memcg: MemCgroup;
  /** /proc/self/task/<tid>/fail-nth. */
  readonly failNth: FailNth;

  constructor(init: TaskInit) {
    this.pid = init.pid;
    this.uid = init.uid;
    this.euid = init.euid ?? init.uid;
    this.suid = init.suid ?? init.uid;
    this.user = init.user;
    this.caps = checkCapabilities(init.caps);
    this.permitted = checkCapabilities(init.permitted ?? this.caps);
    this.capBset = checkCapabilities(init.capBset ?? this.permitted);
    this.keepCaps = init.keepCaps ?? false;
    this.rlimitMemlock = BigInt.asUintN(64, init.rlimitMemlock);
    this.rlimitMemlockMax = BigInt.asUintN(64, init.rlimitMemlockMax ?? init.rlimitMemlock);
    this.rlimitStack = BigInt.asUintN(64, init.rlimitStack ?? STK_LIM);
    this.mmOf = init.mm;
    init.mm.owner = this;
    this.memcg = init.memcg;
    this.failNth = init.failNth ?? new FailNth();
  }

  /** The task's address space (kept after exit, with no users left); the task becomes its owner (mm->owner). */
  get mm(): MmStruct {
    return this.mmOf;
  }

  set mm(mm: MmStruct) {
    this.mmOf = mm;
    mm.owner = this;
  }

  /** capable(cap) (ns_capable in the initial namespace). */
  capable(cap: string): boolean {
    return this.caps.has(cap);
  }

  /**
   * setrlimit(RLIMIT_MEMLOCK, {cur, max}) on this task (do_prlimit()), by
   * `by` (a prlimit() of another process; default this task): 0 or -errno.
   * A soft limit above the hard one is EINVAL; a hard limit above the present
   * one needs CAP_SYS_RESOURCE of the caller (EPERM). Nothing already locked
   * or pinned is looked at: a limit below it only refuses what comes next.
   */
  setMemlockLimit(cur: bigint, max: bigint, by: Task = this): number {
    const c = BigInt.asUintN(64, cur);
    const m = BigInt.asUintN(64, max);
    if (c > m) return -EINVAL;
    if (m > this.rlimitMemlockMax && !by.capable(CAP_SYS_RESOURCE)) return -EPERM;
    this.rlimitMemlock = c;
    this.rlimitMemlockMax = m;
    return 0;
  }
}
