// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bridge server: one Machine per `iommufd-sim exec`, one simulated
 * Process per real process (connected through the LD_PRELOAD shim).
 *
 * "The model is the kernel; the program's real memory is the backing store":
 * a simulated process mirrors the real address space at the same addresses,
 * frame identity (PFNs, folios, pins, COW) lives only in the model, page
 * contents live in the real process and move through /proc/PID/mem. Mappings
 * the shim did not see (glibc's own mmap) are found in /proc/PID/maps when
 * the model misses a VMA. Before a real mapping of a pinned frame goes away
 * (munmap, MAP_FIXED over it, MADV_DONTNEED, exit, exec) its contents are
 * copied into the simulated frame, so DMA through a pin still sees them.
 *
 * Descriptors: the program holds a real placeholder where the model has its
 * file. Every real descriptor the model does not own sits in the model's
 * table as an inert placeholder below the lowest free real descriptor the
 * shim sends, so files the model creates land on numbers free in the program.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants as fsConstants, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EACCES, EBADF, EINVAL, EIO, ENOENT, ENOMEM, EPERM, ESRCH } from '../base/errno.js';
import { kstrtouintFromUser } from '../base/kstrtox.js';
import { SightKeys } from '../base/sight-keys.js';
import { Machine, type MachineOptions } from '../machine/machine.js';
import { O_ACCMODE, O_CLOEXEC, O_PATH, O_RDONLY } from '../machine/device.js';
import type { OpenFile } from '../machine/device.js';
import type { InFlightFile, Process } from '../machine/process.js';
import { THP_DISABLE_ALL, type MremapEffect, type MremapPlace } from '../mm/address-space.js';
import { execCreds } from '../mm/cred.js';
import { MemFile } from '../mm/memfile.js';
import {
  CAPABILITIES,
  FALLOC_FL_PUNCH_HOLE,
  FAULT_READ,
  FAULT_WRITE,
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_PAGEOUT,
  MADV_REMOVE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MREMAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_TYPE,
  MmStruct,
  F_SEAL_GROW,
  PAGE_SIZE,
  PMD_ORDER,
  PROT_WRITE,
  PTE_ANON,
  PTE_EXCL,
  TASK_PAGES,
  TASK_SIZE,
  type UserBacking,
  VM_HUGETLB,
  VM_MAYSHARE,
  VM_PFNMAP,
  F_ADD_SEALS,
  F_GET_SEALS,
} from '../mm/index.js';
import { PAGEMAP_MAX_ENTRIES, PM_ENTRY_BYTES, pagemapRead } from '../mm/pagemap.js';
import { BELL_SIZE, CHAN_MARK, CHAN_REPLY, CHAN_SIZE, CHAN_WAKE, FD_BOTH, FD_MODEL, HELLO_HUGETLB_HINT_DOWN, HELLO_OPEN_EMPTYPATH, MMAP_FD_FOREIGN, MMAP_FD_REFUSED, MREMAP_CHECK, MREMAP_FOLLOW, NEWFD_KEEP_ON_EXEC, OP, OPENAT2_CHECK, OPENAT2_PLAIN, POPULATE_MAX, PRLIMIT_NOT_MODEL, REP_POPULATE, REQ_HEADER, REQ_MAX, REQ_NOREPLY, REQ_SLEEPER, type Reply, type Request, cstr, encodeReply, parseRequest } from "./protocol.js";
import { RealProcess } from './real-process.js';
import { IOMMU_IOAS_ALLOC, IOMMU_IOAS_MAP, IOMMU_IOAS_MAP_FILE, IOMMU_TEST_CMD, IOMMU_TEST_OP_MD_CHECK_MAP, IOMMU_TEST_OP_MD_CHECK_REFS, VFIO_IOMMU_MAP_DMA } from '../iommufd/uapi.js';
import { anonThpBytes } from '../mm/task-mmu.js';
import { type HugetlbInodes, hugetlbUsage, modelSmapsRollup, rewriteMaps, rewriteSmaps, statusRss } from './smaps.js';
import { POOL_DIRS, POOL_WRITABLE, hasPool, meminfoText, poolFileText, poolWrite } from './hugepages.js';

const PT_SPAN = 512;
const RLIMIT_MEMLOCK = 8;
/** fcntl(2) commands the model answers for its descriptors. */
const F_GETFL = 3;
const F_SETFL = 4;

/** A descriptor the model holds only to keep a real descriptor's number taken. */
function placeholderFile(): OpenFile {
  return { outside: true, release() {} };
}

/** One real process and its simulated twin. */
export class Bridged {
  readonly proc: Process;
  real: RealProcess | undefined;
  realPid = 0;
  /** Model descriptors standing for real descriptors the model does not own. */
  readonly placeholders = new Set<number>();
  /** Model descriptors the program uses (kind FD_MODEL / FD_BOTH). */
  readonly kinds = new Map<number, number>();
  /** Whether the model's RLIMIT_MEMLOCK hard limit was taken from the real process's (at its first setrlimit). */
  memlockMaxKnown = false;
  /** Close-on-exec model descriptors announced before an exec. */
  pendingExec: number[] | undefined;
  /** The connection id of the current image's HELLO (its requests carry it), 0 before. */
  connId = 0;
  /** Write end of the process's reply FIFO (-1: none). */
  replyFd = -1;
  /** The process's channel page (shared memory the shim maps; -1: none) and the seq its last reply published. */
  chanFd = -1;
  chanSeq = 0;
  /** The shim said OP.SLEEP: the next reply also writes a wake-up byte on its FIFO. */
  sleeper = false;
  /**
   * fail-nth is per task (thread): the model's one task holds the value of
   * the thread whose call it runs (activeTid); the others wait here.
   */
  activeTid = 0;
  readonly failNth = new Map<number, number>();
  /** Device mappings the model made: their stand-ins are filled at the next request. */
  readonly toFill: [number, number][] = [];
  /**
   * Pages [lo, hi) of shared file mappings the model's GUP took (write: for writing), as triples, which
   * the real page tables do not have yet: the shim faults them in after the reply (OP.POPULATE).
   */
  readonly populate: number[] = [];

  constructor(proc: Process) {
    this.proc = proc;
    proc.outsideFd = (fd) => realFdOpen(this.realPid, fd);
  }

  /** Make `tid`'s fail-nth the model task's, for a call from that thread. */
  switchThread(tid: number): void {
    if (tid === 0 || tid === this.activeTid) return;
    const cur = this.proc.getFailNth();
    if (cur !== 0) this.failNth.set(this.activeTid, cur);
    else this.failNth.delete(this.activeTid);
    const next = this.failNth.get(tid) ?? 0;
    this.failNth.delete(tid);
    if (next !== 0 || cur !== 0) this.proc.setFailNth(next);
    this.activeTid = tid;
  }

  /** Thread `tid`'s fail-nth (proc_fail_nth_read). */
  readFailNth(tid: number): number {
    return tid === this.activeTid ? this.proc.getFailNth() : (this.failNth.get(tid) ?? 0);
  }

  /** Thread `tid`'s fail-nth write (proc_fail_nth_write). */
  writeFailNth(tid: number, n: number): void {
    if (tid === this.activeTid) this.proc.setFailNth(n);
    else if (n === 0) this.failNth.delete(tid);
    else this.failNth.set(tid, n);
  }
}

/** Knobs under the emulated debugfs and how they map on fault classes. */
const DEBUGFS_KNOBS: Record<string, Record<string, string>> = {
  failslab: { probability: '0', interval: '1', times: '1', space: '0', verbose: '2', 'task-filter': 'N', 'ignore-gfp-wait': 'Y', 'cache-filter': 'N' },
  fail_page_alloc: { probability: '0', interval: '1', times: '1', space: '0', verbose: '2', 'task-filter': 'N', 'ignore-gfp-wait': 'Y', 'ignore-gfp-highmem': 'Y', 'min-order': '1' },
  fail_iommufd: { probability: '0', interval: '1', times: '1', space: '0', verbose: '2', 'task-filter': 'N' },
};

export interface BridgeOptions extends MachineOptions {
  /** Directory holding the emulated debugfs (made by the caller). */
  debugfsDir?: string;
  /**
   * Test-only: a deliberately wrong model answer, to show the bridge is not
   * vacuous. 'ioas-alloc-id' adds 1 to every IOAS_ALLOC out_ioas_id;
   * 'crash-on-ioctl' makes the server fail on the first ioctl.
   */
  sabotage?: 'ioas-alloc-id' | 'crash-on-ioctl';
  /** Effective capabilities of the first process instead of the real ones (names, or 'all'). */
  caps?: readonly string[] | 'all';
  /**
   * How long (µs) each side waits awake for the other before sleeping (0:
   * never) while the machine has a CPU to spare: the server for the next
   * request (watching the doorbell), the shim for its reply (watching its
   * channel page; the value travels with every reply). Default 100.
   */
  spinUs?: number;
  /** Wait awake whatever the load (tests of the waiting paths). */
  spinAlways?: boolean;
  /**
   * Tests of the waiting paths: each reply (HELLO's aside) goes out this long
   * (µs) after its request was read, the server asleep meanwhile, so the shim's
   * wait awake runs out however the host schedules the two (on a busy machine
   * the woken server may run first on the shim's CPU and reply before the shim
   * looks).
   */
  replyAfterUs?: number;
}

export interface BridgeStats {
  requests: number;
  ioctls: number;
  processes: number;
  /** Per request kind (OP name; IOCTL split by command as `IOCTL 0x3ba0`): count and server time answering (µs, reply write included). */
  byOp?: Record<string, { n: number; us: number }>;
  /** Server time answering requests and waiting in the request FIFO for the next one (µs). */
  busyUs?: number;
  idleUs?: number;
  /** Waits awake that saw a request come, and that ended with nothing (then a sleeping read). */
  spinHits?: number;
  spinMisses?: number;
  /** Replies that had to wake a shim sleeping on its FIFO (a wake-up costs tens of µs in a VM). */
  wakes?: number;
}

