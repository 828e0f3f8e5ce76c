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
import { EXEC_STACK_PAGES, type ExecImage, MmStruct, type MmOptions, type ThpMode } from '../mm/address-space.js';
import { MLOCK_LIMIT, PAGE_SIZE, RLIM_INFINITY, STK_LIM } from '../mm/constants.js';
import { MemFile } from '../mm/memfile.js';
import { PhysicalMemory, type PhysLayout } from '../mm/physical-memory.js';
import { Task } from '../mm/task.js';
import { type DeviceNode, type DirChild, DT_CHR, DT_DIR, DT_REG, type FileStat, RegularFileNode, S_IFCHR, S_IFDIR, S_IFMT } from './device.js';
import { auditMachine, registerIommufdNodes } from './iommufd-node.js';
import { Process } from './process.js';
import { Tmpfs } from './tmpfs.js';

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
  /** MADV_FREE / MADV_PAGEOUT lazy freeing in the address spaces (MmOptions.lazyfree; default true). */
  lazyfree?: boolean;
  /** transparent_hugepage/enabled (default 'madvise'). */
  thp?: ThpMode;
  /** THP-align anonymous mmaps whose length is a multiple of 2 MiB (v6.7+; default true). */
  thpAlignAnon?: boolean;
  /** nr_hugepages per size; unlimited when absent. A 1G pool needs `gbpages`. */
  hugetlbPages?: { '2M'?: number; '1G'?: number };
  /** The CPU has 1 GiB pages (pdpe1gb), so the 1 GiB hugetlb size exists (default false, as the oracle VMs). */
  gbpages?: boolean;
  /** fail_page_alloc min-order (default 1). */
  failPageMinOrder?: number;
  /** pin_user_pages_fast() on u64 wrap: 0 → returns 0 (default), else returns -this. */
  gupOverflowErrno?: number;
  maxMapCount?: number;
  /** What spawn() gives a process that does not say (SpawnOptions.layout); 'bare' by default. */
  processLayout?: ProcessLayout;
  /** The program image an 'exec' process starts with (default EXEC_IMAGE: a one-program oracle binary's). */
  execImage?: ExecImage;
}

/**
 * 'exec': the address space of a freshly exec'd x86-64 process with
 * randomization off ([stack], [vvar], [vvar_vclock] on kernels that have it,
 * [vdso]; mmap_base from RLIMIT_STACK), so mmap(NULL, ...) answers what the
 * kernel answers under `setarch -R`. 'bare': no mappings at all (the
 * default, which every program and test written before 'exec' assumes; also
 * what a caller mirroring a real process's own mappings needs: the exec
 * bridge), with the same mmap base.
 */
export type ProcessLayout = 'exec' | 'bare';

/**
 * 2 MiB huge pages in the oracle VMs' hugetlb pool: their init sets
 * nr_hugepages to it before each program. What exec and the model's side of
 * an oracle comparison give a program that sets no pool of its own.
 */
export const ORACLE_HUGETLB_PAGES = 128;

/**
 * The device nodes the oracle VMs' init chmods before the programs run (its
 * programs drop to uid 1000 and must open them: src/oracle/vm.ts), with the
 * mode they get; the model's side of a comparison sets the same (fstat shows
 * them).
 */
export const ORACLE_NODE_MODES: Readonly<Record<string, number>> = { '/dev/iommu': 0o666, '/dev/vfio/vfio': 0o666 };

/** Pages of the x86-64 vDSO image (vdso64.so text, 8 KiB on 6.12 and 7.2). */
export const VDSO_TEXT_PAGES = 2;
/** Pages of [vvar] (x86-64: 4 on 6.12 and 7.2). */
export const VVAR_PAGES = 4;

/**
 * The clock's seq the model's [vvar] shows: timekeeping bumps it by 2 at
 * every update, so a running kernel's is even and non-zero (its low byte is
 * zero one time in 128: a program reading it sees a value that changes).
 */
const VVAR_SEQ = 0x2a2;

export interface SpawnOptions {
  /** RLIMIT_MEMLOCK in bytes: bigint, number, '64M', 'unlimited' (default 8 MiB). */
  memlock?: bigint | number | string;
  /** Effective capabilities (default none). */
  caps?: Iterable<string>;
  /** Default 1000. */
  uid?: number;
  /** Memory cgroup (default: a new unlimited one for this process). */
  memcg?: MemCgroup;
  /** RLIMIT_STACK at exec, as memlock (default 8 MiB): moves mmap_base for 'exec'. */
  stack?: bigint | number | string;
  /** The address space it starts with (default: the machine's processLayout). */
  layout?: ProcessLayout;
  /**
   * Descriptors 0-2 open as the oracle guest's programs have them (stdio.ts:
   * /dev/null, the console twice). Default: with the 'exec' layout.
   */
  stdio?: boolean;
}

