// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated machine: physical memory, the kernel profile, the WARN sink,
 * fault injection routing, users (uid → user_struct), processes and the
 * device-node registry. Processes come from spawn() (a fresh exec'd process)
 * or Process.fork().
 */
import { EOVERFLOW } from '../base/errno.js';
import { FaultRouter } from '../base/fault.js';
import { type Profile, profileByName } from '../base/profile.js';
import { parseSize } from '../base/u64.js';
import { WarnSink, type WarningRecord } from '../base/warn.js';
import { MemCgroup, UserStruct } from '../mm/accounting.js';
import { MmStruct, type MmOptions, type ThpMode } from '../mm/address-space.js';
import { MLOCK_LIMIT, RLIM_INFINITY } from '../mm/constants.js';
import { MemFile } from '../mm/memfile.js';
import { PhysicalMemory, type PhysLayout } from '../mm/physical-memory.js';
import { Task } from '../mm/task.js';
import { type DeviceNode, RegularFileNode } from './device.js';
import { auditMachine, registerIommufdNodes } from './iommufd-node.js';
import { Process } from './process.js';

export interface MachineOptions {
  /** RAM size: bytes or '16G', '256M', ... (default 16 GiB). */
  memory?: number | bigint | string;
  /** Kernel behaviour profile (default 'latest'). */
  profile?: string;
  /** Seed of everything that varies (physical placement). */
  seed?: number;
  /** Throw a KernelWarning out of the syscall on every WARN. */
  panicOnWarn?: boolean;
  /** CONFIG_IOMMUFD_TEST-only assertions (default on). */
  checks?: boolean;
  physLayout?: PhysLayout;
  /** transparent_hugepage/enabled (default 'madvise'). */
  thp?: ThpMode;
  /** THP-align anonymous mmaps whose length is a multiple of 2 MiB (v6.7+; default true). */
  thpAlignAnon?: boolean;
  /** nr_hugepages per size; unlimited when absent. */
  hugetlbPages?: { '2M'?: number; '1G'?: number };
  /** fail_page_alloc min-order (default 1). */
  failPageMinOrder?: number;
  /** pin_user_pages_fast() on u64 wrap: 0 → returns 0 (default), else returns -this. */
  gupOverflowErrno?: number;
  maxMapCount?: number;
}

export interface SpawnOptions {
  /** RLIMIT_MEMLOCK in bytes: bigint, number, '64M', 'unlimited' (default 8 MiB). */
  memlock?: bigint | number | string;
  /** Effective capabilities (default none). */
  caps?: Iterable<string>;
  /** Default 1000. */
  uid?: number;
  /** Memory cgroup (default: a new unlimited one for this process). */
  memcg?: MemCgroup;
}

function parseMemlock(v: bigint | number | string | undefined): bigint {
  if (v === undefined) return MLOCK_LIMIT;
  if (typeof v === 'string' && /^(unlimited|infinity)$/i.test(v.trim())) return RLIM_INFINITY;
  return BigInt.asUintN(64, parseSize(v));
}

export class Machine {
  readonly phys: PhysicalMemory;
  readonly profile: Profile;
  readonly seed: number;
  /** The WARN sink (machine.warn.warnings lists the records; see also `warnings`). */
  readonly warn: WarnSink;
  readonly faults: FaultRouter;
  /** uid → user_struct. */
  readonly users = new Map<number, UserStruct>();
  /** Live processes by pid. */
  readonly processes = new Map<number, Process>();
  readonly mmOptions: MmOptions;
  /** The process whose syscall is running (undefined outside syscalls). */
  currentProcess: Process | undefined;
  private readonly devices = new Map<string, DeviceNode>();
  private nextPid = 1;

  constructor(opts: MachineOptions = {}) {
    const profile = profileByName(opts.profile ?? 'latest');
    if (profile === undefined) throw new RangeError(`unknown kernel profile ${JSON.stringify(opts.profile)}`);
    this.profile = profile;
    this.seed = opts.seed ?? 1;
    this.warn = new WarnSink({ panicOnWarn: opts.panicOnWarn ?? false, checks: opts.checks ?? true });
    this.faults = new FaultRouter();
    const bytes = opts.memory === undefined ? 16n << 30n : parseSize(opts.memory);
    this.phys = new PhysicalMemory(bytes, {
      seed: this.seed,
      layout: opts.physLayout ?? 'scattered',
      faults: this.faults,
      warn: this.warn,
      faultMinOrder: opts.failPageMinOrder,
      hugetlbPages: opts.hugetlbPages,
    });
    this.mmOptions = {
      thp: opts.thp ?? 'madvise',
      thpAlignAnon: opts.thpAlignAnon ?? true,
      maxMapCount: opts.maxMapCount,
      gupOverflowErrno: opts.gupOverflowErrno ?? (this.profile.gupWrapFailsWithOverflow ? EOVERFLOW : 0),
      warn: this.warn,
    };
    registerIommufdNodes(this);
  }

  /** Every WARN recorded so far. */
  get warnings(): readonly WarningRecord[] {
    return this.warn.warnings;
  }

  /**
   * The whole-state audit on demand: every IOAS of every open iommufd context,
   * frame pin counts and locked_vm / pinned_vm accounting. Problems are
   * reported as `audit.*` WARNs (thrown with panicOnWarn); returns their number.
   */
  audit(): number {
    return auditMachine(this);
  }

  /** The user_struct of `uid` (created on first use, shared by its processes). */
  userStruct(uid: number): UserStruct {
    let u = this.users.get(uid);
    if (u === undefined) {
      u = new UserStruct(uid);
      this.users.set(uid, u);
    }
    return u;
  }

  allocPid(): number {
    return this.nextPid++;
  }

  /** A new process with an empty address space. */
  spawn(opts: SpawnOptions = {}): Process {
    const uid = opts.uid ?? 1000;
    const task = new Task({
      pid: this.allocPid(),
      uid,
      user: this.userStruct(uid),
      caps: opts.caps ?? [],
      rlimitMemlock: parseMemlock(opts.memlock),
      mm: new MmStruct(this.phys, this.mmOptions),
      memcg: opts.memcg ?? new MemCgroup(),
    });
    const p = new Process(this, task);
    this.adopt(p);
    return p;
  }

  /** Register a process created by fork(). */
  adopt(p: Process): void {
    this.processes.set(p.pid, p);
    p.task.user.processes++;
  }

  /** A process exited. */
  reap(p: Process): void {
    this.processes.delete(p.pid);
    p.task.user.processes--;
  }

  /** Make `path` openable; replaces an earlier node at the same path. */
  registerDevice(path: string, node: DeviceNode): void {
    this.devices.set(path, node);
  }

  unregisterDevice(path: string): boolean {
    return this.devices.delete(path);
  }

  device(path: string): DeviceNode | undefined {
    return this.devices.get(path);
  }

  /** A read-only regular file at `path` with these contents (mmap-able, e.g. '/proc/self/exe'). */
  registerFile(path: string, contents: Uint8Array): MemFile {
    const f = new MemFile(this.phys, 'file', contents.length, { name: path, contents: contents.slice() });
    this.registerDevice(path, new RegularFileNode(f));
    return f;
  }

  /** A memory cgroup to share between processes (spawn({ memcg })). */
  createMemcg(limit?: number, name?: string): MemCgroup {
    return new MemCgroup({ limit, name });
  }
}