export class BridgeServer {
  readonly machine: Machine;
  /** Live bridged processes by real pid. */
  readonly byPid = new Map<number, Bridged>();
  /** Forked model children waiting for their real process's HELLO, by token. */
  private readonly forks = new Map<number, Bridged>();
  /**
   * A forked child by its real pid, from the parent's FORK_DONE until the child's HELLO (byPid's from
   * then on): a prlimit() of the child right after fork() may come before the child connects.
   */
  private readonly forkedByPid = new Map<number, Bridged>();
  /**
   * Model files in SCM_RIGHTS messages not yet received, by the real file that carries each
   * ("dev:ino"; a message may carry the same one twice) and by token.
   */
  private readonly inFlight = new Map<string, Array<{ token: number; file: InFlightFile; kind: number }>>();
  private readonly inFlightByToken = new Map<number, string>();
  private nextScmToken = 1;
  /** The first internal error: the program must not look like it passed. */
  crash: Error | undefined;
  readonly stats: BridgeStats = { requests: 0, ioctls: 0, processes: 0, byOp: {}, busyUs: 0, idleUs: 0, spinHits: 0, spinMisses: 0, wakes: 0 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Processes by the connection id their requests carry. */
  private readonly byConn = new Map<number, Bridged>();
  private nextConn = 1;
  /** The shared request FIFO (read end, blocking) and its path. */
  private reqFd = -1;
  /** A second, non-blocking read end of the request FIFO: the serving loop waits awake on it first. */
  private reqSpinFd = -1;
  /** The doorbell page every shim bumps after writing a request (read end) and the last count seen. */
  private bellFd = -1;
  private bellSeen = 0;
  private readonly bellBuf = Buffer.alloc(4);
  private reqPath = '';
  /** Requests read but not complete yet: reqBuf[0..reqLen). */
  private readonly reqBuf = Buffer.allocUnsafe(64 * 1024);
  private reqLen = 0;
  private stopped = false;
  /** [in the serving loop, a TICK is in the FIFO, batches read] (shared with the tick worker). */
  private readonly loopState = new Int32Array(new SharedArrayBuffer(12));
  private ticker: Worker | undefined;
  private tickerOnline = false;
  private rmap: Map<number, number> | undefined;
  private rmapOwner: Bridged[] = [];
  private rmapRebuilt = false;
  /** The sum of the connected address spaces' framesMapped when the reverse map was last built. */
  private rmapMapped = -1;
  /** Page ranges the model's walks synced during the current request (the real process does not run meanwhile). */
  private walkSynced: Array<{ b: Bridged; lo: number; hi: number }> = [];
  /** memfds the model made, by page cache: the real file (opened through /proc/PID/fd) holds their pages. */
  private readonly memfds = new Map<MemFile, number>();
  /** The inode numbers the maps and smaps lines give the model's hugetlb files. */
  private readonly hugetlbInodes: HugetlbInodes = new SightKeys(1);
  /** tmpfs files whose real file is on another filesystem: smaps and status count their mappings' pages as shmem. */
  private readonly shmemOnlyInModel = new WeakSet<MemFile>();
  /** memfds created by the last request of a process, opened at its next one (the real file exists then). */
  private readonly memfdsToOpen: { b: Bridged; fd: number; file: MemFile }[] = [];
  /** pfn → memfd page, for pages no process maps. */
  private readonly debugfsDir: string | undefined;
  private readonly sabotage: BridgeOptions['sabotage'];
  private capsOverride: readonly string[] | undefined;
  private readonly spinNs: number;
  private readonly spinAlways: boolean;
  /** Request log (IOMMUFD_SIM_TRACE=1 in exec). */
  trace: ((line: string) => void) | undefined;

  constructor(opts: BridgeOptions = {}) {
    // The program's CPU writes reach the real process, not the model: the host's reclaim decides what a lazy free drops.
    this.machine = new Machine({ ...opts, lazyfree: false });
    // set_max_huge_pages(): a pool asked larger than memory holds gets what fits (nr_hugepages reads that)
    const pool = this.machine.phys.hugetlbStats(PMD_ORDER).limit;
    if (Number.isFinite(pool)) this.machine.phys.setHugetlbLimit(PMD_ORDER, Math.min(pool, Math.floor(this.machine.phys.totalFrames / 2 ** PMD_ORDER)));
    this.debugfsDir = opts.debugfsDir;
    this.sabotage = opts.sabotage;
    this.capsOverride = opts.caps === 'all' ? [...CAPABILITIES] : opts.caps;
    this.spinNs = Math.max(0, Math.round((opts.spinUs ?? 100) * 1000));
    this.spinAlways = opts.spinAlways ?? false;
    this.replyAfterMs = Math.max(0, opts.replyAfterUs ?? 0) / 1000;
    this.machine.phys.backing = { copy: (pfn, off, buf, bufOff, len, write) => this.frameCopy(pfn, off, buf, bufOff, len, write) };
  }

  private spinUs = 0;
  private spinCheckedAt = 0;
  private readonly replyAfterMs: number;
  /** What the server sleeps on for replyAfterUs (nothing wakes it early). */
  private readonly napCell = new Int32Array(new SharedArrayBuffer(4));

  /**
   * The wait-awake budget (µs) now: the configured one while no other task
   * wants a CPU (/proc/loadavg's running count and 1-minute average, checked
   * every 100 ms), 0 when the machine is busy (waiting awake there takes a
   * CPU from someone, and the wait grows longer than a wake-up).
   */
  spinUsNow(): number {
    if (this.spinNs === 0) return 0;
    if (this.spinAlways) return this.spinNs / 1000;
    const now = Date.now();
    if (now - this.spinCheckedAt >= 100) {
      this.spinCheckedAt = now;
      const [load1, running] = loadNow();
      // the two waiting sides count themselves (both awake: a load of 2 on an idle machine), a passing task is let be
      this.spinUs = running <= CPUS + 1 && load1 < CPUS + 1 ? this.spinNs / 1000 : 0;
    }
    return this.spinUs;
  }

  /**
   * Serve at `path`: the unix socket there (each process's liveness), the
   * request FIFO `${path}.q` and the serving loop on this thread.
   */
  listen(path: string): Promise<void> {
    this.reqPath = `${path}.q`;
    // node has no mkfifo(3); the request FIFO is made once per exec. Open read-write: never EOF, never blocks
    execFileSync('mkfifo', ['-m', '0666', this.reqPath]);
    // the shims make their reply FIFOs here: sticky and open to all, as a program may drop to another uid
    mkdirSync(`${path}.d`);
    chmodSync(`${path}.d`, 0o1777);
    this.reqFd = openSync(this.reqPath, fsConstants.O_RDWR);
    this.reqSpinFd = openSync(this.reqPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    // the doorbell: writable by all (a program may drop to another uid), watched while waiting awake
    const bell = `${path}.b`;
    writeFileSync(bell, Buffer.alloc(BELL_SIZE));
    chmodSync(bell, 0o666);
    this.bellFd = openSync(bell, 'r');
    const ticker = startTicker(this.reqPath, this.loopState);
    this.ticker = ticker;
    // A new thread's V8 setup reads /proc/self/maps through descriptors without O_CLOEXEC: a program
    // spawned meanwhile would inherit one (and every descriptor the model gives it would come one higher
    // than the kernel's). Listening ends once the ticker runs its code, so no spawn overlaps that setup.
    const online = new Promise<void>((resolve, reject) => {
      // (only until then: a later error of the worker stays an uncaught one, as it was)
      ticker.once('error', reject);
      ticker.once('online', () => {
        ticker.off('error', reject);
        this.tickerOnline = true;
        resolve();
      });
    });
    return new Promise((resolve, reject) => {
      const srv = createServer((sock) => this.accept(sock));
      srv.once('error', reject);
      srv.listen(path, () => {
        setImmediate(() => this.serve());
        online.then(() => resolve(), reject);
      });
      this.server = srv;
    });
  }

  /** The tick worker runs its code (its thread's setup is over; listen() waits for it). */
  get tickerRunning(): boolean {
    return this.tickerOnline;
  }

  close(): void {
    this.stopped = true;
    void this.ticker?.terminate();
    this.ticker = undefined;
    for (const s of this.sockets) s.destroy();
    this.server?.close();
    for (const b of this.byConn.values()) closeReply(b);
    this.byConn.clear();
    if (this.reqFd >= 0) closeSync(this.reqFd);
    this.reqFd = -1;
    if (this.reqSpinFd >= 0) closeSync(this.reqSpinFd);
    this.reqSpinFd = -1;
    if (this.bellFd >= 0) closeSync(this.bellFd);
    this.bellFd = -1;
    try {
      if (this.reqPath !== '') unlinkSync(this.reqPath);
    } catch {
      // gone with its directory
    }
    for (const fd of this.memfds.values()) closeSync(fd);
    this.memfds.clear();
  }

  /** Give up: report `e` once and drop every connection, so programs stop instead of hanging. */
  private fail(e: unknown): void {
    if (this.crash === undefined) this.crash = e instanceof Error ? e : new Error(String(e));
    // a closed reply FIFO is end-of-file for the shim: it stops the program (BRIDGE_LOST_STATUS)
    for (const b of this.byConn.values()) closeReply(b);
    this.byConn.clear();
    for (const s of this.sockets) s.destroy();
  }

  /**
   * The serving loop: blocking reads of the request FIFO on this thread, no
   * event loop between a request and its reply. It returns to the event loop
   * (child exit, the program's stdout, a process's socket closing) when the
   * tick worker writes a TICK, and is scheduled again right after.
   */
  private serve(): void {
    if (this.stopped || this.reqFd < 0) return;
    const st = this.loopState;
    Atomics.store(st, 0, 1);
    try {
      const stats = this.stats;
      for (;;) {
        let n: number;
        const t0 = process.hrtime.bigint();
        try {
          // a program calling in a loop sends its next request within microseconds: waiting awake for it
          // (on an idle machine) spares the wake-up a sleeping read costs
          n = this.spinUsNow() > 0 ? this.spinRead() : 0;
          if (n === 0) n = readSync(this.reqFd, this.reqBuf, this.reqLen, this.reqBuf.length - this.reqLen, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EINTR' || code === 'EAGAIN') continue;
          this.fail(e);
          return;
        }
        Atomics.add(st, 2, 1);
        let t1 = process.hrtime.bigint();
        stats.idleUs! += Number(t1 - t0) / 1000;
        const end = this.reqLen + n;
        let off = 0;
        let yieldNow = false;
        for (;;) {
          const q = parseRequest(this.reqBuf, off, end);
          if (q === undefined) break;
          off += REQ_HEADER + q.s.length;
          if (q.op === OP.TICK) {
            Atomics.store(st, 1, 0);
            yieldNow = true;
            continue;
          }
          this.dispatch(q);
          const t2 = process.hrtime.bigint();
          const us = Number(t2 - t1) / 1000;
          t1 = t2;
          stats.busyUs! += us;
          const key = q.op === OP.IOCTL ? ioctlKey(Number(BigInt.asUintN(32, q.a[1]))) : (OP_NAMES[q.op] ?? String(q.op));
          const e = (stats.byOp![key] ??= { n: 0, us: 0 });
          e.n++;
          e.us += us;
        }
        if (end - off > REQ_MAX || (off === 0 && end === this.reqBuf.length)) {
          this.fail(new Error('bridge: malformed request stream'));
          return;
        }
        this.reqBuf.copyWithin(0, off, end);
        this.reqLen = end - off;
        if (yieldNow || this.stopped) break;
      }
    } finally {
      Atomics.store(st, 0, 0);
    }
    setImmediate(() => this.serve());
  }

  /**
   * Wait awake up to the spin budget for a request: watch the doorbell (a
   * read of 4 bytes of shared memory, no exception when nothing came, as a
   * non-blocking FIFO read would throw) and read the FIFO through its
   * non-blocking end once the count moved; the bytes read (0: nothing came,
   * or a TICK is on its way: the sleeping read takes it).
   */
  private spinRead(): number {
    const t0 = process.hrtime.bigint();
    const limit = BigInt(this.spinNs);
    const st = this.loopState;
    for (;;) {
      if (Atomics.load(st, 1) !== 0) return 0;
      readSync(this.bellFd, this.bellBuf, 0, 4, 0);
      const v = this.bellBuf.readUInt32LE(0);
      if (v !== this.bellSeen) {
        this.bellSeen = v;
        try {
          const n = readSync(this.reqSpinFd, this.reqBuf, this.reqLen, this.reqBuf.length - this.reqLen, null);
            if (n > 0) {
            this.stats.spinHits!++;
            return n;
          }
        } catch (e) {
          // EAGAIN: the requests that bumped it were read already
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
      }
      if (process.hrtime.bigint() - t0 >= limit) {
        this.stats.spinMisses!++;
        return 0;
      }
    }
  }

  /** Answer one request from the FIFO on its process's reply FIFO. */
  private dispatch(q: Request): void {
    if (this.crash !== undefined) return;
    let b: Bridged | undefined;
    let rep: Reply;
    try {
      if (q.op === OP.HELLO) {
        b = this.hello(q);
        if (b === undefined) return;
        rep = { ret: (this.machine.profile.hugetlbHintAlignsDown ? HELLO_HUGETLB_HINT_DOWN : 0) | (this.machine.profile.openEmptyPath ? HELLO_OPEN_EMPTYPATH : 0), b1: b.connId, s: this.fdList(b) };
      } else {
        b = this.byConn.get(q.conn);
        // a process that is gone (or a stale id): nobody waits for an answer
        if (b === undefined) return;
        if (q.op === OP.SLEEP) {
          sleepUntilPast(b, Number(BigInt.asUintN(32, q.a[0])));
          return;
        }
        rep = this.handle(b, q);
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (q.flags & REQ_SLEEPER) b.sleeper = true;
    if (this.replyAfterMs > 0 && q.op !== OP.HELLO && !(q.flags & REQ_NOREPLY)) Atomics.wait(this.napCell, 0, 0, this.replyAfterMs);
    const spin = this.spinUsNow() | (b.populate.length > 0 && q.op !== OP.HELLO ? REP_POPULATE : 0);
    if (!(q.flags & REQ_NOREPLY) && sendReply(b, encodeReply(rep, spin), q.op === OP.HELLO)) this.stats.wakes!++;
    if (b.proc.exited) {
      closeReply(b);
      if (this.byConn.get(b.connId) === b) this.byConn.delete(b.connId);
    }
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    // the process writes its connection id (u32) once; the socket's closing is its end
    let idBytes: Buffer = Buffer.alloc(0);
    let id = 0;
    sock.on('data', (chunk: Buffer) => {
      if (id !== 0) return;
      idBytes = Buffer.concat([idBytes, chunk]);
      if (idBytes.length >= 4) id = idBytes.readUInt32LE(0);
    });
    sock.on('close', () => {
      this.sockets.delete(sock);
      const who = id === 0 ? undefined : this.byConn.get(id);
      if (who === undefined || who.connId !== id) return;
      if (who.pendingExec !== undefined || who.proc.exited) return;
      if (who.real !== undefined && alive(who.realPid)) {
        // still running without its connection: it exec'd (its new image says HELLO), or it is
        // still dying; look again later and let it go if no new image came
        const b = who;
        b.pendingExec = [];
        const recheck = (tries: number): void => {
          if (b.connId !== id || b.proc.exited || b.pendingExec === undefined) return;
          if (alive(b.realPid) && tries > 0) {
            setTimeout(() => recheck(tries - 1), 100).unref();
            return;
          }
          if (!alive(b.realPid)) {
            b.pendingExec = undefined;
            try {
              this.exitProcess(b, false);
            } catch (e) {
              this.fail(e);
            }
          }
        };
        setTimeout(() => recheck(50), 100).unref();
        return;
      }
      // died without saying so (a signal): the model process exits now, its memory is gone
      try {
        this.exitProcess(who, false);
      } catch (e) {
        this.fail(e);
      }
    });
    sock.on('error', () => {});
  }

  private fdList(b: Bridged): string {
    return [...b.kinds].map(([fd, k]) => `${fd}:${k}`).join(',');
  }

  /** A process (new, forked, or a new image after exec) says HELLO with its reply FIFO. */
  private hello(q: Request): Bridged | undefined {
    const [pid, , token, memlock, , uid] = q.a.map(Number);
    let replyFd: number;
    const replyPath = cstr(q.s);
    const chanPath = cstr(q.s.subarray(Buffer.byteLength(replyPath) + 1));
    let chanFd: number;
    try {
      // the shim holds the read end open: this neither blocks nor fails unless it died
      replyFd = openSync(replyPath, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      chanFd = openSync(chanPath, 'r+');
    } catch {
      closeSync(replyFd);
      return undefined;
    }
    for (const p of [replyPath, chanPath]) {
      try {
        unlinkSync(p);
      } catch {
        // someone else removed it; both ends are open
      }
    }
    let b: Bridged | undefined;
    if (token !== 0) {
      b = this.forks.get(token);
      this.forks.delete(token);
      this.forkedByPid.delete(pid);
    }
    const old = this.byPid.get(pid);
    if (b === undefined && old !== undefined && old.pendingExec !== undefined) {
      b = old;
      this.execProcess(b);
    }
    if (b === undefined) {
      const proc = this.machine.spawn({
        uid,
        memlock: memlock < 0 ? 'unlimited' : BigInt.asUintN(64, q.a[3]),
        caps: this.capsOverride ?? capsFromBits(q.a[4]),
        // the real process's own descriptors 0-2 stand there (outsideFd)
        stdio: false,
      });
      this.capsOverride = undefined;
      b = new Bridged(proc);
    }
    closeReply(b);
    b.replyFd = replyFd;
    b.chanFd = chanFd;
    b.chanSeq = 0;
    b.sleeper = false;
    if (b.connId !== 0 && this.byConn.get(b.connId) === b) this.byConn.delete(b.connId);
    b.connId = this.nextConn++;
    this.byConn.set(b.connId, b);
    // the thread that says HELLO is the process's main thread (after fork and exec too)
    if (b.activeTid !== pid) {
      b.failNth.clear();
      b.activeTid = pid;
    }
    // a new image has a new mm: /proc/PID/mem opened before the exec still points at the old one
    if (b.realPid !== pid || b.real === undefined || b === old) {
      b.real?.close();
      b.real = new RealProcess(pid);
      b.realPid = pid;
    }
    this.attachMm(b);
    this.byPid.set(pid, b);
    this.stats.processes++;
    return b;
  }

  /** Hook the process's address space to the real one. */
  private attachMm(b: Bridged): void {
    const backing: UserBacking = {
      copy: (va, buf, off, len, write) => b.real?.copy(va, buf, off, len, write) ?? false,
      vmaMiss: (mm, vpn) => this.mirror(b, mm, vpn * PAGE_SIZE, vpn * PAGE_SIZE + 1),
      touch: (_mm, lo, hi) => this.syncBeforeWalk(b, lo, hi),
      copiedFile: (_mm, lo, hi) => this.copyRealPages(b, lo, hi),
      gupShared: (_mm, lo, hi, write) => notePopulate(b.populate, lo, hi, write),
    };
    b.proc.mm.backing = backing;
  }

  /**
   * Add the real mappings overlapping [lo, hi) the model does not have yet
   * (anonymous, same protection, private or shared as in the real process).
   * True when something was added.
   */
  private mirror(b: Bridged, mm: MmStruct, lo: number, hi: number): boolean {
    if (b.real === undefined) return false;
    let added = false;
    const m = this.machine;
    const prevFaults = m.faults.current;
    m.faults.current = undefined;
    try {
      for (const r of b.real.maps()) {
        if (r.end <= lo || r.start >= hi || r.name === '[vvar]' || r.name === '[vsyscall]' || r.name === '[vvar_vclock]') continue;
        if (r.name === '[vdso]') {
          // the text of the host's vDSO, as exec's map_vdso() has it (a read pin copies it: it is no anonymous page);
          // [vvar] and [vsyscall] stay out, where GUP says EFAULT anyway
          if (mm.findVma(r.start / PAGE_SIZE) !== undefined) continue;
          const bytes = new Uint8Array(r.end - r.start);
          if (!b.real.copy(r.start, bytes, 0, bytes.length, false)) continue;
          if (mm.mapVdsoText(r.start / PAGE_SIZE, new MemFile(m.phys, 'file', BigInt(bytes.length), { name: '[vdso]', contents: bytes })) === 0) added = true;
          continue;
        }
        // fill the gaps of [r.start, r.end) in the model
        let s = r.start / PAGE_SIZE;
        const e = r.end / PAGE_SIZE;
        while (s < e) {
          const i = mm.findIdx(s);
          const v = mm.vmas[i];
          if (v !== undefined && v.start <= s) {
            s = v.end;
            continue;
          }
          const gapEnd = v === undefined ? e : Math.min(e, v.start);
          const flags = MAP_FIXED | MAP_ANONYMOUS | (r.shared ? MAP_SHARED : MAP_PRIVATE);
          const rc = mm.mmap(BigInt(s * PAGE_SIZE), BigInt((gapEnd - s) * PAGE_SIZE), r.prot, flags);
          if (rc >= 0n) added = true;
          s = gapEnd;
        }
      }
    } finally {
      m.faults.current = prevFaults;
    }
    return added;
  }

  // ---------------------------------------------------------------------------
  // frame contents: the real process mapping the frame holds them

  private frameCopy(pfn: number, off: number, buf: Uint8Array, bufOff: number, len: number, write: boolean): boolean {
    if (pfn === this.machine.phys.zeroPfn) return false;
    // a memfd's page through the real file first: reading it through a shared mapping of the program
    // (/proc/PID/mem) would fault it into the program's page tables, which the next sync takes for the
    // program's own touch (a fallocated page not yet uptodate would turn uptodate; shmem_file_read_iter()
    // reads such a page as zeros and leaves it so)
    if (this.memfds.size > 0 && this.memfdCopy(pfn, off, buf, bufOff, len, write)) return true;
    // the map is kept across requests; each hit is checked against the page tables, a miss rebuilds it once
    // per request, and again when a frame was mapped since (a GUP for write of a private file page copies
    // the page, which reads the source through here, before it maps the copy the write then goes to)
    let at = this.rmap?.get(pfn);
    if (at !== undefined && !this.rmapValid(pfn, at)) at = undefined;
    if (at === undefined) {
      const mapped = this.framesMappedNow();
      if (!this.rmapRebuilt || mapped !== this.rmapMapped) {
        this.buildRmap();
        this.rmapRebuilt = true;
        this.rmapMapped = mapped;
        at = this.rmap!.get(pfn);
      }
      if (at === undefined) return false;
    }
    const b = this.rmapOwner[at % 64];
    const vpn = Math.floor(at / 64);
    return b.real?.copy(vpn * PAGE_SIZE + off, buf, bufOff, len, write) ?? false;
  }

  /** A page of a memfd no process maps (or one write(2) adds): its bytes are in the real file. */
  private memfdCopy(pfn: number, off: number, buf: Uint8Array, bufOff: number, len: number, write: boolean): boolean {
    let fd = -1;
    let page = -1;
    for (const [file, realFd] of this.memfds) {
      page = file.pageOf(pfn);
      if (page >= 0) {
        fd = realFd;
        break;
      }
    }
    if (fd < 0) return false;
    const pos = page * PAGE_SIZE + off;
    try {
      const n = write ? writeSync(fd, buf, bufOff, len, pos) : readSync(fd, buf, bufOff, len, pos);
      if (!write && n < len) buf.fill(0, bufOff + n, bufOff + len);
      return write ? n === len : true;
    } catch {
      return false;
    }
  }

  /** Is frame `pfn` still at the place `at` of the reverse map says? */
  private rmapValid(pfn: number, at: number): boolean {
    const b = this.rmapOwner[at % 64];
    if (b === undefined || b.proc.exited || b.real === undefined) return false;
    const vpn = Math.floor(at / 64);
    const mm = b.proc.mm;
    // (an anonymous page, as buildRmap() takes them: a file's page mapped privately is no place for its bytes)
    if (mm.lookupEntry(vpn) - 1 === pfn && mm.lastFlags & PTE_ANON) return true;
    const v = mm.findVma(vpn);
    const f = v?.file;
    if (v === undefined || f === null || f === undefined || !(v.flags & VM_MAYSHARE)) return false;
    const page = v.pgoff + (vpn - v.start);
    const head = f.lookup(Math.floor(page / f.folioPages));
    return head >= 0 && head + (page % f.folioPages) === pfn;
  }

  /** framesMapped summed over the address spaces buildRmap() walks. */
  private framesMappedNow(): number {
    let n = 0;
    for (const b of this.byPid.values()) if (!b.proc.exited && b.real !== undefined) n += b.proc.mm.framesMapped;
    return n;
  }

  /** pfn → (process, vpn) over every connected process, built when a frame's contents are first needed. */
  private buildRmap(): void {
    const rmap = new Map<number, number>();
    const owners: Bridged[] = [];
    for (const b of this.byPid.values()) {
      if (b.proc.exited || b.real === undefined || owners.length === 64) continue;
      const k = owners.push(b) - 1;
      b.proc.mm.forEachMapping((vpn, pfn, flags, huge) => {
        // a file's page where a private mapping maps it is not a place for its bytes: the real process may
        // have its own copy there, and a write through /proc/PID/mem makes one (the file's page would not
        // see it); the file's page is found at its shared mappings (below) or in the real memfd
        if (!(flags & PTE_ANON)) return;
        const n = huge ? PT_SPAN : 1;
        for (let i = 0; i < n; i++) if (!rmap.has(pfn + i)) rmap.set(pfn + i, (vpn + i) * 64 + k);
      });
      // shared memory: a page of the file is at the same offset of every shared mapping, faulted in the model or not
      for (const v of b.proc.mm.vmas) {
        const f = v.file;
        if (f === null || !(v.flags & VM_MAYSHARE)) continue;
        const fp = f.folioPages;
        for (const [idx, head] of f.cached()) {
          for (let i = 0; i < fp; i++) {
            const page = idx * fp + i;
            const vpn = v.start + (page - v.pgoff);
            if (vpn < v.start || vpn >= v.end) continue;
            if (!rmap.has(head + i)) rmap.set(head + i, vpn * 64 + k);
          }
        }
      }
    }
    this.rmap = rmap;
    this.rmapOwner = owners;
  }

  /**
   * Copy the frames of the model's VM_PFNMAP mappings in [lo, hi) (a device
   * file's pages: no real process holds their contents, the model's frame
   * does) into the program's stand-in memory there.
   */
  private fillDeviceMapping(b: Bridged, lo: number, hi: number): void {
    const real = b.real;
    if (real === undefined) return;
    const mm = b.proc.mm;
    const phys = this.machine.phys;
    const page = new Uint8Array(PAGE_SIZE);
    for (let vpn = Math.floor(lo / PAGE_SIZE); vpn < Math.ceil(hi / PAGE_SIZE); vpn++) {
      const v = mm.findVma(vpn);
      if (v === undefined || !(v.flags & VM_PFNMAP)) continue;
      const pfn = v.pfnBase + (vpn - v.start);
      if (pfn < 0 || pfn >= phys.totalFrames) continue; // past RAM: reads as zeros, as the stand-in does
      phys.read(pfn, 0, page, 0, PAGE_SIZE);
      real.copy(vpn * PAGE_SIZE, page, 0, PAGE_SIZE, true);
    }
  }

  /**
   * Before the real pages of [lo, hi) go away: copy the contents of pinned
   * frames mapped there into the model's own frames.
   */
  private snapshot(b: Bridged, lo: number, hi: number): void {
    const real = b.real;
    if (real === undefined) return;
    const phys = this.machine.phys;
    const page = new Uint8Array(PAGE_SIZE);
    this.eachPinnedPage(b.proc.mm, lo, hi, (vpn, pfn) => {
      if (real.copy(vpn * PAGE_SIZE, page, 0, PAGE_SIZE, false)) phys.store(pfn, 0, page, 0, PAGE_SIZE);
    });
  }

  /**
   * The pages of [lo, hi) (bytes) that `mm` maps to a pinned frame, as "k ADDR LEN" lines of runs (hex),
   * as many as fit the shim's 4 KiB reply: the ones its MADV_FREE keeps from the host.
   */
  private pinnedRuns(mm: MmStruct, lo: number, hi: number): string {
    const runs: Array<[number, number]> = [];
    this.eachPinnedPage(mm, lo, hi, (vpn) => {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === vpn) last[1]++;
      else runs.push([vpn, 1]);
    });
    let out = '';
    for (const [vpn, n] of runs) {
      const line = `k ${(vpn * PAGE_SIZE).toString(16)} ${(n * PAGE_SIZE).toString(16)}\n`;
      if (out.length + line.length >= 4000) break;
      out += line;
    }
    return out;
  }

  /** fn(vpn, pfn) for each page of [lo, hi) (bytes) that `mm` maps to a pinned frame (not the zero page), in order. */
  private eachPinnedPage(mm: MmStruct, lo: number, hi: number, fn: (vpn: number, pfn: number) => void): void {
    const phys = this.machine.phys;
    const s = Math.floor(lo / PAGE_SIZE);
    const e = Math.ceil(hi / PAGE_SIZE);
    const take = (vpn: number, pfn: number): void => {
      if (pfn === phys.zeroPfn || pfn >= phys.totalFrames || phys.pincount(pfn) === 0) return;
      fn(vpn, pfn);
    };
    const spanKeys = Math.ceil(e / PT_SPAN) - Math.floor(s / PT_SPAN);
    const visit = (key: number): void => {
      const node = mm.pt.get(key);
      if (node === undefined) return;
      const base = key * PT_SPAN;
      const from = Math.max(s, base);
      const to = Math.min(e, base + PT_SPAN);
      for (let vpn = from; vpn < to; vpn++) {
        if (node.huge !== 0) take(vpn, node.huge - 1 + (vpn - base));
        else if (node.pfns !== null && node.pfns[vpn - base] !== 0) take(vpn, node.pfns[vpn - base] - 1);
      }
    };
    if (spanKeys <= mm.pt.size) {
      for (let key = Math.floor(s / PT_SPAN); key * PT_SPAN < e; key++) visit(key);
    } else {
      for (const key of [...mm.pt.keys()].sort((x, y) => x - y)) if ((key + 1) * PT_SPAN > s && key * PT_SPAN < e) visit(key);
    }
  }

  // ---------------------------------------------------------------------------
  // requests

  private handle(b: Bridged, q: Request): Reply {
    const r = this.handleOp(b, q);
    if (this.trace !== undefined) this.trace(`[${b.realPid}] ${OP_NAMES[q.op] ?? q.op}(${q.a.map((x) => `0x${BigInt.asUintN(64, x).toString(16)}`).join(', ')}${q.s.length ? `, ${JSON.stringify(cstr(q.s))}` : ''}) = ${r.ret}${r.b0 !== undefined && r.b0 >= 0 ? ` new fd ${r.b0}` : ''}`);
    return r;
  }

  private handleOp(b: Bridged, q: Request): Reply {
    this.stats.requests++;
    this.rmapRebuilt = false;
    this.walkSynced.length = 0;
    if (this.memfdsToOpen.length > 0) this.openMemfds();
    b.pendingExec = q.op === OP.EXIT ? b.pendingExec : undefined;
    b.switchThread(q.tid);
    // (a NOP with 1: the shim mapped its shared memory of a device region it had mapped before, which holds the contents)
    if (q.op === OP.NOP && q.a[0] === 1n) b.toFill.length = 0;
    if (b.toFill.length > 0) for (const [lo, hi] of b.toFill.splice(0)) this.fillDeviceMapping(b, lo, hi);
    const p = b.proc;
    const a = q.a;
    switch (q.op) {
      case OP.NOP:
        return { ret: 0 };
      case OP.READ:
      case OP.POLL:
        return { ret: this.fileOp(p, q.op, a) };
      case OP.WRITE:
        return { ret: this.afterMemfdWrite(p, Number(a[0]), this.fileOp(p, q.op, a)) };
      case OP.LSEEK:
        return { ret: p.lseek(Number(a[0]), a[1], Number(a[2])) };
      case OP.PREAD:
        return { ret: p.pread(Number(a[0]), BigInt.asUintN(64, a[1]), rwCount(a[2]), a[3]) };
      case OP.PWRITE:
        return { ret: this.afterMemfdWrite(p, Number(a[0]), p.pwrite(Number(a[0]), BigInt.asUintN(64, a[1]), rwCount(a[2]), a[3])) };
      case OP.READV:
      case OP.WRITEV: {
        const rw = q.op === OP.READV ? p.readv.bind(p) : p.writev.bind(p);
        const rc = rw(Number(a[0]), a[1], a[2], a[5] !== 0n ? a[3] : undefined, Number(BigInt.asUintN(32, a[4])));
        return { ret: q.op === OP.WRITEV ? this.afterMemfdWrite(p, Number(a[0]), rc) : rc };
      }
      case OP.MEMFD_SYNC:
        this.syncMemfdPages(p, Number(a[0]), cstr(q.s));
        return { ret: 0 };
      case OP.TMPFS_OPEN: {
        // the real open walked the path and made the file: the model takes its inode onto the same number
        const str = cstr(q.s);
        const sp = str.indexOf(' ');
        if (sp <= 0) return { ret: -EINVAL };
        const key = str.slice(0, sp);
        this.syncFds(b, Number(a[1]));
        const fd = p.openTmpfs(key === '-' ? undefined : key, str.slice(sp + 1), Number(a[0]), { size: a[2], perm: Number(a[3]), uid: Number(a[4]) });
        if (fd >= 0) this.bothKinds(b, fd);
        // the real kernel counts the pages of its mappings as file pages (RssFile), the model's as shmem
        const file = fd >= 0 && a[5] === 0n ? p.fileOf(fd)?.memfile : undefined;
        if (file !== undefined) this.shmemOnlyInModel.add(file);
        return { ret: fd };
      }
      case OP.TMPFS_TRUNCATE:
        // an O_TRUNC open of a file the model holds is about to empty the real one
        this.keepFilePinnedBytes(this.machine.tmpfs.lookup(cstr(q.s))?.file, 0n, -1n);
        return { ret: 0 };
      case OP.TMPFS_UNLINK:
        this.machine.tmpfs.unlink(cstr(q.s));
        return { ret: 0 };
      case OP.SETATTR:
        return { ret: a[3] === 1n ? p.fsetattr(Number(a[0]), Number(BigInt.asIntN(32, a[1])), Number(BigInt.asIntN(32, a[2]))) : p.fsetattr(Number(a[0]), Number(a[1])) };
      case OP.POPULATE: {
        // the first POPULATE_MAX ranges (a reply still flagged REP_POPULATE brings the shim back for more)
        const list = b.populate;
        const n = Math.min(list.length / 3, POPULATE_MAX);
        const out = Buffer.alloc(n * 24);
        for (let i = 0; i < n; i++) {
          out.writeBigInt64LE(BigInt(list[3 * i] * PAGE_SIZE), 24 * i);
          out.writeBigInt64LE(BigInt((list[3 * i + 1] - list[3 * i]) * PAGE_SIZE), 24 * i + 8);
          out.writeBigInt64LE(BigInt(list[3 * i + 2]), 24 * i + 16);
        }
        list.splice(0, 3 * n);
        return { ret: n, s: out };
      }
      case OP.FCNTL: {
        const cmd = Number(a[1]);
        if (cmd === F_ADD_SEALS || cmd === F_GET_SEALS) return { ret: p.memfdFcntl(Number(a[0]), cmd, Number(BigInt.asUintN(32, a[2]))) };
        return { ret: cmd === F_GETFL ? p.getfl(Number(a[0])) : cmd === F_SETFL ? p.setfl(Number(a[0]), Number(a[2])) : -EINVAL };
      }
      case OP.STAT: {
        const file = a[0] < 0n ? undefined : p.fileOf(Number(a[0]))?.memfile;
        this.growFromReal(file);
        const st = a[0] < 0n ? p.stat(cstr(q.s)) : p.fstat(Number(a[0]));
        if (typeof st === 'number') return { ret: st };
        // i_blocks of a tmpfs file the real one (on another filesystem) counts otherwise: a read fault of a
        // hole adds a shmem page, not a block of the real file's; the pages the processes touched first
        let blocks = st.blocks ?? -1n;
        if (file !== undefined && this.shmemOnlyInModel.has(file)) {
          for (const o of this.byPid.values()) this.syncTouchedPages(o);
          blocks = file.allocatedBytes() / 512n;
        }
        // the last field: 1 for a pseudo file with an inode of its own (a dma-buf), not the shared anon inode
        return { ret: 0, s: `${st.mode} ${st.rdevMajor} ${st.rdevMinor} ${st.size} ${st.blksize} ${blocks} ${st.ino ?? 0} ${st.ownInode ? 1 : 0}` };
      }
      case OP.OPEN: {
        this.syncFds(b, Number(a[1]));
        const fd = p.open(cstr(q.s), Number(a[0]));
        // a memfd reopened through /proc/self/fd (its real file is the one the server already holds)
        if (fd >= 0) b.kinds.set(fd, p.fileOf(fd)?.memfile !== undefined ? FD_BOTH : FD_MODEL);
        return { ret: fd };
      }
      case OP.FMODE:
        return { ret: p.spliceModes(Number(a[0])) };
      case OP.GETDENTS:
        return { ret: p.getdents64(Number(BigInt.asUintN(32, a[0])), BigInt.asUintN(64, a[1]), Number(BigInt.asUintN(32, a[2]))) };
      case OP.OPENAT2: {
        const plain = (a[4] & BigInt(OPENAT2_PLAIN)) !== 0n;
        const walk = -Number(a[4] & 0xfffn);
        const how = { flags: BigInt.asUintN(64, a[0]), mode: BigInt.asUintN(64, a[2]), resolve: BigInt.asUintN(64, a[3]) };
        if (a[5] === BigInt(OPENAT2_CHECK)) return { ret: plain ? 0 : p.checkOpenHow(how) };
        this.syncFds(b, Number(a[1]));
        const from = a[5] < 0n ? undefined : Number(a[5]);
        const fd = plain ? p.open(cstr(q.s), Number(BigInt.asIntN(32, a[0])), from, walk) : p.openat2(cstr(q.s), how, walk, from);
        if (fd >= 0) b.kinds.set(fd, p.fileOf(fd)?.memfile !== undefined ? FD_BOTH : FD_MODEL);
        return { ret: fd };
      }
      case OP.CLOSE: {
        const fd = Number(a[0]);
        b.kinds.delete(fd);
        return { ret: p.close(fd) };
      }
      case OP.DUP: {
        // the real dup/dup2/dup3/F_DUPFD chose `to`: the model's descriptor there shares fd's open file
        const fd = Number(a[0]);
        const to = Number(a[1]);
        const kind = b.kinds.get(fd);
        if (kind === undefined) return { ret: -EBADF };
        const r = p.dup3(fd, to, true);
        if (r >= 0) {
          b.placeholders.delete(to);
          b.kinds.set(to, kind);
        }
        return { ret: r };
      }
      case OP.IOCTL: {
        this.stats.ioctls++;
        if (this.sabotage === 'crash-on-ioctl') throw new Error('bridge test: deliberate server failure');
        if (this.byPid.size > 1) this.exitSilentPeers(b);
        // -1: a command that installs no file (the shim spares finding its lowest free descriptor)
        const lf = a[3] < 0n ? -1 : this.syncFds(b, Number(a[3]));
        const fd = Number(a[0]);
        const cmd = Number(BigInt.asUintN(32, a[1]));
        const arg = BigInt.asUintN(64, a[2]);
        // the struct at arg (a[4] bytes) and, for some commands, the user buffer it points to (at a[5], the rest of the string)
        const n = Number(a[4]);
        const inline = n > 0 && q.s.length >= n && arg < 1n << 47n;
        if (inline) {
          const regions = [{ va: Number(arg), bytes: new Uint8Array(q.s.subarray(0, n)) }];
          const xva = BigInt.asUintN(64, a[5]);
          const xn = q.s.length - n;
          if (xn > 0 && xva < 1n << 47n && (xva + BigInt(xn) <= arg || xva >= arg + BigInt(n))) regions.push({ va: Number(xva), bytes: new Uint8Array(q.s.subarray(n)) });
          b.real?.setInline(regions);
        }
        if (inline) this.syncBeforePin(b, cmd, q.s.subarray(0, n));
        let ret: number;
        let back: (Uint8Array | undefined)[] = [];
        try {
          ret = p.ioctl(fd, cmd, arg);
        } finally {
          if (inline) back = b.real?.takeInlineWrites() ?? [];
        }
        const [st, ex] = back;
        if (ret === 0 && this.sabotage === 'ioas-alloc-id' && cmd === IOMMU_IOAS_ALLOC && st !== undefined && st.length >= 12) {
          const dv = new DataView(st.buffer, st.byteOffset, st.length);
          dv.setUint32(8, dv.getUint32(8, true) + 1, true);
        }
        // a file the model installed took the lowest free number, which syncFds made the program's
        let created = -1;
        if (lf >= 0 && !b.placeholders.has(lf) && !b.kinds.has(lf) && p.hasFd(lf)) {
          created = lf;
          b.kinds.set(lf, FD_MODEL);
        }
        // the reply's string: what the model wrote into the struct (b1 bytes), then into the user buffer
        // get_unused_fd_flags(): iommufd's files are O_CLOEXEC, a dma-buf as its export flags say
        const b0 = created >= 0 && p.fileOf(created)?.installCloexec === false ? created | NEWFD_KEEP_ON_EXEC : created;
        if (st === undefined && ex === undefined) return { ret, b0 };
        if (ex === undefined) return { ret, b0, b1: st!.length, s: st };
        return { ret, b0, b1: st?.length ?? 0, s: st === undefined ? ex : Buffer.concat([st, ex]) };
      }
      case OP.MMAP: {
        const [addr, len, prot, flags0, fd, off] = a;
        let flags = Number(flags0);
        let mfd = Number(fd);
        // a file the model does not know, which refuses the mapping itself: the model checks the address first
        if (mfd <= MMAP_FD_REFUSED) return { ret: p.mmapRefusedFile(addr, len, Number(prot), flags, off, MMAP_FD_REFUSED - mfd) };
        if (mfd === MMAP_FD_FOREIGN) {
          // a file the model does not know: anonymous memory stands in for its pages
          flags = (flags & ~MAP_TYPE) | MAP_ANONYMOUS | MAP_PRIVATE;
          mfd = -1;
        }
        if (flags & MAP_FIXED) {
          // as munmap: a THP the program's touch made is split, the part outside kept
          this.syncTouchedRange(b, addr, len);
          this.snapshot(b, Number(addr), Number(addr) + Number(len));
        }
        const r = p.mmap(addr, len, Number(prot), flags, mfd, off);
        // a writable mapping of a hugetlb memfd grows it (hugetlbfs_file_mmap()): the real file too
        if (r >= 0n && mfd >= 0) this.afterMemfdWrite(p, mfd, 0);
        // a device mapping of a model file (the vIOMMU's page of an iommufd): the program's
        // stand-in memory gets the frames' contents at the next request (the shim sends one
        // once the real mapping exists)
        if (r >= 0n && mfd >= 0 && b.kinds.get(mfd) === FD_MODEL) {
          b.toFill.push([Number(r), Number(r) + Number(BigInt.asUintN(64, len))]);
          // the frame it starts at: the shim keeps one shared memory per device region, so that every
          // mapping of the same frames is the same memory (io_remap_pfn_range() of them in each VMA)
          const v = p.mm.vmaAt(r);
          if (v !== undefined && v.flags & VM_PFNMAP) return { ret: r, b0: v.pfnBase + (Number(r) / PAGE_SIZE - v.start) };
        }
        return { ret: r };
      }
      case OP.MUNMAP:
        // a THP the program's touch made is split, not dropped, by an unmap of part of it
        this.syncTouchedRange(b, a[0], a[1]);
        this.snapshot(b, Number(a[0]), Number(a[0]) + Number(a[1]));
        return { ret: p.munmap(a[0], a[1]) };
      case OP.MPROTECT:
        // read-only uncharges an anonymous VMA that has no anon_vma yet (mprotect_fixup()): the
        // pages the real process wrote give the model's VMAs theirs first
        if (Number(a[2]) & PROT_WRITE) this.mirrorRange(b, a[0], a[1]);
        else this.syncWrittenPages(b, a[0], a[1]);
        this.syncTouchedRange(b, a[0], a[1]);
        return { ret: p.mprotect(a[0], a[1], Number(a[2])) };
      case OP.MSEAL:
        // the VMAs of the range as the real process has them (its image, its stack) before they are sealed
        this.mirrorRange(b, a[0], a[1]);
        return { ret: p.mseal(a[0], a[1], a[2]) };
      case OP.MLOCK:
        this.mirrorRange(b, a[0], a[1]);
        this.syncTouchedRange(b, a[0], a[1]);
        return { ret: p.mlock2(a[0], a[1], Number(a[2])) };
      case OP.MINCORE: {
        // the mappings and the pages the program's CPU touched there, the vector's mapping too
        this.mirrorRange(b, a[0], a[1]);
        this.syncTouchedRange(b, a[0], a[1]);
        this.mirrorRange(b, a[2], BigInt.asUintN(64, a[1]) / BigInt(PAGE_SIZE) + 1n);
        return { ret: p.mincore(a[0], a[1], a[2]) };
      }
      case OP.MREMAP: {
        const [addr, oldLen, newLen, flags, newAddr, how] = a;
        const mode = Number(how);
        if (mode !== MREMAP_FOLLOW) {
          // before the real pages move: the source's mappings and the pages the CPU touched there, and the
          // pinned contents of what goes away (a shrunk tail, what MREMAP_FIXED replaces)
          this.mirrorRange(b, addr, oldLen);
          this.syncTouchedRange(b, addr, oldLen);
          const o = BigInt.asUintN(64, oldLen);
          const n = BigInt.asUintN(64, newLen);
          if (n < o) this.snapshot(b, Number(BigInt.asUintN(64, addr) + n), Number(BigInt.asUintN(64, addr) + o));
          if (Number(flags) & MREMAP_FIXED) {
            this.syncTouchedRange(b, newAddr, newLen);
            this.snapshot(b, Number(BigInt.asUintN(64, newAddr)), Number(BigInt.asUintN(64, newAddr) + n));
          }
        }
        if (mode === MREMAP_CHECK) {
          // "i": it stays in place (the shim has the model do it, then does the same); "p old new to": it moves,
          // with the lengths as the model takes them (hugetlb's are huge-aligned), to where the model would put
          // it if that is free in the real process, else where the real kernel places it
          const place: MremapPlace = { check: true };
          const ret = p.mremap(addr, oldLen, newLen, flags, newAddr, place);
          const c = place.checked;
          return c === undefined ? { ret } : { ret, s: c.move ? `p ${c.oldLen.toString(16)} ${c.newLen.toString(16)} ${(c.to ?? 0n).toString(16)}` : 'i' };
        }
        if (mode === MREMAP_FOLLOW) return { ret: p.mremap(addr, oldLen, newLen, flags, newAddr, { at: BigInt.asUintN(64, newAddr) }) };
        // MREMAP_DO: the shim does to the real process what the model did, a line each (the host kernel's own
        // mremap may be another version's: its checks and moves are not the profile's)
        const effects: MremapEffect[] = [];
        const ret = p.mremap(addr, oldLen, newLen, flags, newAddr, { effects });
        const hex = (v: bigint): string => v.toString(16);
        const lines = effects.map((e) =>
          e.kind === 'unmap' ? `u ${hex(e.addr)} ${hex(e.len)}` : e.kind === 'move' ? `m ${hex(e.from)} ${hex(e.oldLen)} ${hex(e.to)} ${hex(e.newLen)} ${e.dontUnmap ? 1 : 0}` : `g ${hex(e.addr)} ${hex(e.oldLen)} ${hex(e.newLen)}`,
        );
        return { ret, s: lines.join('\n') };
      }
      case OP.MUNLOCK:
        this.mirrorRange(b, a[0], a[1]);
        this.syncTouchedRange(b, a[0], a[1]);
        return { ret: p.munlock(a[0], a[1]) };
      case OP.MLOCKALL:
        // the whole address space counts (total_vm) and is locked: the model learns every real mapping first
        this.mirrorRange(b, 0n, TASK_SIZE);
        return { ret: p.mlockall(Number(a[0])) };
      case OP.MUNLOCKALL:
        return { ret: p.munlockall() };
      case OP.MADVISE: {
        const advice = Number(a[2]);
        this.mirrorRange(b, a[0], a[1]);
        // (a guard region's install zaps what is mapped there first, as MADV_DONTNEED does)
        if (advice === MADV_DONTNEED || advice === MADV_REMOVE || advice === MADV_GUARD_INSTALL) this.snapshot(b, Number(a[0]), Number(a[0]) + Number(a[1]));
        if (advice === MADV_COLLAPSE) this.syncWrittenPages(b, a[0], a[1]);
        // the user range, when it is one (MADV_PAGEOUT and MADV_FREE below look at its pinned pages)
        const range = a[0] >= 0n && a[1] > 0n && a[0] + a[1] <= TASK_SIZE ? ([Number(a[0]), Number(a[0] + a[1])] as const) : undefined;
        // a page the model pinned after the host took MADV_FREE for it: a byte written back through /proc/PID/mem
        // dirties the real page, which the host's reclaim then keeps, as a kernel keeps the pinned one (GUP for
        // writing dirtied it, and the pin's reference fails try_to_unmap_one())
        if (advice === MADV_PAGEOUT && range !== undefined) this.eachPinnedPage(p.mm, range[0], range[1], (vpn) => this.rewriteRealByte(b, vpn));
        // the pages touched so far were faulted under the VMA's flags before this advice (a THP or not)
        this.syncTouchedRange(b, a[0], a[1]);
        const ret = p.madvise(a[0], a[1], advice);
        // MADV_FREE: the pinned pages stay off the host's lazy free list (the shim's madvise_free())
        if (advice === MADV_FREE && (ret === 0 || ret === -ENOMEM) && range !== undefined) return { ret, s: this.pinnedRuns(p.mm, range[0], range[1]) };
        return { ret };
      }
      case OP.MEMFD: {
        this.syncFds(b, Number(a[1]));
        const fd = p.memfdCreate(cstr(q.s), Number(a[0]));
        if (fd >= 0) this.bothKinds(b, fd);
        return { ret: fd };
      }
      case OP.FTRUNCATE:
        this.keepTruncatedPins(p, Number(a[0]), a[1]);
        return { ret: p.ftruncate(Number(a[0]), a[1]) };
      case OP.FALLOCATE: {
        // A hole punched: the pinned folios it drops keep their bytes once the real file loses them.
        if (Number(a[1]) & FALLOC_FL_PUNCH_HOLE && a[2] >= 0n && a[3] > 0n) {
          const fb = BigInt(p.fileOf(Number(a[0]))?.memfile?.folioBytes ?? PAGE_SIZE);
          this.keepPinnedBytes(p, Number(a[0]), (a[2] + fb - 1n) / fb, (a[2] + a[3]) / fb);
        }
        return { ret: p.fallocate(Number(a[0]), Number(a[1]), a[2], a[3]) };
      }
      case OP.FORK_PREPARE: {
        // Pages only the program's CPU touched are the parent's too: the child shares them copy-on-write.
        this.syncTouchedPages(b);
        const child = p.forkOrErrno();
        if (typeof child === 'number') return { ret: child };
        const cb = new Bridged(child);
        // the child's limits are its parent's: a hard limit the model already holds as its own is the child's too
        cb.memlockMaxKnown = b.memlockMaxKnown;
        for (const f of b.placeholders) cb.placeholders.add(f);
        for (const [f, k] of b.kinds) cb.kinds.set(f, k);
        this.forks.set(child.pid, cb);
        return { ret: child.pid };
      }
      case OP.FORK_DONE: {
        const cb = this.forks.get(Number(a[0]));
        if (cb !== undefined) this.forkedByPid.set(Number(a[1]), cb);
        return { ret: 0 };
      }
      case OP.FORK_ABORT: {
        const cb = this.forks.get(Number(a[0]));
        this.forks.delete(Number(a[0]));
        cb?.proc.exit();
        return { ret: 0 };
      }
      case OP.EXEC_PREPARE: {
        this.snapshot(b, 0, 2 ** 47);
        const list = cstr(q.s);
        b.pendingExec = list === '' ? [] : list.split(',').map(Number);
        return { ret: 0 };
      }
      case OP.EXIT:
        b.pendingExec = undefined;
        this.exitProcess(b, true);
        return { ret: 0 };
      case OP.REAP: {
        // the program reaped a child: if it never said EXIT (a signal), it exits in the model now
        const c = this.byPid.get(Number(a[0]));
        if (c !== undefined && c !== b && !c.proc.exited) {
          c.pendingExec = undefined;
          this.exitProcess(c, false);
        }
        return { ret: 0 };
      }
      case OP.FILE_READ: {
        const r = this.fileRead(b, cstr(q.s));
        // a[2] = 1: the bytes [a[0], a[0] + a[1]) of the text (a file longer than one reply, e.g. smaps)
        if (a[2] !== 1n || r.ret < 0 || r.s === undefined) return r;
        const from = Number(BigInt.asUintN(63, a[0]));
        const part = Buffer.from(r.s).subarray(Math.min(from, r.s.length), Math.min(from + Number(BigInt.asUintN(32, a[1])), r.s.length));
        return { ret: part.length, s: part };
      }
      case OP.FILE_OPEN:
        // a[1] = 1: the name was walked through /proc/self or /proc/thread-self
        if (a[1] === 1n) this.procSelfLink(b);
        return { ret: this.fileOpen(b, cstr(q.s), Number(a[0])) };
      case OP.PROC_SELF_WALK:
        this.procSelfLink(b);
        return { ret: 0 };
      case OP.FD_TWIN:
        return { ret: p.sameFileFd(Number(a[0])) };
      case OP.FILE_WRITE: {
        // a[0]: the count the program wrote, when the shim sent fewer bytes of it (0: as many as sent)
        const z = q.s.indexOf(0);
        const data = q.s.subarray(z + 1);
        return this.fileWrite(b, q.s.subarray(0, z).toString(), data, a[0] > 0n ? Number(BigInt.asUintN(63, a[0])) : data.length);
      }
      case OP.SETRLIMIT: {
        if (Number(a[0]) !== RLIMIT_MEMLOCK) return { ret: -EINVAL };
        this.knowMemlockMax(b, a[3]);
        return { ret: p.setMemlockLimit(a[1], a[2]) };
      }
      case OP.PRLIMIT: {
        // prlimit() of RLIMIT_MEMLOCK of another process: the model's, when that pid is one of its processes
        const t = this.byPid.get(Number(a[0])) ?? this.forkedByPid.get(Number(a[0]));
        if (t === undefined || t.proc.exited) return { ret: PRLIMIT_NOT_MODEL };
        // the target's real hard limit, when the caller could read it, stands for the model's until one is set
        if (a[5] === 1n) this.knowMemlockMax(t, a[4]);
        const r = p.prlimitMemlock(t.proc === p ? 0 : t.proc.pid, a[1] === 1n ? undefined : { cur: a[2], max: a[3] });
        if (typeof r === 'number') return { ret: r };
        if (a[1] !== 1n) t.memlockMaxKnown = true;
        const out = Buffer.alloc(16);
        out.writeBigUInt64LE(r.cur, 0);
        out.writeBigUInt64LE(r.max, 8);
        return { ret: 0, s: out };
      }
      case OP.CAPSET: {
        // cap_capset(): the permitted set may only shrink, the effective one stays within it
        const eff = capsFromBits(a[0]);
        const perm = capsFromBits(a[1]);
        if (perm.some((c) => !p.task.permitted.has(c)) || eff.some((c) => !perm.includes(c))) return { ret: -EPERM };
        p.task.caps.clear();
        for (const c of eff) p.task.caps.add(c);
        p.task.permitted.clear();
        for (const c of perm) p.task.permitted.add(c);
        return { ret: 0 };
      }
      case OP.CAPGET: {
        let bits = 0n;
        for (const c of a[0] === 1n ? p.task.permitted : p.task.caps) bits |= 1n << BigInt(CAPABILITIES.indexOf(c));
        return { ret: bits };
      }
      case OP.SCM_OFFER: {
        const fd = Number(a[0]);
        const kind = b.kinds.get(fd);
        if (kind === undefined) return { ret: -EBADF };
        const file = p.scmSend(fd);
        if (typeof file === 'number') return { ret: file };
        const key = `${a[1]}:${a[2]}`;
        const token = this.nextScmToken++;
        const l = this.inFlight.get(key) ?? [];
        l.push({ token, file, kind });
        this.inFlight.set(key, l);
        this.inFlightByToken.set(token, key);
        return { ret: token };
      }
      case OP.SCM_TAKE: {
        const key = `${a[1]}:${a[2]}`;
        const e = this.inFlight.get(key)?.shift();
        if (e === undefined) return { ret: 0 };
        this.scmForget(key, e.token);
        const fd = Number(a[0]);
        b.placeholders.delete(fd);
        const r = p.scmReceive(e.file, fd);
        if (r < 0) return { ret: r };
        if (e.kind === FD_BOTH) this.bothKinds(b, fd);
        else b.kinds.set(fd, e.kind);
        return { ret: e.kind };
      }
      case OP.PIDFD_GETFD: {
        // the real call took the target's file (the placeholder, or the real memfd): the model's goes with it
        // (a child forked a moment ago, before its HELLO, holds its parent's files already)
        const t = this.byPid.get(Number(a[0])) ?? this.forkedByPid.get(Number(a[0]));
        const kind = t?.kinds.get(Number(a[1]));
        if (t === undefined || kind === undefined) return { ret: 0 };
        const to = Number(a[2]);
        b.placeholders.delete(to);
        const r = p.pidfdGetfd(t.proc, Number(a[1]), to);
        if (r < 0) return { ret: r };
        if (kind === FD_BOTH) this.bothKinds(b, to);
        else b.kinds.set(to, kind);
        return { ret: kind };
      }
      case OP.SCM_CANCEL: {
        const token = Number(a[0]);
        const key = this.inFlightByToken.get(token);
        const l = key === undefined ? undefined : this.inFlight.get(key);
        const i = l?.findIndex((x) => x.token === token) ?? -1;
        if (key === undefined || l === undefined || i < 0) return { ret: -EINVAL };
        const [e] = l.splice(i, 1);
        this.scmForget(key, token);
        e.file.drop();
        return { ret: 0 };
      }
      case OP.PAGEMAP: {
        const [kind, arg] = splitName(cstr(q.s));
        const t = kind === 'pagemap' ? this.target(b, arg) : undefined;
        if (t === undefined) return { ret: -ESRCH };
        const pos = BigInt.asUintN(64, a[0]);
        const count = Math.min(Number(BigInt.asUintN(32, a[1])), PAGEMAP_MAX_ENTRIES * PM_ENTRY_BYTES);
        // Pages the program's own CPU touched exist in the real process only: the model faults them first.
        if (pos % 8n === 0n && count >= 8) this.syncTouchedPages(t, Number(pos / 8n), count / 8);
        const ents = pagemapRead(t.proc.mm, pos, count, p.task.capable('CAP_SYS_ADMIN'));
        if (typeof ents === 'number') return { ret: ents };
        const bytes = Buffer.from(ents.buffer, ents.byteOffset, ents.byteLength);
        return { ret: bytes.length, s: bytes };
      }
      case OP.FDPATH: {
        if (a[0] < 0n) return reply(specialPath(cstr(q.s)));
        const path = p.fdPath(Number(a[0]));
        return typeof path === 'number' ? { ret: path } : reply(path);
      }
      case OP.CRED: {
        const id = (v: bigint): number => Number(BigInt.asUintN(32, v));
        switch (Number(a[0])) {
          case 0:
            return { ret: p.setuid(id(a[1])) };
          case 1:
            return { ret: p.setreuid(id(a[1]), id(a[2])) };
          case 2:
            return { ret: p.setresuid(id(a[1]), id(a[2]), id(a[3])) };
          case 3:
            return { ret: p.setKeepCaps(a[1]) };
          case 4:
            return { ret: p.setThpDisable(a[1], a[2], a[3], a[4]) };
          case 5:
            return { ret: p.getThpDisable(a[1], a[2], a[3], a[4]) };
          case 6: {
            // getrlimit(RLIMIT_MEMLOCK): the model's soft and hard limits, 16 bytes
            this.knowMemlockMax(b, a[1]);
            const l = p.memlockLimit();
            if (typeof l === 'number') return { ret: l };
            const out = Buffer.alloc(16);
            out.writeBigUInt64LE(l.cur, 0);
            out.writeBigUInt64LE(l.max, 8);
            return { ret: 0, s: out };
          }
          default:
            return { ret: -EINVAL };
        }
      }
      default:
        return { ret: -EINVAL };
    }
  }

  /** read / write / poll of a model file: the Process calls (poll of a closed fd is POLLNVAL, as do_pollfd). */
  private fileOp(p: Process, op: number, a: bigint[]): number {
    const fd = Number(a[0]);
    if (op === OP.POLL) return a[2] === 1n ? p.pollable(fd) : a[2] === 2n ? p.pollWakeups(fd) : p.poll(fd, Number(a[1]));
    const buf = BigInt.asUintN(64, a[1]);
    return op === OP.READ ? p.read(fd, buf, rwCount(a[2])) : p.write(fd, buf, rwCount(a[2]));
  }

  /** The real process's RLIMIT_MEMLOCK hard limit `realMax` stands for the model's until the program first sets or reads one. */
  private knowMemlockMax(b: Bridged, realMax: bigint): void {
    if (b.memlockMaxKnown) return;
    b.proc.task.rlimitMemlockMax = BigInt.asUintN(64, realMax);
    b.memlockMaxKnown = true;
  }

  /**
   * Before a memfd shrinks to `length` (the real file shrinks next, with the
   * bytes): the pinned frames of the folios the page cache is about to drop
   * keep their contents in the model's own frames, so DMA through the pins
   * still sees them (as snapshot() does for a real mapping going away).
   */
  private keepTruncatedPins(p: Process, fd: number, length: bigint): void {
    const file = p.fileOf(fd)?.memfile;
    if (file === undefined || length < 0n) return;
    const fb = BigInt(file.folioBytes);
    this.keepPinnedBytes(p, fd, (length + fb - 1n) / fb, -1n);
  }

  /**
   * Before the real memfd behind `fd` loses its folios [from, to) (to -1: to the end), the
   * pinned pages among those the model caches there take their bytes from it as the model's
   * own: the pins keep them alive, out of the file (ftruncate, fallocate's PUNCH_HOLE).
   */
  private keepPinnedBytes(p: Process, fd: number, from: bigint, to: bigint): void {
    this.keepFilePinnedBytes(p.fileOf(fd)?.memfile, from, to);
  }

  /** keepPinnedBytes() of a page cache. */
  private keepFilePinnedBytes(file: MemFile | undefined, from: bigint, to: bigint): void {
    const real = file === undefined ? undefined : this.memfds.get(file);
    if (real === undefined) return;
    const fp = file!.folioPages;
    const phys = this.machine.phys;
    const page = new Uint8Array(PAGE_SIZE);
    for (const [index, head] of file!.cached()) {
      if (BigInt(index) < from || (to >= 0n && BigInt(index) >= to)) continue;
      for (let i = 0; i < fp; i++) {
        if (phys.pincount(head + i) === 0) continue;
        try {
          const n = readSync(real, page, 0, PAGE_SIZE, (index * fp + i) * PAGE_SIZE);
          page.fill(0, n);
          phys.store(head + i, 0, page, 0, PAGE_SIZE);
        } catch {
          // unreadable: the frame keeps what the model had
        }
      }
    }
  }

  /**
   * The real memfd has pages in `ranges` ("start end " byte ranges, from
   * SEEK_DATA/SEEK_HOLE): each page the model's page cache lacks is added
   * there (a fault of the program's through its own mapping, which only the
   * real kernel saw), and one fallocate() added is uptodate. The new frame's bytes are the real file's (the frame
   * backing reads them from it). At most 2^18 pages per sync.
   */
  private syncMemfdPages(p: Process, fd: number, ranges: string): void {
    const file = p.fileOf(fd)?.memfile;
    if (file === undefined || !this.memfds.has(file)) return;
    this.growFromReal(file);
    const nums = ranges.trim().split(/\s+/).map(Number);
    const fb = file.folioBytes;
    let budget = 1 << 18;
    const m = this.machine;
    const prevFaults = m.faults.current;
    m.faults.current = undefined;
    try {
      for (let i = 0; i + 1 < nums.length && budget > 0; i += 2) {
        const [start, end] = [nums[i], nums[i + 1]];
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) break;
        for (let index = Math.floor(start / fb); index * fb < end && budget > 0; index++, budget--) {
          // (a page fallocate() added is data now too: the program wrote it, the real file says so)
          if (BigInt(index) < BigInt(file.nfolios)) file.getFolio(index);
        }
      }
    } finally {
      m.faults.current = prevFaults;
    }
  }

  /**
   * A memfd or tmpfs file the real file outgrew behind the model's back
   * (stdio's writes reach it from inside libc, as do sendfile and splice):
   * the model's i_size follows, unless F_SEAL_GROW says the kernel would
   * have refused (the real file takes no seal). Never a shrink: the model's
   * own writes and truncations reach the real file first.
   */
  private growFromReal(file: MemFile | undefined): void {
    const real = file === undefined ? undefined : this.memfds.get(file);
    if (real === undefined || file!.seals & F_SEAL_GROW) return;
    try {
      const size = BigInt(fstatSync(real).size);
      if (size > file!.size) file!.truncate(size);
    } catch {
      // gone: nothing to follow
    }
  }

  /**
   * After the model wrote to a memfd: the real file, whose pages the
   * program maps, is made as long as the model's (its bytes reached it
   * through the frame backing; a 7.x write that failed on its first byte
   * still raises i_size). Returns `rc`.
   */
  private afterMemfdWrite(p: Process, fd: number, rc: number): number {
    const file = p.fileOf(fd)?.memfile;
    const real = file === undefined ? undefined : this.memfds.get(file);
    if (real === undefined || file!.size > BigInt(Number.MAX_SAFE_INTEGER)) return rc;
    try {
      if (BigInt(fstatSync(real).size) < file!.size) ftruncateSync(real, Number(file!.size));
    } catch {
      // the real file is the program's: a failure here shows as its own later
    }
    return rc;
  }

  /**
   * The program's own CPU writes never reach the model, yet whether a
   * private anonymous page exists (not the zero page) decides what
   * MADV_COLLAPSE does (anon_vma, a writable anon PTE per block). Before
   * one, the pages of [addr, addr+len) the real process has written
   * (present in /proc/PID/pagemap, not the zero page by /proc/kpageflags)
   * are write-faulted into the model where it has no page or the zero page.
   * Without the privilege to see frame numbers, a page mapped exclusively
   * counts as written.
   */
  private syncWrittenPages(b: Bridged, addr: bigint, len: bigint): void {
    // only user addresses have pages (a range past TASK_SIZE is the model's EINVAL/ENOMEM to give)
    const top = Number(TASK_SIZE) / PAGE_SIZE;
    let lo = Math.floor(Number(BigInt.asUintN(64, addr)) / PAGE_SIZE);
    let end = Math.min(top, lo + Math.ceil(Number(BigInt.asUintN(64, len)) / PAGE_SIZE));
    if (b.real === undefined || end <= lo) return;
    this.mirror(b, b.proc.mm, lo * PAGE_SIZE, end * PAGE_SIZE);
    // anon_vma is the VMA's: a page written anywhere in the VMAs the range touches counts
    const first = b.proc.mm.findVma(lo);
    const last = b.proc.mm.findVma(end - 1);
    if (first !== undefined) lo = first.start;
    if (last !== undefined) end = last.end;
    const n = Math.min(end - lo, 1 << 18);
    let map: number;
    try {
      map = openSync(`/proc/${b.realPid}/pagemap`, 'r');
    } catch {
      return;
    }
    let flags = -1;
    const m = this.machine;
    const prevFaults = m.faults.current;
    m.faults.current = undefined;
    try {
      const ents = Buffer.alloc(n * 8);
      if (readSync(map, ents, 0, ents.length, lo * 8) !== ents.length) return;
      const mm = b.proc.mm;
      const one = Buffer.alloc(8);
      for (let i = 0; i < n; i++) {
        const hi = ents.readUInt32LE(i * 8 + 4);
        if (!(hi & 0x80000000)) continue; // PM_PRESENT
        const pfn = ents.readUInt32LE(i * 8) + (hi & 0x7fffff) * 0x100000000;
        if (pfn !== 0) {
          if (flags === -1) flags = openKpageflags();
          // KPF_ZERO_PAGE (bit 24): read, never written
          if (flags >= 0 && readSync(flags, one, 0, 8, pfn * 8) === 8 && one.readUInt32LE(0) & (1 << 24)) continue;
        } else if (!(hi & (1 << 24))) continue; // PM_MMAP_EXCLUSIVE
        const vpn = lo + i;
        const v = mm.findVma(vpn);
        if (v === undefined || v.file !== null || v.flags & VM_MAYSHARE) continue;
        const have = mm.lookupEntry(vpn) - 1;
        if (have >= 0 && have !== m.phys.zeroPfn) continue;
        mm.fault(v, vpn, FAULT_WRITE);
      }
    } finally {
      m.faults.current = prevFaults;
      closeSync(map);
      if (flags >= 0) closeSync(flags);
    }
  }

  /**
   * Before the model answers a pagemap read of pages [lo, lo + n), and
   * before a fork (n = 0: every VMA the model knows): a page the real process
   * has and the model's page table lacks (or holds only as the zero page or,
   * in a private mapping, as the file's page) was touched by the program's
   * own CPU, so the model faults it as the real kernel did: the zero page or
   * a page cache page (PM_FILE) as a read, anything else as a write. A read
   * looks at the 2 MiB blocks around its range (a hugetlb or THP fault maps
   * the whole folio) and at the other mappings of the same file pages (they
   * decide whether a page is mapped exclusively), so its cost follows its
   * size, not the address space's.
   */
  private syncTouchedPages(b: Bridged, lo = 0, n = 0, learn = true): void {
    if (b.real === undefined || !Number.isSafeInteger(lo + n)) return;
    const mm = b.proc.mm;
    const ranges: Array<[number, number]> = [];
    if (n === 0) {
      for (const v of mm.vmas) ranges.push([v.start, v.end]);
    } else {
      const end = Math.min(lo + n, TASK_PAGES);
      // mappings the shim did not see (/proc/PID/maps), unless the model's VMAs cover the range already
      if (learn && !covered(mm, lo, end)) this.mirror(b, mm, lo * PAGE_SIZE, end * PAGE_SIZE);
      const from = lo - (lo % PT_SPAN);
      const to = Math.min(Math.ceil(end / PT_SPAN) * PT_SPAN, TASK_PAGES);
      ranges.push([from, to]);
      for (const v of mm.vmas) {
        if (v.file === null || v.end <= from || v.start >= to) continue;
        const first = v.pgoff + (Math.max(v.start, from) - v.start);
        const last = v.pgoff + (Math.min(v.end, to) - v.start) - 1;
        for (const w of mm.vmas) {
          if (w === v || w.file !== v.file) continue;
          const s0 = Math.max(w.start, w.start + (first - w.pgoff));
          const e0 = Math.min(w.end, w.start + (last - w.pgoff) + 1);
          if (s0 < e0) ranges.push([s0, e0]);
        }
      }
    }
    let map: number;
    try {
      map = openSync(`/proc/${b.realPid}/pagemap`, 'r');
    } catch {
      return;
    }
    const m = this.machine;
    const prevFaults = m.faults.current;
    m.faults.current = undefined;
    const kpf = { fd: -1 };
    try {
      let budget = 1 << 22;
      // shared mappings first: the page cache they fill decides what a private mapping of the same file
      // maps (hugetlb_no_page() gives a private read of a hole a new anonymous folio, not the file's)
      for (const shared of [true, false]) {
        for (const [from, to] of ranges) {
          budget -= this.syncRange(b, map, kpf, from, Math.min(to, from + Math.max(budget, 0)), shared);
          if (budget <= 0) break;
        }
      }
    } finally {
      m.faults.current = prevFaults;
      closeSync(map);
      if (kpf.fd >= 0) closeSync(kpf.fd);
    }
  }

  /**
   * syncTouchedPages() over the pages of [addr, addr + len) (and the 2 MiB
   * blocks around it) in the mappings the model knows: the call itself
   * decides whether the model learns the real process's others there.
   */
  private syncTouchedRange(b: Bridged, addr: bigint, len: bigint): void {
    const lo = Math.floor(Number(BigInt.asUintN(64, addr)) / PAGE_SIZE);
    const n = Math.ceil(Number(BigInt.asUintN(64, len)) / PAGE_SIZE);
    if (lo < TASK_PAGES && n > 0) this.syncTouchedPages(b, lo, Math.min(n, TASK_PAGES - lo), false);
  }

  /**
   * Before IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA or the MD_CHECK_MAP and
   * MD_CHECK_REFS test ops (whose struct is `st`): the pages of the user range
   * the program's CPU touched, which GUP finds there
   * (a page read before is the zero page, whose write fault COWs it where an
   * untouched page would have been faulted whole, a THP).
   */
  private syncBeforePin(b: Bridged, cmd: number, st: Uint8Array): void {
    const dv = new DataView(st.buffer, st.byteOffset, st.byteLength);
    // struct iommu_ioas_map: size, flags, ioas_id, __reserved, user_va, length, iova
    if (cmd === IOMMU_IOAS_MAP && st.length >= 32) this.syncTouchedRange(b, dv.getBigUint64(16, true), dv.getBigUint64(24, true));
    // struct iommu_ioas_map_file: size, flags, ioas_id, fd: the file's size as the real one grew it
    else if (cmd === IOMMU_IOAS_MAP_FILE && st.length >= 16) this.growFromReal(b.proc.fileOf(dv.getInt32(12, true))?.memfile);
    // struct vfio_iommu_type1_dma_map: argsz, flags, vaddr, iova, size
    else if (cmd === VFIO_IOMMU_MAP_DMA && st.length >= 32) this.syncTouchedRange(b, dv.getBigUint64(8, true), dv.getBigUint64(24, true));
    // struct iommu_test_cmd: size, op, id, __reserved, then check_map { iova, length, uptr } or check_refs { length, uptr, refs }
    else if (cmd === IOMMU_TEST_CMD && st.length >= 40) {
      const op = dv.getUint32(4, true);
      if (op === IOMMU_TEST_OP_MD_CHECK_MAP) this.syncTouchedRange(b, dv.getBigUint64(32, true), dv.getBigUint64(24, true));
      else if (op === IOMMU_TEST_OP_MD_CHECK_REFS) this.syncTouchedRange(b, dv.getBigUint64(24, true), dv.getBigUint64(16, true));
    }
  }

  /**
   * Before the model's GUP slow path or a user copy walks pages [lo, hi):
   * the pages the program's CPU touched there since the model last looked
   * (written after an IOAS_MAP, or after the model itself read-faulted the
   * zero page in), once per range per request. Without it a pin that comes
   * later than the map (ACCESS_RW's slow path, ACCESS_PAGES, a domain
   * attach) would take a page the model faults fresh, or the zero page,
   * where the kernel takes the page the program wrote.
   */
  private syncBeforeWalk(b: Bridged, lo: number, hi: number): void {
    if (b.real === undefined || !(hi > lo)) return;
    for (const w of this.walkSynced) if (w.b === b && w.lo <= lo && hi <= w.hi) return;
    this.walkSynced.push({ b, lo, hi });
    if (lo < TASK_PAGES) this.syncTouchedPages(b, lo, Math.min(hi, TASK_PAGES) - lo, false);
  }

  /**
   * The model copied a file's pages into pages [lo, hi) of a private mapping
   * (a write, or GUP for write, the program's CPU did not make): a byte of
   * each real page read and written back through /proc/PID/mem makes the
   * real process copy it too (a FOLL_FORCE write to a private mapping
   * breaks COW: wp_page_copy(), hugetlb_wp()), as its kernel did for the
   * model's fault. Without it the
   * real page stays the file's, and a later write to the file (write(2),
   * another mapping) shows through it where on Linux the copy keeps the old
   * bytes.
   */
  private copyRealPages(b: Bridged, lo: number, hi: number): void {
    for (let vpn = lo; vpn < hi; vpn++) this.rewriteRealByte(b, vpn);
  }

  /**
   * A byte of the real page at `vpn` read and written back through /proc/PID/mem: a FOLL_FORCE write,
   * which breaks COW in a private mapping and leaves the page dirty (so the host's reclaim keeps it).
   */
  private rewriteRealByte(b: Bridged, vpn: number): void {
    const real = b.real;
    if (real?.copy(vpn * PAGE_SIZE, this.oneByte, 0, 1, false)) real.copy(vpn * PAGE_SIZE, this.oneByte, 0, 1, true);
  }

  private readonly oneByte = new Uint8Array(1);

  /** The address spaces of the model's live processes. */
  private liveMms(): MmStruct[] {
    return [...this.machine.processes.values()].filter((p) => !p.exited).map((p) => p.mm);
  }

  /** syncTouchedPages() over the hugetlb VMAs of `only`, or of every process. */
  private syncHugetlb(only?: Bridged): void {
    for (const b of only ? [only] : [...this.byPid.values()]) {
      for (const v of [...b.proc.mm.vmas]) if (v.flags & VM_HUGETLB) this.syncTouchedPages(b, v.start, v.end - v.start);
    }
  }

  /** syncTouchedPages() over pages [from, to) of the VMAs there; the pages looked at. */
  private syncRange(b: Bridged, map: number, kpf: { fd: number }, from: number, to: number, shared: boolean): number {
    const mm = b.proc.mm;
    const zero = this.machine.phys.zeroPfn;
    const CHUNK = SYNC_CHUNK;
    const ents = syncEnts;
    const one = syncOne;
    let looked = 0;
    for (let at = from; at < to; ) {
      const v = mm.findVma(at) ?? mm.vmas.find((x) => x.start > at);
      if (v === undefined || v.start >= to) break;
      if (v.start > at) {
        at = v.start;
        continue;
      }
      const stop = Math.min(to, v.end, at + CHUNK);
      if (v.flags & VM_PFNMAP || ((v.flags & VM_MAYSHARE) !== 0) !== shared) {
        at = Math.min(to, v.end);
        continue;
      }
      const k = stop - at;
      looked += k;
      const got = readSync(map, ents, 0, k * 8, at * 8) >> 3;
      for (let i = 0; i < got; i++) {
        const hi = ents.readUInt32LE(i * 8 + 4);
        if (!(hi & 0x80000000)) continue; // PM_PRESENT
        const vpn = at + i;
        const have = mm.lookupEntry(vpn);
        const privateFile = have !== 0 && !(mm.lastFlags & PTE_ANON) && !(v.flags & VM_MAYSHARE);
        // An anonymous page fork left shared in the model that the real process maps exclusively
        // (PM_MMAP_EXCLUSIVE) while the model's other mapping lives: the program wrote it, and the
        // real kernel copied it (a write fault on a page the model holds alone only marks it exclusive).
        const copied = have !== 0 && (mm.lastFlags & (PTE_ANON | PTE_EXCL)) === PTE_ANON && (hi & (1 << 24)) !== 0 && this.machine.phys.refcount(have - 1) > 1;
        if (copied) {
          mm.fault(v, vpn, FAULT_WRITE);
          continue;
        }
        if (have !== 0 && have - 1 !== zero && !privateFile) continue;
        let read = (hi & (1 << 29)) !== 0; // PM_FILE
        const pfn = ents.readUInt32LE(i * 8) + (hi & 0x7fffff) * 0x100000000;
        if (!read && pfn !== 0) {
          if (kpf.fd === -1) kpf.fd = openKpageflags();
          // KPF_ZERO_PAGE (bit 24): read, never written
          read = kpf.fd >= 0 && readSync(kpf.fd, one, 0, 8, pfn * 8) === 8 && (one.readUInt32LE(0) & (1 << 24)) !== 0;
        }
        // what the model already maps as the real kernel would (read over read)
        if (have !== 0 && read) continue;
        const cur = mm.findVma(vpn);
        if (cur !== undefined) mm.fault(cur, vpn, read ? FAULT_READ : FAULT_WRITE);
      }
      at = stop;
    }
    return looked;
  }

  /** `fd` is a model file whose real file holds its page cache's bytes (a memfd, a tmpfs file): opened at the next request. */
  private bothKinds(b: Bridged, fd: number): void {
    b.kinds.set(fd, FD_BOTH);
    const file = b.proc.fileOf(fd)?.memfile;
    if (file !== undefined) this.memfdsToOpen.push({ b, fd, file });
  }

  /** Open the real files of the memfds made since the last request (the shim has made them by now). */
  private openMemfds(): void {
    for (const { b, fd, file } of this.memfdsToOpen.splice(0)) {
      if (this.memfds.has(file) || b.real === undefined) continue;
      const path = `/proc/${b.realPid}/fd/${fd}`;
      try {
        this.memfds.set(file, openSync(path, 'r+'));
      } catch {
        // a tmpfs file the program may only read (the reopen checks the inode's mode): its bytes still come
        // from it; or closed already: its pages are reached through their mappings only
        try {
          this.memfds.set(file, openSync(path, 'r'));
        } catch {
          // closed
        }
      }
    }
  }

  private mirrorRange(b: Bridged, addr: bigint, len: bigint): void {
    const lo = Number(BigInt.asUintN(64, addr));
    const hi = lo + Number(BigInt.asUintN(64, len));
    if (Number.isSafeInteger(hi) && hi > lo) this.mirror(b, b.proc.mm, lo, hi);
  }

  /** An SCM_RIGHTS offer received or cancelled: out of the indexes. */
  private scmForget(key: string, token: number): void {
    this.inFlightByToken.delete(token);
    if (this.inFlight.get(key)?.length === 0) this.inFlight.delete(key);
  }

  /**
   * Make the model's lowest free descriptor `low` (the program's): inert
   * placeholders fill the numbers below it the model does not use.
   */
  private syncFds(b: Bridged, low: number): number {
    const p = b.proc;
    const lf = Math.max(low, 3);
    if (b.placeholders.has(lf)) {
      p.takeFd(lf);
      b.placeholders.delete(lf);
    }
    for (let fd = 3; fd < lf; fd++) {
      if (p.hasFd(fd)) continue;
      const got = p.installFd(placeholderFile());
      if (got < 0) break;
      b.placeholders.add(got);
    }
    return lf;
  }

  private exitProcess(b: Bridged, memoryAlive: boolean): void {
    if (memoryAlive) this.snapshot(b, 0, 2 ** 47);
    b.proc.exit();
    b.real?.close();
    b.real = undefined;
    if (this.byPid.get(b.realPid) === b) this.byPid.delete(b.realPid);
    // an EXIT is answered first (dispatch closes the reply FIFO after it)
    if (!memoryAlive) {
      closeReply(b);
      if (this.byConn.get(b.connId) === b) this.byConn.delete(b.connId);
    }
  }

  /**
   * Other processes that died by a signal and whose connection's close the
   * event loop has not delivered yet (a zombie, or gone): they exit in the
   * model before `b`'s call. The kernel's exit_mm() runs before anything a
   * parent can see (a pidfd poll, SIGCHLD, a pipe's end), so a call that
   * pins from such a process's address space already finds it gone (EFAULT).
   */
  private exitSilentPeers(b: Bridged): void {
    for (const o of this.byPid.values()) {
      if (o === b || o.proc.exited || o.pendingExec !== undefined || o.real === undefined || alive(o.realPid)) continue;
      this.exitProcess(o, false);
    }
  }

  /** The new image said HELLO: close-on-exec files go, the address space is replaced. */
  private execProcess(b: Bridged): void {
    const p = b.proc;
    for (const fd of b.pendingExec ?? []) {
      p.close(fd);
      b.kinds.delete(fd);
    }
    b.pendingExec = undefined;
    execCreds(p.task);
    const old = p.task.mm;
    p.task.mm = new MmStruct(this.machine.phys, this.machine.mmOptions);
    // mm_init() keeps the legacy MMF flags of the mm it replaces (MMF_INIT_LEGACY_MASK): PR_SET_THP_DISABLE survives execve
    p.task.mm.thpDisable = old.thpDisable;
    old.mmput();
  }

  // ---------------------------------------------------------------------------
  // synthesized files

  private target(b: Bridged, pidText: string): Bridged | undefined {
    const pid = Number.parseInt(pidText, 10);
    return pid === b.realPid ? b : this.byPid.get(pid);
  }

  private fileRead(b: Bridged, name: string): Reply {
    const [kind, arg] = splitName(name);
    if (kind === 'hpage_pmd_size') return reply(`${2 * 1024 * 1024}\n`);
    // the kernel the model is: its release in place of the host's
    if (kind === 'osrelease') return reply(`${this.machine.profile.release}\n`);
    if (kind === 'proc_version') return reply(readText('/proc/version').replace(/^(Linux version )\S+/, `$1${this.machine.profile.release}`));
    // the huge pages the programs' CPUs faulted in (only their real memory saw the touch)
    if (kind === 'hugepool') this.syncHugetlb();
    if (kind === 'meminfo') {
      // every process's touched pages (THPs among them): AnonHugePages is machine-wide
      for (const o of this.byPid.values()) this.syncTouchedPages(o);
      return reply(meminfoText(readText('/proc/meminfo'), this.machine.phys, anonThpBytes(this.liveMms())));
    }
    if (kind === 'hugepool') {
      const [dir, file] = splitName(arg);
      const order = POOL_DIRS.find(([d]) => d === dir)?.[1];
      const text = order !== undefined && hasPool(this.machine.phys, order) ? poolFileText(this.machine.phys, order, file) : undefined;
      return text === undefined ? { ret: -ENOENT } : reply(text);
    }
    if (kind === 'thp_enabled') {
      const mode = this.machine.mmOptions.thp;
      return reply(`${['always', 'madvise', 'never'].map((m) => (m === mode ? `[${m}]` : m)).join(' ')}\n`);
    }
    const t = this.target(b, arg);
    if (t === undefined) return { ret: -ESRCH };
    if (kind === 'fail-nth') {
      const tid = threadOf(t, arg);
      return tid === undefined ? { ret: -ESRCH } : reply(`${t.readFailNth(tid)}\n`);
    }
    if (kind === 'fdinfo') {
      // seq_show(): pos and f_flags are the model's; close-on-exec, mnt_id and ino the real placeholder's
      // (the shim keeps its FD_CLOEXEC in step; a pseudo filesystem's numbers differ from boot to boot anyway)
      const fd = Number(splitName(arg)[1]);
      const pos = t.proc.fdPos(fd);
      const flags = t.proc.getfl(fd);
      if (typeof pos === 'number' || flags < 0) return { ret: -ENOENT };
      const real = t.real?.fdinfo(fd) ?? '';
      const realFlags = Number.parseInt(/^flags:\s*([0-7]+)/m.exec(real)?.[1] ?? '0', 8);
      const rest = real.split('\n').filter((l) => /^(mnt_id|ino):/.test(l));
      return reply(`pos:\t${pos}\nflags:\t0${(flags | (realFlags & O_CLOEXEC)).toString(8)}\n${rest.map((l) => `${l}\n`).join('')}${t.proc.fdinfoExtra(fd)}`);
    }
    if (kind === 'smaps' || kind === 'smaps_rollup') {
      // the pages the program's CPU faulted in (only its real memory saw the touch), in every process: a
      // page fork shares is counted by both
      for (const o of this.byPid.values()) this.syncTouchedPages(o);
      const rw = rewriteSmaps(t.real?.smaps() ?? '', t.proc.mm, this.liveMms(), { profile: this.machine.profile.name, inodes: this.hugetlbInodes }, this.shmemOnlyInModel);
      return reply(kind === 'smaps' ? rw.text : modelSmapsRollup(t.real?.smapsRollup() ?? '', rw.delta));
    }
    // the real lines, those of the model's hugetlb VMAs as its kernel prints them (the real memory there is ordinary)
    if (kind === 'maps') return reply(rewriteMaps(t.real?.mapsText() ?? '', t.proc.mm, this.machine.profile.name, this.hugetlbInodes));
    if (kind === 'status') {
      const mm = t.proc.mm;
      // HugetlbPages (mm->hugetlb_usage) and the resident counts: the pages the program touched are the model's
      this.syncTouchedPages(t);
      // (the resident counts do not depend on who else maps a page: no other address space is walked)
      const rw = rewriteSmaps(t.real?.smaps() ?? '', mm, [mm], undefined, this.shmemOnlyInModel);
      // SEQ_PUT_DEC() in task_mem(): pages << (PAGE_SHIFT - 10) printed unsigned, so a counter gone below
      // zero (pinned_vm after the CHANGE_PROCESS quirk of account mode NONE) shows as 2^64 less its kB
      const kb = (pages: number) => `${BigInt.asUintN(64, BigInt((pages * PAGE_SIZE) / 1024)).toString().padStart(8)} kB`;
      const text = statusRss(t.real?.status() ?? '', rw.delta)
        .replace(/^VmLck:.*$/m, `VmLck:\t${kb(mm.lockedVm)}`)
        .replace(/^VmPin:.*$/m, `VmPin:\t${kb(mm.pinnedVm)}`)
        .replace(/^HugetlbPages:.*$/m, `HugetlbPages:\t${kb(hugetlbUsage(mm))}`)
        // task_thp_status(): the real process has THPs off (the shim's PR_SET_THP_DISABLE), the model's its own setting
        .replace(/^THP_enabled:.*$/m, `THP_enabled:\t${mm.thpDisable === THP_DISABLE_ALL ? 0 : 1}`);
      return reply(text);
    }
    return { ret: -EINVAL };
  }

  /**
   * The real open's answer for a synthesized file: ENOENT for a pool file
   * that does not exist; EACCES for writing a read-only one (kernfs_fop_open()
   * refuses a write open of an attribute without store, even for root) or a
   * root-owned 0644 one without euid 0 or CAP_DAC_OVERRIDE (generic_permission()).
   */
  private fileOpen(b: Bridged, name: string, flags: number): number {
    const [kind, arg] = splitName(name);
    const task = b.proc.task;
    const root = task.euid === 0 || task.capable('CAP_DAC_OVERRIDE');
    let writable: boolean;
    switch (kind) {
      case 'hugepool': {
        const [dir, file] = splitName(arg);
        const order = POOL_DIRS.find(([d]) => d === dir)?.[1];
        if (order === undefined || !hasPool(this.machine.phys, order) || poolFileText(this.machine.phys, order, file) === undefined) return -ENOENT;
        writable = POOL_WRITABLE.has(file) && root;
        break;
      }
      case 'thp_enabled':
        writable = root;
        break;
      case 'fail-nth': {
        // proc_task_lookup(): /proc/PID/task/TID names a thread of PID's group only
        const t = this.target(b, arg);
        if (t !== undefined && threadOf(t, arg) === undefined) return -ENOENT;
        writable = true;
        break;
      }
      case 'hpage_pmd_size':
      // a sysfs attribute without store; a read-only sysctl (sysctl_perm() takes its mode bits even for root)
      case 'osrelease':
        writable = false;
        break;
      default:
        // a read-only /proc file (0444): root's DAC override opens it, writing it fails later
        writable = root;
    }
    return (flags & O_ACCMODE) !== O_RDONLY && !writable ? -EACCES : 0;
  }

  /**
   * A path walk through the /proc/self or /proc/thread-self symbolic link in
   * RCU mode: proc_self_get_link() and proc_thread_self_get_link() allocate
   * the name with GFP_ATOMIC, which failslab counts whatever ignore-gfp-wait
   * says; the walk that fails there (-ECHILD) is retried with GFP_KERNEL, so
   * it only takes one from the calling thread's fail-nth.
   */
  private procSelfLink(b: Bridged): void {
    const n = b.readFailNth(b.activeTid);
    if (n > 0) b.writeFailNth(b.activeTid, n - 1);
  }

  private fileWrite(b: Bridged, name: string, bytes: Buffer, count: number): Reply {
    const [kind, arg] = splitName(name);
    const data = bytes.toString();
    // Who may write was decided at the open (fileOpen()): a sysfs descriptor opened as root stays writable after a drop.
    // an empty write stores nothing (sysfs_kf_write(); the sysctl's handler after its permission check): 0
    if (kind === 'thp_enabled' && bytes.length === 0) return { ret: 0 };
    if (kind === 'thp_enabled') {
      // enabled_store(): one of the modes (sysfs_streq: a trailing newline allowed)
      const mode = /^(always|madvise|never)\n?$/.exec(data)?.[1];
      if (mode !== 'always' && mode !== 'madvise' && mode !== 'never') return { ret: -EINVAL };
      this.machine.setThpMode(mode);
      return { ret: bytes.length };
    }
    if (kind === 'hugepool') {
      const [dir, file] = splitName(arg);
      const order = POOL_DIRS.find(([d]) => d === dir)?.[1];
      if (order === undefined || !hasPool(this.machine.phys, order) || !POOL_WRITABLE.has(file)) return { ret: -EACCES };
      // proc_sys_call_handler() asks sysctl_perm() again at each write (EPERM); kernfs asked at the open only
      const task = b.proc.task;
      if (file === 'sysctl_nr_hugepages' && task.euid !== 0 && !task.capable('CAP_DAC_OVERRIDE')) return { ret: -EPERM };
      if (bytes.length === 0) return { ret: 0 };
      return { ret: poolWrite(this.machine.phys, order, bytes, file) };
    }
    // /proc/meminfo's proc_ops has no write: proc_reg_write() says EIO; the per-process files have none at all (EINVAL)
    if (kind === 'meminfo' || kind === 'proc_version' || kind === 'osrelease') return { ret: -EIO };
    if (kind !== 'fail-nth') return { ret: -EINVAL };
    const t = this.target(b, arg);
    if (t === undefined) return { ret: -ESRCH };
    const tid = threadOf(t, arg);
    if (tid === undefined) return { ret: -ESRCH };
    // proc_fail_nth_write(): kstrtouint_from_user(), base 0; the whole count written
    const n = kstrtouintFromUser(bytes, 0);
    if (n < 0) return { ret: n };
    this.applyDebugfsKnobs(t);
    t.writeFailNth(tid, n);
    return { ret: count };
  }

  /** failslab / fail_page_alloc ignore-gfp-wait: Y keeps those allocations out of fail-nth. */
  private applyDebugfsKnobs(t: Bridged): void {
    if (this.debugfsDir === undefined) return;
    const knob = (dir: string, f: string): string => {
      try {
        return readFileSync(join(this.debugfsDir!, dir, f), 'utf8').trim();
      } catch {
        return DEBUGFS_KNOBS[dir]?.[f] ?? '';
      }
    };
    const en = t.proc.task.failNth.enabled;
    en.clear();
    en.add('iommufd');
    // (an allocation that cannot wait counts whatever ignore-gfp-wait says: should_failslab())
    en.add('atomic');
    if (!/^[Yy1]/.test(knob('failslab', 'ignore-gfp-wait'))) en.add('slab');
    if (!/^[Yy1]/.test(knob('fail_page_alloc', 'ignore-gfp-wait'))) en.add('page');
    // fail_page_alloc/min-order: single pages (iova_bitmap's, a page table's) fail only below the default 1
    // fail_page_alloc/ignore-gfp-highmem (default Y): user folios (THP, page cache) are __GFP_HIGHMEM
    this.machine.phys.ignoreHighmem = /^[Yy1]/.test(knob('fail_page_alloc', 'ignore-gfp-highmem'));
    const minOrder = Number.parseInt(knob('fail_page_alloc', 'min-order'), 10);
    this.machine.faults.pageMinOrder = this.machine.phys.faultMinOrder = Number.isFinite(minOrder) ? minOrder : 1;
  }
}

const IOCTL_KEYS = new Map<number, string>();

/** The stats key of an ioctl command ('IOCTL 0x3ba0'), made once per command. */
function ioctlKey(cmd: number): string {
  let k = IOCTL_KEYS.get(cmd);
  if (k === undefined) IOCTL_KEYS.set(cmd, (k = `IOCTL 0x${cmd.toString(16)}`));
  return k;
}
const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

const SEQ = Buffer.alloc(4);
const WAKE = Buffer.from([CHAN_WAKE]);
const MARK = Buffer.from([CHAN_MARK]);

type ReplyTo = Pick<Bridged, 'chanFd' | 'chanSeq' | 'replyFd' | 'sleeper'>;

/**
 * Put a reply where the process waits for it (dropped when it is gone): in
 * its channel page, then the seq bump, then the wake-up byte on its FIFO
 * if it said it sleeps; HELLO's reply and one too big for the page on the
 * FIFO. True when it woke the shim.
 */
export function sendReply(b: ReplyTo, buf: Buffer, viaFifo = false): boolean {
  if (b.chanFd < 0 || viaFifo) {
    fifoWrite(b, buf);
    return false;
  }
  const fits = buf.length <= CHAN_SIZE - CHAN_REPLY;
  try {
    if (fits) writeSync(b.chanFd, buf, 0, buf.length, CHAN_REPLY);
    // the next even number (bit 0 of the last one may be set); bit 0 now: this one is on the FIFO
    b.chanSeq = (((b.chanSeq | 1) + 1) | (fits ? 0 : 1)) >>> 0;
    SEQ.writeUInt32LE(b.chanSeq, 0);
    writeSync(b.chanFd, SEQ, 0, 4, 0);
  } catch {
    return false;
  }
  if (!fits) {
    // a sleeping shim wakes on the mark itself
    fifoWrite(b, MARK);
    fifoWrite(b, buf);
    b.sleeper = false;
    return false;
  }
  if (!b.sleeper) return false;
  b.sleeper = false;
  wake(b);
  return true;
}

/** OP.SLEEP: the shim sleeps until seq moves past `old`: wake it now if it has, else at the next reply. */
export function sleepUntilPast(b: ReplyTo, old: number): void {
  if (b.chanSeq !== old) wake(b);
  else b.sleeper = true;
}

function wake(b: Pick<Bridged, 'replyFd'>): void {
  if (b.replyFd < 0) return;
  try {
    writeSync(b.replyFd, WAKE, 0, 1);
  } catch {
    // EAGAIN: the FIFO is full (of wake-ups); gone: nobody to wake
  }
}

/** Write all of `buf` into the process's reply FIFO (dropped when the process is gone). */
function fifoWrite(b: Pick<Bridged, 'replyFd'>, buf: Buffer): void {
  let done = 0;
  let waits = 0;
  while (done < buf.length && b.replyFd >= 0) {
    try {
      done += writeSync(b.replyFd, buf, done, buf.length - done);
    } catch (e) {
      // EAGAIN: the shim has not read a reply this big yet (the FIFO is non-blocking); anything else: it is gone
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 10000) return;
      Atomics.wait(SLEEP, 0, 0, 1);
    }
  }
}

/** syncRange()'s buffers for the real pagemap's entries (made once: a read of one page should not zero 128 KiB). */
const SYNC_CHUNK = 1 << 14;
const syncEnts = Buffer.alloc(SYNC_CHUNK * 8);
const syncOne = Buffer.alloc(8);

/** The model's VMAs cover pages [lo, end) without a gap. */
function covered(mm: MmStruct, lo: number, end: number): boolean {
  for (let at = lo; at < end; ) {
    const v = mm.findVma(at);
    if (v === undefined) return false;
    at = v.end;
  }
  return true;
}

function openKpageflags(): number {
  try {
    return openSync('/proc/kpageflags', 'r');
  } catch {
    return -2;
  }
}

function closeReply(b: Bridged): void {
  if (b.replyFd >= 0) closeSync(b.replyFd);
  b.replyFd = -1;
  if (b.chanFd >= 0) closeSync(b.chanFd);
  b.chanFd = -1;
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));
const CPUS = availableParallelism();

/**
 * The 1-minute load average and the tasks running or waiting for a CPU now,
 * the server itself and its client included (/proc/loadavg).
 */
function loadNow(): [number, number] {
  try {
    const f = readFileSync('/proc/loadavg', 'latin1').split(' ');
    return [Number(f[0]), Number(f[3].slice(0, f[3].indexOf('/')))];
  } catch {
    return [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  }
}

/**
 * The tick worker: while the main thread sits in its serving loop, it writes
 * a TICK request into the FIFO when no request came for 2 ms (the program
 * waits for something else: a child, its stdout pipe, its end) and at least
 * every 20 ms otherwise, so the event loop runs (child exit, stdout, sockets
 * closing) without a wake-up per request.
 */
function startTicker(fifo: string, state: Int32Array): Worker {
  const code = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const st = new Int32Array(workerData.sab);
const fd = fs.openSync(workerData.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
const tick = Buffer.alloc(${REQ_HEADER});
tick.writeUInt32LE(${OP.TICK}, 0);
let seen = -1;
let busy = 0;
setInterval(() => {
  if (Atomics.load(st, 0) !== 1) { busy = 0; return; }
  const seq = Atomics.load(st, 2);
  busy = seq === seen ? 10 : busy + 1;
  seen = seq;
  if (busy < 10 || Atomics.compareExchange(st, 1, 0, 1) !== 0) return;
  busy = 0;
  try { fs.writeSync(fd, tick); } catch { Atomics.store(st, 1, 0); }
}, 2);
`;
  const w = new Worker(code, { eval: true, workerData: { fifo, sab: state.buffer } });
  w.unref();
  return w;
}

/**
 * The real process has `fd` open, and not as O_PATH (fdinfo flags; fget() returns no file
 * for those): a descriptor of its own the model never saw, such as stdout.
 */
function realFdOpen(pid: number, fd: number): boolean {
  if (pid <= 0 || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) return false;
  try {
    const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return flags !== null && (Number.parseInt(flags[1], 8) & O_PATH) === 0;
  } catch {
    return false;
  }
}

/** Add pages [lo, hi) (write or not) to a populate list of triples, extending its last range where they continue it. */
function notePopulate(list: number[], lo: number, hi: number, write: boolean): void {
  const w = write ? 1 : 0;
  const n = list.length;
  if (n > 0 && list[n - 2] === lo && list[n - 1] === w) list[n - 2] = hi;
  else list.push(lo, hi, w);
}

/** The process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The path a synthesized file's name stands for (what /proc/PID/fd shows for it). */
function specialPath(name: string): string {
  const [kind, arg] = splitName(name);
  const [a, b] = splitName(arg);
  switch (kind) {
    case 'status':
    case 'pagemap':
    case 'smaps':
    case 'smaps_rollup':
    case 'maps':
      return `/proc/${arg}/${kind}`;
    case 'fdinfo':
      return `/proc/${a}/fdinfo/${b}`;
    case 'fail-nth':
      return a === b ? `/proc/${a}/fail-nth` : `/proc/${a}/task/${b}/fail-nth`;
    case 'meminfo':
      return '/proc/meminfo';
    case 'osrelease':
      return '/proc/sys/kernel/osrelease';
    case 'proc_version':
      return '/proc/version';
    case 'hugepool':
      return b === 'sysctl_nr_hugepages' ? '/proc/sys/vm/nr_hugepages' : `/sys/kernel/mm/hugepages/${a}/${b}`;
    case 'hpage_pmd_size':
      return '/sys/kernel/mm/transparent_hugepage/hpage_pmd_size';
    case 'thp_enabled':
      return '/sys/kernel/mm/transparent_hugepage/enabled';
    default:
      return name;
  }
}

/** A text file of the host ('' when unreadable). */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function reply(text: string): Reply {
  const s = Buffer.from(text);
  return { ret: s.length, s };
}

/** The thread of "PID:TID" (a synthesized file's argument) if it is alive in t's real process. */
function threadOf(t: Bridged, arg: string): number | undefined {
  const i = arg.indexOf(':');
  const tid = i < 0 ? t.realPid : Number(arg.slice(i + 1));
  if (!Number.isSafeInteger(tid) || tid <= 0) return undefined;
  if (tid === t.realPid || tid === t.activeTid || t.failNth.has(tid)) return tid;
  return existsSync(`/proc/${t.realPid}/task/${tid}`) ? tid : undefined;
}

function splitName(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? [name, ''] : [name.slice(0, i), name.slice(i + 1)];
}

function capsFromBits(bits: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < CAPABILITIES.length; i++) if ((BigInt.asUintN(64, bits) >> BigInt(i)) & 1n) out.push(CAPABILITIES[i]);
  return out;
}

/** The debugfs tree the shim shows at /sys/kernel/debug (files with the kernel's defaults). */
export function debugfsTree(): Record<string, Record<string, string>> {
  return DEBUGFS_KNOBS;
}

/** A read/write count as the program passed it (a size_t): past what a double holds exactly, access_ok() fails the same. */
function rwCount(v: bigint): number {
  const n = BigInt.asUintN(64, v);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