function parseMemlock(v: bigint | number | string | undefined, dflt = MLOCK_LIMIT): bigint {
  if (v === undefined) return dflt;
  if (typeof v === 'string' && /^(unlimited|infinity)$/i.test(v.trim())) return RLIM_INFINITY;
  return BigInt.asUintN(64, parseSize(v));
}

/** The inode number of /dev; its nodes and directories take the next ones (Machine.nodeIno()). */
const DEV_INO_FIRST = 1 << 20;
/** DIR_OFFSET_MIN: the offset shmem gives a directory's first entry. */
const DIR_OFFSET_MIN = 3;

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
  /** The tmpfs mounted on /tmp (as the oracle VMs mount it): its linked files. */
  readonly tmpfs = new Tmpfs();
  /** reachablePageCaches()'s list of what it found, kept between calls. */
  private readonly cachesFound: MemFile[] = [];
  readonly mmOptions: MmOptions;
  /** The process whose syscall is running (undefined outside syscalls). */
  currentProcess: Process | undefined;
  /** The layout spawn() gives by default. */
  readonly processLayout: ProcessLayout;
  /** The image of an 'exec' process (undefined: EXEC_IMAGE). */
  readonly execImage: ExecImage | undefined;
  private readonly devices = new Map<string, DeviceNode>();
  /** Inode numbers of /dev and of the nodes and directories under it, as they were made. */
  private readonly inos = new Map<string, number>();
  private nextPid = 1;
  private vdsoImage: MemFile | undefined;
  private vvarReady = false;

  constructor(opts: MachineOptions = {}) {
    const profile = profileByName(opts.profile ?? 'latest');
    if (profile === undefined) throw new RangeError(`unknown kernel profile ${JSON.stringify(opts.profile)}`);
    this.profile = profile;
    this.seed = opts.seed ?? 1;
    this.warn = new WarnSink({ panicOnWarn: opts.panicOnWarn ?? false, checks: opts.checks ?? true });
    this.faults = new FaultRouter();
    this.faults.pageMinOrder = opts.failPageMinOrder ?? 1;
    const bytes = opts.memory === undefined ? 16n << 30n : parseSize(opts.memory);
    this.phys = new PhysicalMemory(bytes, {
      seed: this.seed,
      layout: opts.physLayout ?? 'scattered',
      faults: this.faults,
      warn: this.warn,
      faultMinOrder: opts.failPageMinOrder,
      hugetlbPages: opts.hugetlbPages,
      gbpages: opts.gbpages,
    });
    this.mmOptions = {
      thp: opts.thp ?? 'madvise',
      thpAlignAnon: opts.thpAlignAnon ?? true,
      maxMapCount: opts.maxMapCount,
      gupOverflowErrno: opts.gupOverflowErrno ?? (this.profile.gupWrapFailsWithOverflow ? EOVERFLOW : 0),
      mapStackNoHugepage: this.profile.mapStackNoHugepage,
      hugetlbHintDown: this.profile.hugetlbHintAlignsDown,
      collapseAnyPte: this.profile.madviseCollapseAnyPte,
      hugeZeroWpThp: this.profile.hugeZeroWriteAllocsThp,
      khugepagedSlotFirst: this.profile.khugepagedSlotFirst,
      ptReclaim: this.profile.ptReclaim,
      mremapMulti: this.profile.mremapMovesVmas,
      lazyfree: opts.lazyfree ?? true,
      lazyfreeKeepsReferenced: this.profile.lazyfreeKeepsReferenced,
      hugeZeroSpecial: this.profile.hugeZeroPmdSpecial,
      vvarMixed: this.profile.vvarMixedMap,
      doforkRefusesSpecial: this.profile.madvDoforkRefusesSpecial,
      thpDisableExceptAdvised: this.profile.thpDisableExceptAdvised,
      guardRegions: this.profile.madvGuard,
      anonMergeSrcWithout: this.profile.anonMergeSrcWithout,
      msealAnonByVmOps: this.profile.msealAnonByVmOps,
      warn: this.warn,
    };
    this.processLayout = opts.processLayout ?? 'bare';
    this.execImage = opts.execImage;
    if (this.processLayout !== 'exec' && this.processLayout !== 'bare') throw new RangeError(`unknown process layout ${JSON.stringify(opts.processLayout)}`);
    registerIommufdNodes(this);
  }

  /**
   * The vDSO image the 'exec' processes map: one copy shared by every
   * mapping, its pages made on first touch (it starts with an ELF header, as
   * the real one does). Only mappings hold it, so once no process maps it its
   * frames go back and the machine ends with no frame in use; the next
   * process gets a fresh copy. (The kernel's image is kernel text, never
   * freed; what the model keeps is which frames a pin or a PTE holds.)
   */
  get vdso(): MemFile {
    if (this.vdsoImage === undefined || this.vdsoImage.refs === 0) {
      const bytes = VDSO_TEXT_PAGES * PAGE_SIZE;
      const contents = new Uint8Array(bytes);
      contents.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      this.vdsoImage = new MemFile(this.phys, 'file', BigInt(bytes), { name: '[vdso]', contents });
    }
    return this.vdsoImage;
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

  /**
   * The page caches (memfds, shared anonymous memory, tmpfs files) a live
   * process reaches through a descriptor or a mapping, and those of the
   * linked tmpfs files, into `out` (which is left as it is when it holds
   * exactly those): what the audits check MemFile.problems() of.
   */
  reachablePageCaches(out: Set<MemFile>): void {
    // (found into a kept list first: a Set cleared and refilled per call allocates its table each time)
    const found = this.cachesFound;
    let n = 0;
    for (const proc of this.processes.values()) {
      if (proc.exited) continue;
      for (const fd of proc.openFds()) {
        const f = proc.fileOf(fd)?.memfile;
        if (f !== undefined && f.kind !== 'file' && f.live) found[n++] = f;
      }
      for (const v of proc.mm.vmas) if (v.file !== null && v.file.kind !== 'file' && v.file.live) found[n++] = v.file;
    }
    if (this.tmpfs.size > 0) for (const i of this.tmpfs.linked()) if (i.file.live) found[n++] = i.file;
    let same = true;
    for (let i = 0; i < n && same; i++) same = out.has(found[i]);
    if (same)
      for (const f of out) {
        const i = found.indexOf(f);
        if (i < 0 || i >= n) {
          same = false;
          break;
        }
      }
    if (!same) {
      out.clear();
      for (let i = 0; i < n; i++) out.add(found[i]);
    }
    found.length = Math.min(found.length, n + 16);
  }

  /**
   * /sys/kernel/mm/transparent_hugepage/enabled written (enabled_store()):
   * the mode is the machine's, so every address space follows it.
   */
  setThpMode(mode: ThpMode): void {
    this.mmOptions.thp = mode;
    for (const p of this.processes.values()) p.mm.opts.thp = mode;
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

  /**
   * A new process: a freshly exec'd one (stack and vDSO mappings, see
   * ProcessLayout) or, with layout 'bare', an empty address space.
   */
  spawn(opts: SpawnOptions = {}): Process {
    const uid = opts.uid ?? 1000;
    const layout = opts.layout ?? this.processLayout;
    if (layout !== 'exec' && layout !== 'bare') throw new RangeError(`unknown process layout ${JSON.stringify(layout)}`);
    const rlimitStack = parseMemlock(opts.stack, STK_LIM);
    const mm = new MmStruct(this.phys, this.mmOptions);
    if (layout === 'exec') {
      const data = { vclockPages: this.profile.vvarVclockPages, seqOffset: this.profile.vvarSeqOffset };
      const vvarPfn = this.phys.zeroPfn + 1;
      if (!this.vvarReady) {
        const page = new Uint8Array(8);
        new DataView(page.buffer).setUint32(0, VVAR_SEQ, true);
        const contents = new Uint8Array(data.seqOffset + 8);
        contents.set(page, data.seqOffset);
        this.phys.setKernelPage(vvarPfn, contents);
        this.vvarReady = true;
      }
      const rc = mm.setupExec({
        stackRlimit: rlimitStack,
        stackPages: EXEC_STACK_PAGES,
        vdso: this.vdso,
        vvarPages: VVAR_PAGES,
        vclockPages: data.vclockPages,
        vvarPfn,
        ...(this.execImage !== undefined ? { imageLayout: this.execImage } : {}),
      });
      if (rc < 0) throw new RangeError(`exec layout: no room (${rc})`);
    } else mm.setMmapBase(rlimitStack);
    const task = new Task({
      pid: this.allocPid(),
      uid,
      user: this.userStruct(uid),
      caps: opts.caps ?? [],
      rlimitMemlock: parseMemlock(opts.memlock),
      rlimitStack,
      mm,
      memcg: opts.memcg ?? new MemCgroup(),
    });
    const p = new Process(this, task);
    if (opts.stdio ?? layout === 'exec') p.installStdio();
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

  /** chmod of the node at `path` (its permission bits); false when there is none or it keeps its own. */
  chmodNode(path: string, perm: number): boolean {
    const node = this.devices.get(path);
    if (node?.chmod === undefined) return false;
    node.chmod(perm);
    return true;
  }

  /** Make `path` openable; replaces an earlier node at the same path. */
  registerDevice(path: string, node: DeviceNode): void {
    if (path.startsWith('/dev/')) {
      // devtmpfs makes the directories on the way first (devtmpfs_create_node() → create_path())
      const parts = path.split('/');
      for (let i = 2; i <= parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        if (!this.inos.has(p)) this.inos.set(p, DEV_INO_FIRST + this.inos.size);
      }
    }
    this.devices.set(path, node);
  }

  /**
   * The inode number of /dev, or of a node or directory under it the machine
   * has. The VMs' devtmpfs numbers its inodes as it boots; the model's are
   * distinct, stable for a machine, and far above the small numbers a tmpfs
   * such as a host's /dev gives, so that no node here shares one with a
   * host's file under exec.
   */
  nodeIno(path: string): number | undefined {
    if (path !== '/dev' && this.devices.get(path) === undefined && this.deviceDir(path) === undefined) return undefined;
    return this.inos.get(path);
  }

  /**
   * The entries of the directory `path` under /dev (without "." and ".."):
   * each child's name, inode, type and the offset shmem's offset map gave it
   * (simple_offset_add(): 3 for the first made, then one more each).
   */
  deviceDirChildren(path: string): DirChild[] {
    const out: DirChild[] = [];
    const seen = new Set<string>();
    for (const [p, node] of this.devices) {
      if (!p.startsWith(`${path}/`)) continue;
      const rest = p.slice(path.length + 1);
      const name = rest.split('/')[0];
      if (seen.has(name)) continue;
      seen.add(name);
      const dir = rest.includes('/');
      const mode = node.stat?.().mode ?? 0;
      const type = dir ? DT_DIR : (mode & S_IFMT) === S_IFCHR ? DT_CHR : DT_REG;
      out.push({ name, ino: this.inos.get(`${path}/${name}`) ?? 0, type, offset: DIR_OFFSET_MIN + out.length });
    }
    return out;
  }

  unregisterDevice(path: string): boolean {
    return this.devices.delete(path);
  }

  /**
   * devtmpfs's UUID (FS_IOC_GETFSUUID of a device node): shmem_fill_super()
   * draws one per boot; here one per machine, from its seed.
   */
  get devtmpfsUuid(): Uint8Array {
    if (this.uuid === undefined) {
      let x = (this.seed * 2654435761) >>> 0 || 1;
      this.uuid = Uint8Array.from({ length: 16 }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x & 0xff;
      });
    }
    return this.uuid;
  }
  private uuid: Uint8Array | undefined;

  device(path: string): DeviceNode | undefined {
    return this.devices.get(path);
  }

  /**
   * The directory `path` under /dev that holds registered nodes (devtmpfs's
   * /dev/vfio), as stat shows it: root's, 0755; undefined when there is none.
   */
  deviceDir(path: string): FileStat | undefined {
    if (!path.startsWith('/dev/') || path.endsWith('/')) return undefined;
    const names = new Set<string>();
    for (const p of this.devices.keys()) if (p.startsWith(`${path}/`)) names.add(p.slice(path.length + 1).split('/')[0]);
    if (names.size === 0) return undefined;
    // shmem_mknod(): a directory's i_size is BOGO_DIRENT_SIZE (20) for each entry, "." and ".." included
    return { mode: S_IFDIR | 0o755, rdevMajor: 0, rdevMinor: 0, size: BigInt(20 * (2 + names.size)), blksize: PAGE_SIZE, ino: this.inos.get(path) };
  }

  /** A read-only regular file at `path` with these contents (mmap-able, e.g. '/proc/self/exe'). */
  registerFile(path: string, contents: Uint8Array): MemFile {
    const f = new MemFile(this.phys, 'file', BigInt(contents.length), { name: path, contents: contents.slice() });
    this.registerDevice(path, new RegularFileNode(f));
    return f;
  }

  /** A memory cgroup to share between processes (spawn({ memcg })). */
  createMemcg(limit?: number, name?: string): MemCgroup {
    return new MemCgroup({ limit, name });
  }
}
