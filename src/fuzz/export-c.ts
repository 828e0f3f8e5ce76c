// SPDX-License-Identifier: GPL-2.0-only
/**
 * C export: turn a scenario program into a self-contained C program that
 * replays it on a real kernel built with CONFIG_IOMMUFD_TEST, through the
 * same ioctls and IOMMU_TEST_CMD ops, checks every expectation and prints the
 * calls whose result differs from what the model predicted.
 *
 * The C program declares the uAPI structs it uses (generated from the layouts
 * in iommufd/uapi.ts, with static assertions on every offset), so it needs no
 * kernel headers. Handles live in a global array H[]; each call is one case of
 * run_call(). Calls of forked processes run in those processes: the main
 * process sends the call index and the handle array down a pipe and gets the
 * updated handles back, so the calls keep their program order.
 */
import { errnoNumber } from '../base/errno.js';
import { type ProfileName, profileByName } from '../base/profile.js';
import * as U from '../iommufd/uapi.js';
import { DEFAULT_EXEC_IMAGE, EXEC_IMAGE_PATH, type ExecImage, type MmStruct } from '../mm/address-space.js';
import { MADV_DONTNEED, MADV_DONTNEED_LOCKED, MREMAP_DONTUNMAP, PAGE_SIZE, VM_DONTCOPY, VM_HUGEPAGE, VM_MAYBE_GUARD, VM_MAYSHARE, VM_READ, VM_WIPEONFORK, VM_WRITE } from '../mm/constants.js';
import { CAPABILITIES } from '../mm/task.js';
import { type Machine, ORACLE_HUGETLB_PAGES, ORACLE_NODE_MODES } from '../machine/machine.js';
import { ConsoleFile } from '../machine/stdio.js';
import { type CallResult, type RunResult, bindOutputs, runProgram } from './executor.js';
import { opModule } from './ops/index.js';
import type { CEmitCtx } from './ops/types.js';
import {
  type Call,
  type Expr,
  OPS,
  type OpSpec,
  type Program,
  expectationFor,
  evalExpr,
  expectedWarning,
  fieldExpr,
  parseExpectation,
  parseExpr,
} from './program.js';

export interface ExportOptions {
  /** Shown in the header comment. */
  source?: string;
  /** The profile whose answers are embedded (default: the program's). */
  profile?: ProfileName;
  /**
   * What the C program checks each call against: `model` (default) runs the
   * program on the model with `profile` and embeds every call's answer (errno,
   * return value, outputs); `program` embeds the program's own expectations.
   */
  expectations?: 'model' | 'program';
  /** The model's run to embed (saves a second run when the caller has one). */
  run?: ModelRun;
  /** Where the C program maps its ioctl scratch page (default: where the model's run had it). */
  scratchVa?: bigint;
}

/** A model run, with where the main process's ioctl scratch page was. */
export type ModelRun = RunResult & {
  scratchVa?: bigint;
  clientScratchVa?: bigint;
  /** The call that first mapped the client scratch, and its bytes then. */
  clientScratchAt?: { call: number; bytes: bigint };
  /**
   * The first call after which the main process (exec layout) no longer had
   * its own image or stack as exec left them: unmapped, remapped or made
   * inaccessible. A real program dies there (SIGSEGV at its next
   * instruction or stack access); the model's goes on (src/oracle/compare.ts).
   */
  ownMemoryLostAt?: number;
  /**
   * The first fork of the main process after a madvise(MADV_WIPEONFORK) of
   * its stack top or of the image's writable data, or a madvise(MADV_DONTFORK)
   * of its stack top or of any of the image (lostOnFork()): the real child
   * starts with them zeroed or without them and dies or spins at once, and
   * its parent waits for it until the timeout; the model's child goes on.
   * Or the first call of a forked child after which the child no longer had
   * its image or stack (as ownMemoryLostAt for main): it dies there.
   */
  childWipedAt?: number;
  /**
   * Calls that read a page of a special mapping ([vvar], [vvar_vclock],
   * [vdso]): the model holds none of the kernel's contents there (the vDSO
   * data page is the running clock), so their outputs are marked.
   */
  specialReadCalls?: number[];
  /**
   * Per fork slot (the k-th fork op, from 1): the struct and client scratch
   * its child mapped itself after the fork (inherited ones are the parent's,
   * at the same address on both sides); the exported C's child takes them as
   * its hints.
   */
  childScratch?: Map<number, { scratchVa?: bigint; clientScratchVa?: bigint }>;
  /**
   * MD_CHECK_REFS calls the model answered EIO over small pages khugepaged
   * may have collapsed in the VM (noteCollapsible()): the kernel's check skips
   * a compound page, so there it passes.
   */
  khugepagedCalls?: number[];
  /**
   * The first read of the console (the 'exec' layout's stdout and stderr):
   * n_tty_read() sleeps for input that never comes in the VM, where the
   * harness kills the program; the model's answers EAGAIN and goes on.
   */
  consoleReadAt?: number;
  /**
   * The first call during which the machine refused memory for want of RAM
   * (PhysicalMemory.ramRefusals): from there a real kernel reclaims, OOM-kills
   * or outlasts the program's timeout, the model fails the allocation.
   */
  ramFullAt?: number;
};

/** STACK_TOP with randomization off: the page below it holds the stack pointer. */
const STACK_TOP_VPN = 0x7ffffffff;

/**
 * Pages [start, end) of `mm` are mapped with (at least) `prot`, and by the
 * exec image file when `image`, and none holds a guard marker (the real
 * program's own access there is SIGSEGV).
 */
function mappedWith(mm: MmStruct, start: number, end: number, prot: number, image = false): boolean {
  let vpn = start;
  while (vpn < end) {
    const v = mm.findVma(vpn);
    if (v === undefined || (v.flags & prot) !== prot) return false;
    if (image && v.file?.name !== EXEC_IMAGE_PATH) return false;
    if (v.flags & VM_MAYBE_GUARD) for (let g = vpn; g < Math.min(v.end, end); g++) if (mm.isGuard(g)) return false;
    vpn = v.end;
  }
  return true;
}

/**
 * The image and the top of the stack exec left are still mapped with (at
 * least) their protection, the file-backed parts still by the image file.
 */
function ownMemoryIntact(mm: MmStruct, image: ExecImage): boolean {
  for (const m of image.mappings) if (!mappedWith(mm, m.start / 4096, m.end / 4096, m.prot, m.offset !== null)) return false;
  return mappedWith(mm, STACK_TOP_VPN - 1, STACK_TOP_VPN, VM_READ | VM_WRITE);
}

/**
 * The lowest page of `now` (a process's VMAs after a call, as page ranges) that `before` did not
 * have, leaving out `skip` (pages of a struct scratch the same call mapped: the two scratches may
 * merge into one VMA); undefined when the call mapped nothing else.
 */
function firstFreshPage(now: ReadonlyArray<[number, number]>, before: ReadonlyArray<[number, number]>, skip: readonly [number, number] | undefined): number | undefined {
  for (const [s, e] of now) {
    for (let vpn = s; vpn < e; ) {
      if (skip !== undefined && vpn >= skip[0] && vpn < skip[1]) {
        vpn = skip[1];
        continue;
      }
      const cover = before.find(([bs, be]) => vpn >= bs && vpn < be);
      if (cover === undefined) return vpn;
      vpn = cover[1];
    }
  }
  return undefined;
}

/** A process's VMAs as page ranges. */
function vmaRanges(mm: MmStruct): Array<[number, number]> {
  return mm.vmas.map((v): [number, number] => [v.start, v.end]);
}

/** The pages of a struct scratch `sv` when the call just made mapped it (it differs from `last`), else undefined. */
function newScratch(sv: { va: bigint; len: number }, last: { va: bigint; len: number }): [number, number] | undefined {
  if (sv.len === 0 || (sv.va === last.va && sv.len === last.len)) return undefined;
  const first = Number(sv.va / 4096n);
  return [first, first + sv.len / 4096];
}

/** Pages in a PMD slice (2 MiB). */
const SLICE_PAGES = 512;

/**
 * Note in `seen` the pages of every 2 MiB block of `mm` khugepaged could
 * collapse into a THP behind the program's back now: a block whole in a
 * private anonymous VMA with VM_HUGEPAGE (what MADV_HUGEPAGE registers with
 * khugepaged: khugepaged_enter_vma()), mapped by PTEs, none of its pages
 * pinned (a pinned page fails the collapse's refcount check). In the oracle VM
 * (one CPU) khugepaged, woken by the registration when its list was empty,
 * scans the mm as soon as the program sleeps (its next result line): 7.2.13
 * and 6.12.95 showed AnonHugePages 2048 kB right after the madvise
 * (mm/khugepaged.c khugepaged_wait_work(), hpage_collapse_scan_pmd()), and
 * the THP's pages stay compound when a later split of the VMA splits only the
 * PMD. Whether it scans at once depends on when it last slept
 * (scan_sleep_millisecs after a scan), which the model cannot know; it has no
 * khugepaged. `seen` holds PFNs.
 */
function noteCollapsible(mm: MmStruct, seen: Set<number>): void {
  // by the page tables' populated slices, not the VMAs' (a VM_HUGEPAGE mapping may span terabytes)
  for (const [s, node] of mm.pt) {
    // (a guard marker in the block: khugepaged's swap-in of it is SIGSEGV, the collapse fails)
    if (node.huge !== 0 || node.count === 0 || node.markers !== 0 || node.pfns === null) continue;
    const v = mm.findVma(s * SLICE_PAGES);
    if (v === undefined || v.file !== null || v.flags & VM_MAYSHARE || !(v.flags & VM_HUGEPAGE)) continue;
    if (v.start > s * SLICE_PAGES || v.end < (s + 1) * SLICE_PAGES) continue;
    let pinned = false;
    for (const e of node.pfns) if (e !== 0 && mm.phys.pincount(e - 1) > 0) pinned = true;
    if (!pinned) for (const e of node.pfns) if (e !== 0) seen.add(e - 1);
  }
}

/** Some page of [startVpn, endVpn) of `mm` is one noteCollapsible() saw in a block khugepaged could collapse. */
function wasCollapsible(mm: MmStruct, startVpn: number, endVpn: number, seen: ReadonlySet<number>): boolean {
  for (let vpn = startVpn; vpn < endVpn; vpn++) {
    const node = mm.pt.get(Math.floor(vpn / SLICE_PAGES));
    if (node === undefined) {
      vpn = (Math.floor(vpn / SLICE_PAGES) + 1) * SLICE_PAGES - 1;
      continue;
    }
    const e = node.pfns?.[vpn % SLICE_PAGES] ?? 0;
    if (e !== 0 && seen.has(e - 1)) return true;
  }
  return false;
}

/**
 * A child forked now starts without what it runs on: the stack top or some
 * of the image's writable data is VM_WIPEONFORK (MADV_WIPEONFORK: dup_mmap()
 * copies no page of such a VMA, the child's are empty), or the stack top or
 * any part of the image is VM_DONTCOPY (MADV_DONTFORK: dup_mmap() leaves the
 * VMA out, the child has no mapping there). The real child dies or spins at
 * its first return, and its parent waits for it.
 */
function lostOnFork(mm: MmStruct, image: ExecImage): boolean {
  const flagged = (start: number, end: number, flags: number): boolean => {
    for (let vpn = start; vpn < end; ) {
      const v = mm.findVma(vpn);
      if (v === undefined) {
        vpn++;
        continue;
      }
      if (v.flags & flags) return true;
      vpn = v.end;
    }
    return false;
  };
  if (flagged(STACK_TOP_VPN - 1, STACK_TOP_VPN, VM_WIPEONFORK | VM_DONTCOPY)) return true;
  return image.mappings.some((m) => flagged(m.start / 4096, m.end / 4096, VM_DONTCOPY | (m.prot & VM_WRITE ? VM_WIPEONFORK : 0)));
}

/**
 * A madvise of the main process that drops the contents of its stack top or
 * of the image's writable data (MADV_DONTNEED, MADV_DONTNEED_LOCKED), or an
 * mremap that moves them out with MREMAP_DONTUNMAP: every
 * mapping stays, but the real program's stack reads back zeros (7.2 corpus
 * seed 15005: MADV_DONTNEED of 4 GiB from a buffer up to past the stack) and
 * it dies at its next return. `handles`: the values bound so far.
 */
function dropsOwnMemory(c: Call, handles: ReadonlyMap<string, bigint>, image: ExecImage): boolean {
  if ((c.op !== 'madvise' && c.op !== 'mremap') || c.proc !== undefined) return false;
  const fields = OPS[c.op].fields;
  const value = (name: string): bigint | undefined => {
    const e = fieldExpr(fields[name], c[name] ?? fields[name].default);
    const v = typeof e === 'string' ? e : evalExpr(e, (h) => handles.get(h));
    return typeof v === 'bigint' ? BigInt.asUintN(64, v) : undefined;
  };
  const addr = value('addr');
  const length = value(c.op === 'madvise' ? 'length' : 'old_length');
  if (addr === undefined || length === undefined) return false;
  if (c.op === 'madvise') {
    const advice = value('advice');
    if (advice !== BigInt(MADV_DONTNEED) && advice !== BigInt(MADV_DONTNEED_LOCKED)) return false;
  } else if (((value('flags') ?? 0n) & BigInt(MREMAP_DONTUNMAP)) === 0n) return false;
  const page = BigInt(PAGE_SIZE);
  const covers = (start: bigint, end: bigint): boolean => addr < end && addr + length > start;
  if (covers(BigInt(STACK_TOP_VPN - 1) * page, BigInt(STACK_TOP_VPN) * page)) return true;
  return image.mappings.some((m) => m.prot & VM_WRITE && covers(BigInt(m.start), BigInt(m.end)));
}

/**
 * Run the program on the model and note the address of the main process's
 * ioctl scratch page (Process.ioctlStruct maps it at the first struct ioctl):
 * the lowest page the main process gained during the first such call that
 * mapped anything (top-down: an op's own buffer, mapped first, lies above it).
 */

export function runModel(p: Program, profile: ProfileName, opts: { processLayout?: 'bare' | 'exec'; execImage?: ExecImage } = {}): ModelRun {
  const image = opts.execImage ?? DEFAULT_EXEC_IMAGE;
  let before: Array<[number, number]> = [];
  let scratchVa: bigint | undefined;
  let clientScratchVa: bigint | undefined;
  let clientScratchAt: { call: number; bytes: bigint } | undefined;
  let ownMemoryLostAt: number | undefined;
  let childWipedAt: number | undefined;
  let ramFullAt: number | undefined;
  let consoleReadAt: number | undefined;
  let scratchFollowed = true;
  let lastStruct = { va: 0n, len: 0 };
  // forked children: their slot, pages and struct scratch after their last call
  const children = new Map<number, { slot: number; before: Array<[number, number]>; struct: { va: bigint; len: number } }>();
  const childScratch = new Map<number, { scratchVa?: bigint; clientScratchVa?: bigint }>();
  let mainPid: number | undefined;
  const specialReadCalls: number[] = [];
  const khugepagedCalls: number[] = [];
  const collapsible = new Set<number>();
  const specialSeen = new Map<MmStruct, number>();
  const handles = new Map<string, bigint>();
  // the oracle VMs' pool (a program that sets none runs on it there), not the model's default of no limit
  const onPool = p.hugetlb_pages === undefined ? { ...p, hugetlb_pages: { '2M': ORACLE_HUGETLB_PAGES } } : p;
  // The slot of each fork call (the k-th fork op of the program, from 1), as exportC() numbers the processes.
  const forkSlot = new Map<number, number>();
  p.calls.forEach((c, i) => {
    if (c.op === 'fork') forkSlot.set(i, forkSlot.size + 1);
  });
  // A call by a forked child: the scratches it maps itself, found as main's are below (its first struct
  // scratch from the process, its client scratch among the pages the call mapped outside that).
  const followChild = (machine: Machine, c: Call, r: CallResult): void => {
    const pid = Number(handles.get(String(c.proc)) ?? -1);
    const st = children.get(pid);
    const child = machine.processes.get(pid);
    if (st === undefined || child === undefined || child.exited) return;
    const out = childScratch.get(st.slot) ?? {};
    const sv = child.ioctlScratch;
    const skip = newScratch(sv, st.struct);
    if (skip !== undefined && out.scratchVa === undefined) out.scratchVa = sv.va;
    const now = vmaRanges(child.task.mm);
    if (opModule(r.op)?.clientScratch === true && out.clientScratchVa === undefined) {
      const first = firstFreshPage(now, st.before, skip);
      if (first !== undefined) out.clientScratchVa = BigInt(first) * 4096n;
    }
    if (out.scratchVa !== undefined || out.clientScratchVa !== undefined) childScratch.set(st.slot, out);
    st.before = now;
    st.struct = sv;
  };
  const run: ModelRun = runProgram(onPool, {
    profile,
    // the oracle guest's: /dev/iommu and /dev/vfio/vfio as the VMs' init leaves them (0666)
    ...(opts.processLayout === 'exec' ? { nodeModes: ORACLE_NODE_MODES } : {}),
    ...(opts.processLayout !== undefined ? { processLayout: opts.processLayout } : {}),
    ...(opts.execImage !== undefined ? { execImage: opts.execImage } : {}),
    onCall: (r, machine) => {
      let special = false;
      for (const pr of machine.processes.values()) {
        const mm = pr.task.mm;
        if (mm.specialReads !== (specialSeen.get(mm) ?? 0)) {
          special = true;
          specialSeen.set(mm, mm.specialReads);
        }
      }
      if (special) specialReadCalls.push(r.index);
      if (ramFullAt === undefined && machine.phys.ramRefusals > 0) ramFullAt = r.index;
      mainPid ??= machine.processes.keys().next().value;
      const c = p.calls[r.index];
      // the process that made the call (a read does not change which file its descriptor holds)
      const caller = machine.processes.get(c?.proc !== undefined ? Number(handles.get(String(c.proc)) ?? -1) : (mainPid ?? -1));
      const fd = r.fds?.[0];
      if (consoleReadAt === undefined && r.op === 'file_read' && r.errno === 'EAGAIN' && fd !== undefined && caller?.fileOf(fd) instanceof ConsoleFile) consoleReadAt = r.index;
      const slot = forkSlot.get(r.index);
      if (slot !== undefined) {
        const child = r.errno === undefined ? machine.processes.get(Number(r.outputs.pid ?? -1)) : undefined;
        if (child !== undefined) children.set(child.pid, { slot, before: vmaRanges(child.task.mm), struct: child.ioctlScratch });
      } else if (c?.proc !== undefined) followChild(machine, c, r);
      // A forked child that took away its own image or stack (main's test, on the child's mm): the real child
      // dies at its next instruction and its parent waits for its answer until the harness kills the program
      // (6.12.95, a generated program of seed 77102: the child's munmap of 0x400000 + 2 MiB, the static text).
      if (opts.processLayout === 'exec' && childWipedAt === undefined && c?.proc !== undefined && caller !== undefined && !caller.exited && (!ownMemoryIntact(caller.task.mm, image) || dropsOwnMemory(c, handles, image))) childWipedAt = r.index;
      const main = mainPid === undefined ? undefined : machine.processes.get(mainPid);
      if (!main || main.exited) return;
      if (r.op === 'md_check_refs' && r.errno === 'EIO' && r.args !== undefined) {
        const caller = machine.processes.get(r.args.pid);
        const uptr = Number(BigInt.asUintN(64, BigInt(r.args.fields['check_refs.uptr'] as bigint)) / 4096n);
        const pages = Number(BigInt.asUintN(64, BigInt(r.args.fields['check_refs.length'] as bigint)) / 4096n);
        if (caller !== undefined && wasCollapsible(caller.task.mm, uptr, uptr + Math.min(pages, 1 << 20), collapsible)) khugepagedCalls.push(r.index);
      }
      for (const q of machine.processes.values()) if (!q.exited) noteCollapsible(q.task.mm, collapsible);
      if (opts.processLayout === 'exec' && ownMemoryLostAt === undefined && (!ownMemoryIntact(main.task.mm, image) || (c !== undefined && dropsOwnMemory(c, handles, image)))) ownMemoryLostAt = r.index;
      if (opts.processLayout === 'exec' && childWipedAt === undefined && r.op === 'fork' && c?.proc === undefined && r.errno === undefined && lostOnFork(main.task.mm, image)) childWipedAt = r.index;
      // what `as` and `as.k` stand for in later calls' expressions, as the executor binds them
      const spec = opModule(r.op)?.spec;
      if (c !== undefined && typeof c.as === 'string' && spec !== undefined) bindOutputs(handles, c.as, spec, r.ret, r.outputs);
      const now = vmaRanges(main.task.mm);
      const structOp = r.op !== 'mmap' && (opModule(r.op)?.spec.ioctl !== undefined || r.op === 'ioctl');
      const clientOp = opModule(r.op)?.clientScratch === true && clientScratchVa === undefined;
      if ((structOp && scratchVa === undefined) || clientOp) {
        // The struct scratch is where the process's ioctlStruct() put it; an op that keeps its struct in the
        // client scratch (VFIO_IOMMU_GET_INFO) maps none (7.2 generated program, seed 77019: taking its client
        // scratch for the struct scratch left the real one unmapped in the exported C under exec).
        const sv = main.ioctlScratch;
        // Its pages are left out of the client scratch's search only when this call mapped it: a struct
        // scratch the program unmapped since leaves its place free, and a client scratch mapped there is
        // the client's (6.12 generated program of seed 77020).
        const skip = newScratch(sv, lastStruct);
        if (structOp && scratchVa === undefined && sv.len > 0) scratchVa = sv.va;
        const had = clientScratchVa;
        if (clientOp) {
          const first = firstFreshPage(now, before, skip);
          if (first !== undefined) clientScratchVa = BigInt(first) * 4096n;
        }
        if (clientScratchVa !== undefined && had === undefined) {
          // its pages: from its start up to what was there before, the struct scratch or a hole
          const first = Number(clientScratchVa / 4096n);
          const mapped = (vpn: number): boolean => now.some(([s, e]) => vpn >= s && vpn < e) && !before.some(([s, e]) => vpn >= s && vpn < e);
          let end = first + 1;
          while (end !== (skip?.[0] ?? -1) && mapped(end)) end++;
          clientScratchAt = { call: r.index, bytes: BigInt(end - first) * 4096n };
        }
      }
      before = now;
      lastStruct = main.ioctlScratch;
      // The client scratch is the exported program's own memory too: it stores the arrays there directly,
      // so a call of the program's that takes it away (munmap, a fixed mmap over it, mprotect) leaves the
      // real program to die at its next array (the model's executor writes them quietly, then EFAULT).
      // Followed from the call that mapped it until a clientScratch op leaves it unmapped: the executor
      // grew it (a new mapping elsewhere), and the old range is no longer the program's.
      if (scratchFollowed && clientScratchAt !== undefined && clientScratchVa !== undefined && r.index >= clientScratchAt.call) {
        const first = Number(clientScratchVa / 4096n);
        const intact = mappedWith(main.task.mm, first, first + Number(clientScratchAt.bytes / 4096n), VM_READ | VM_WRITE);
        if (opModule(r.op)?.clientScratch === true) scratchFollowed = intact;
        else if (!intact) {
          ownMemoryLostAt ??= r.index;
          scratchFollowed = false;
        }
      }
    },
  });
  if (scratchVa !== undefined) run.scratchVa = scratchVa;
  if (clientScratchVa !== undefined) run.clientScratchVa = clientScratchVa;
  if (clientScratchAt !== undefined) run.clientScratchAt = clientScratchAt;
  if (ownMemoryLostAt !== undefined) run.ownMemoryLostAt = ownMemoryLostAt;
  if (childWipedAt !== undefined) run.childWipedAt = childWipedAt;
  if (ramFullAt !== undefined) run.ramFullAt = ramFullAt;
  if (consoleReadAt !== undefined) run.consoleReadAt = consoleReadAt;
  if (childScratch.size > 0) run.childScratch = childScratch;
  if (specialReadCalls.length > 0) run.specialReadCalls = specialReadCalls;
  if (khugepagedCalls.length > 0) run.khugepagedCalls = khugepagedCalls;
  return run;
}

/** uid of the model's processes (Machine.spawn's default). */
export const MODEL_UID = 1000;
/** RLIMIT_MEMLOCK of a program without `memlock` (the executor's default). */
export const DEFAULT_MEMLOCK = '8M';

/** Outputs that name something only the process knows (fd numbers, pids): never compared. */
const LOCAL_KINDS = new Set<string>(['fd', 'iommufd', 'access', 'proc']);
const MAP_FIXED = 0x10;
const MAP_FIXED_NOREPLACE = 0x100000;

/** The part of a model answer a kernel can be held to. */
export interface ModelAnswer {
  /** The errno name, or undefined on success. */
  errno?: string;
  /** The return value (u64), when it is comparable. */
  ret?: bigint;
  /** Comparable outputs: integers as u64, strings as the model prints them. */
  outputs: Record<string, bigint | string>;
}

/** The comparable answer of one model call (fd numbers, pids and internal fault point names left out). */
export function comparableAnswer(c: Call, r: CallResult): ModelAnswer {
  const spec = OPS[c.op];
  const a: ModelAnswer = { outputs: {} };
  if (r.errno !== undefined) a.errno = r.errno;
  if (opModule(c.op)?.localRet !== true && r.errno === undefined) a.ret = BigInt.asUintN(64, BigInt(r.ret));
  if (r.errno !== undefined) {
    if (r.outputs.fault_injected !== undefined) a.outputs.fault_injected = BigInt(r.outputs.fault_injected);
    return a;
  }
  for (const [k, v] of Object.entries(r.outputs)) {
    if (k === 'fault_point') continue;
    const kind = spec?.outputs[k];
    if (kind !== undefined && LOCAL_KINDS.has(kind)) continue;
    a.outputs[k] = typeof v === 'string' ? v : BigInt.asUintN(64, BigInt(v));
  }
  return a;
}

/**
 * The program with every call's expectation replaced by the model's answer on
 * `profile`, and each non-fixed mmap given the model's address as its hint, so
 * the kernel's process lays out memory as the model's did (automatic IOVAs
 * follow the user address's alignment: iopt_alloc_iova).
 */
export function withModelAnswers(p: Program, run: RunResult): Program {
  const calls = p.calls.map((c, i): Call => {
    const r = run.results[i];
    const { expectOn: _drop, ...rest } = c;
    const out: Call = { ...rest };
    if (!r || r.expected === 'no exception') {
      out.expect = 'any';
      return out;
    }
    const a = comparableAnswer(c, r);
    const values: Record<string, unknown> = {};
    if (a.errno) values.errno = a.errno;
    if (a.ret !== undefined) values.ret = a.ret;
    for (const [k, v] of Object.entries(a.outputs)) values[k] = v;
    out.expect = values;
    // A mapping made whose MADV_HUGEPAGE then failed (thp: true on hugetlb, EINVAL) is still there: hinted too.
    if (c.op === 'mmap' && typeof r.outputs.addr === 'bigint' && r.outputs.addr > 0n) {
      const f = OPS.mmap.fields.flags;
      const fx = fieldExpr(f, c.flags ?? f.default);
      const flagsVal = typeof fx === 'string' ? undefined : evalExpr(fx, () => undefined);
      if (typeof flagsVal === 'bigint' && (flagsVal & BigInt(MAP_FIXED | MAP_FIXED_NOREPLACE)) === 0n) out.addr = r.outputs.addr;
    }
    return out;
  });
  return { ...p, calls, profile: run.profile ?? p.profile };
}

const C_TYPES: Record<U.ScalarType, string> = { u8: 'uint8_t', u16: 'uint16_t', u32: 'uint32_t', s32: 'int32_t', u64: 'uint64_t' };

/** The C declaration of a uapi struct layout (union members are the dotted names). */
export function cStructDecl(layout: U.StructLayout): string {
  const lines: string[] = [`struct ${layout.name} {`];
  const fields = layout.fields;
  let i = 0;
  const scalar = (f: U.FieldInfo, name: string, indent: string): void => {
    lines.push(`${indent}${C_TYPES[f.type]} ${name};`);
  };
  while (i < fields.length) {
    const f = fields[i];
    if (!f.name.includes('.') && i + 1 < fields.length && fields[i + 1].offset === f.offset && !fields[i + 1].name.includes('.')) {
      // An anonymous union of plain members (iommu_hw_info's in_data_type / out_data_type).
      lines.push('\tunion {');
      for (; i < fields.length && fields[i].offset === f.offset && !fields[i].name.includes('.'); i++) scalar(fields[i], fields[i].name, '\t\t');
      lines.push('\t};');
      continue;
    }
    if (!f.name.includes('.')) {
      const m = /^(.*)\[(\d+)\]$/.exec(f.name);
      if (m) {
        let n = 0;
        while (i + n < fields.length && fields[i + n].name === `${m[1]}[${n}]`) n++;
        lines.push(`\t${C_TYPES[f.type]} ${m[1]}[${n}];`);
        i += n;
        continue;
      }
      scalar(f, f.name, '\t');
      i++;
      continue;
    }
    // A union: the run of dotted fields, grouped by member in order.
    const members: Array<[string, U.FieldInfo[]]> = [];
    while (i < fields.length && fields[i].name.includes('.')) {
      const [mem, ...rest] = fields[i].name.split('.');
      let g = members.find(([n]) => n === mem);
      if (!g) {
        g = [mem, []];
        members.push(g);
      }
      g[1].push({ ...fields[i], name: rest.join('.') });
      i++;
    }
    lines.push('\tunion {');
    for (const [mem, fs] of members) {
      lines.push('\t\tstruct {');
      for (const x of fs) scalar(x, x.name, '\t\t\t');
      lines.push(`\t\t} ${mem};`);
    }
    lines.push('\t};');
  }
  lines.push('};');
  lines.push(`_Static_assert(sizeof(struct ${layout.name}) == ${layout.size}, "${layout.name} size");`);
  for (const f of fields) {
    const name = f.name.replace(/\[(\d+)\]$/, '[$1]');
    lines.push(`_Static_assert(offsetof(struct ${layout.name}, ${name}) == ${f.offset}, "${layout.name}.${f.name}");`);
  }
  return lines.join('\n');
}

const STRUCTS: U.StructLayout[] = [
  U.iommu_destroy,
  U.iommu_ioas_alloc,
  U.iommu_iova_range,
  U.iommu_ioas_allow_iovas,
  U.iommu_ioas_iova_ranges,
  U.iommu_ioas_map,
  U.iommu_ioas_copy,
  U.iommu_ioas_unmap,
  U.iommu_option,
  U.iommu_vfio_ioas,
  U.iommu_test_cmd,
  U.vfio_iommu_type1_info,
  U.vfio_iommu_type1_dma_map,
  U.vfio_iommu_type1_dma_unmap,
];

const IOCTLS: Array<[string, number]> = [
  ['IOMMU_DESTROY', U.IOMMU_DESTROY],
  ['IOMMU_IOAS_ALLOC', U.IOMMU_IOAS_ALLOC],
  ['IOMMU_IOAS_ALLOW_IOVAS', U.IOMMU_IOAS_ALLOW_IOVAS],
  ['IOMMU_IOAS_COPY', U.IOMMU_IOAS_COPY],
  ['IOMMU_IOAS_IOVA_RANGES', U.IOMMU_IOAS_IOVA_RANGES],
  ['IOMMU_IOAS_MAP', U.IOMMU_IOAS_MAP],
  ['IOMMU_IOAS_UNMAP', U.IOMMU_IOAS_UNMAP],
  ['IOMMU_OPTION', U.IOMMU_OPTION],
  ['IOMMU_VFIO_IOAS', U.IOMMU_VFIO_IOAS],
  ['IOMMU_TEST_CMD', U.IOMMU_TEST_CMD],
  ['VFIO_GET_API_VERSION', U.VFIO_GET_API_VERSION],
  ['VFIO_CHECK_EXTENSION', U.VFIO_CHECK_EXTENSION],
  ['VFIO_SET_IOMMU', U.VFIO_SET_IOMMU],
  ['VFIO_IOMMU_GET_INFO', U.VFIO_IOMMU_GET_INFO],
  ['VFIO_IOMMU_MAP_DMA', U.VFIO_IOMMU_MAP_DMA],
  ['VFIO_IOMMU_UNMAP_DMA', U.VFIO_IOMMU_UNMAP_DMA],
];

/** The structs and ioctl numbers a program's C code declares: the base set, then what its ops add. */
function cDeclsFor(calls: readonly Call[]): { structs: U.StructLayout[]; ioctls: Array<readonly [string, number]> } {
  const structs = [...STRUCTS];
  const ioctls: Array<readonly [string, number]> = [...IOCTLS];
  for (const op of new Set(calls.map((c) => c.op))) {
    const m = opModule(op);
    for (const s of m?.cStructs ?? []) if (!structs.includes(s)) structs.push(s);
    for (const io of m?.cIoctls ?? []) if (!ioctls.some(([n]) => n === io[0])) ioctls.push(io);
  }
  return { structs, ioctls };
}

const TEST_OPS = Object.entries(U as unknown as Record<string, unknown>)
  .filter(([k, v]) => k.startsWith('IOMMU_TEST_OP_') && typeof v === 'number')
  .sort((a, b) => (a[1] as number) - (b[1] as number)) as Array<[string, number]>;

/** The fixed part of every exported program: helpers, checks, the process protocol. */
const PRELUDE = String.raw`
static uint64_t H[NHANDLES + 1];
static int diverged, first_divergence = -1, checked;

static void note_divergence(int idx)
{
	diverged++;
	if (first_divergence < 0)
		first_divergence = idx;
}

static const char *errname(long e)
{
	static char buf[64];

	if (e == 0)
		return "ok";
	snprintf(buf, sizeof(buf), "errno %ld (%s)", e, strerror((int)e));
	return buf;
}

/* rc: the call's return (>= 0) or -errno. want_errno: 0 = success expected, -1 = anything. */
static __attribute__((unused)) void expect_rc(int idx, const char *what, long rc, int want_errno)
{
	long got = rc < 0 ? -rc : 0;

	checked++;
	if (want_errno < 0 || got == want_errno)
		return;
	note_divergence(idx);
	printf("call %d (%s): the model says %s, ", idx, what, errname(want_errno));
	printf("the kernel says %s\n", errname(got));
}

static __attribute__((unused)) void expect_u64(int idx, const char *what, const char *name, uint64_t got, uint64_t want)
{
	checked++;
	if (got == want)
		return;
	note_divergence(idx);
	printf("call %d (%s): %s is 0x%" PRIx64 ", the model says 0x%" PRIx64 "\n", idx, what, name, got, want);
}

static __attribute__((unused)) void normalize(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
			in++;
			continue;
		}
		if (*in == ' ' || *in == '_' || *in == '\t')
			continue;
		out[o++] = (*in >= 'A' && *in <= 'Z') ? *in - 'A' + 'a' : *in;
	}
	out[o] = 0;
}

static __attribute__((unused)) void expect_str(int idx, const char *what, const char *name, const char *got, const char *want)
{
	static char a[8192], b[8192];

	checked++;
	normalize(got, a, sizeof(a));
	normalize(want, b, sizeof(b));
	if (!strcmp(a, b))
		return;
	note_divergence(idx);
	printf("call %d (%s): %s is \"%s\", the model says \"%s\"\n", idx, what, name, got, want);
}

static __attribute__((unused)) void hexify(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static __attribute__((unused)) long sys_rc(long r)
{
	return r < 0 ? -errno : r;
}

static __attribute__((unused)) long do_ioctl(uint64_t fd, unsigned long cmd, void *arg)
{
	return sys_rc(ioctl((int)fd, cmd, arg));
}

/*
 * ioctl structs go through one scratch page, as in the model's process
 * (Process.ioctlStruct): the struct is copied to its start, so the bytes a
 * larger size word makes the kernel check (copy_struct_from_user) are what
 * earlier structs left there, and past its end lies what lies past the
 * model's (the scratch sits at the model's address).
 */
static unsigned char *scratch;

static uint64_t scratch_hint;

/*
 * Mapped at the first struct ioctl, as the model maps its own, at the model's
 * address; called before a pending fail-nth is armed, so it never meets it.
 */
static __attribute__((unused)) void scratch_ensure(void)
{
	if (scratch)
		return;
	scratch = mmap((void *)(uintptr_t)scratch_hint, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
}

static long user_write(uint64_t va, const void *src, size_t len);
static long user_read(uint64_t va, void *dst, size_t len);

static __attribute__((unused)) long struct_ioctl(uint64_t fd, unsigned long req, void *cmd, size_t len)
{
	long rc;

	/* the program may have unmapped the scratch: EFAULT, as Process.ioctlStruct says */
	if (user_write((uint64_t)(uintptr_t)scratch, cmd, len))
		return -EFAULT;
	rc = do_ioctl(fd, req, scratch);
	user_read((uint64_t)(uintptr_t)scratch, cmd, len);
	return rc;
}

/*
 * Arrays an ioctl points at (IOVA ranges, VFIO info) live in a second scratch
 * mapping, as in the model's executor (its per-process UserScratch): mapped at
 * the first use at the model's address, replaced by a larger one when needed.
 */
static unsigned char *cscratch;
static size_t cscratch_len;
static uint64_t cscratch_hint;

static __attribute__((unused)) void *client_scratch(size_t len)
{
	size_t want = len < 4096 ? 4096 : (len + 4095) & ~(size_t)4095;
	void *p;

	if (cscratch && cscratch_len >= len) {
		memset(cscratch, 0, len);
		return cscratch;
	}
	p = mmap(cscratch ? NULL : (void *)(uintptr_t)cscratch_hint, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	/* written whole at once, as the model's UserScratch populates a new scratch */
	memset(p, 0, want);
	if (cscratch)
		munmap(cscratch, cscratch_len);
	cscratch = p;
	cscratch_len = want;
	return p;
}

/*
 * The process touches its own memory as the model's process does, with the
 * CPU (x86: a write-only page reads): a copy that faults is EFAULT, through a
 * SIGSEGV/SIGBUS handler that jumps back. The copy goes page by page in
 * address order, as the model's: a fault leaves the pages before it written
 * and nothing after (libc's memcpy may store the tail first).
 */
static sigjmp_buf copy_jmp;
static volatile sig_atomic_t in_copy;

static void copy_fault(int sig)
{
	if (in_copy)
		siglongjmp(copy_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static long user_copy(void *dst, const void *src, size_t len)
{
	static int installed;

	if (!len)
		return 0;
	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = copy_fault;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	if (sigsetjmp(copy_jmp, 1)) {
		in_copy = 0;
		return -EFAULT;
	}
	in_copy = 1;
	for (size_t done = 0; done < len;) {
		uintptr_t d = (uintptr_t)dst + done, sp = (uintptr_t)src + done;
		size_t dn = 4096 - (d & 4095), sn = 4096 - (sp & 4095);
		size_t n = dn < sn ? dn : sn;

		if (n > len - done)
			n = len - done;
		memcpy((void *)d, (const void *)sp, n);
		done += n;
	}
	in_copy = 0;
	return 0;
}

static long user_write(uint64_t va, const void *src, size_t len)
{
	return user_copy((void *)(uintptr_t)va, src, len);
}

static long user_read(uint64_t va, void *dst, size_t len)
{
	return user_copy(dst, (const void *)(uintptr_t)va, len);
}

/*
 * The program's own descriptors (pipes to its processes, fail-nth) live at 500
 * and up, so the descriptors the calls open get the numbers the model's
 * process gives them (lowest free, from 3).
 */
static int high_fd(int fd)
{
	int h;

	if (fd < 0)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 500);
	if (h < 0)
		return fd;
	close(fd);
	return h;
}

static __attribute__((unused)) int high_pipe(int p[2])
{
	if (pipe(p))
		return -1;
	p[0] = high_fd(p[0]);
	p[1] = high_fd(p[1]);
	return 0;
}

/* fail-nth of the calling task (CONFIG_FAULT_INJECTION_DEBUG_FS). */
static int fail_nth_fd = -1, fail_nth_armed, fault_fired = -1;

static __attribute__((unused)) void fail_nth_arm(unsigned int n)
{
	char path[64], buf[32];
	int len;

	if (fail_nth_fd < 0) {
		snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
		fail_nth_fd = high_fd(open(path, O_RDWR));
		if (fail_nth_fd < 0) {
			printf("note: %s: %s (no fault injection)\n", path, strerror(errno));
			return;
		}
	}
	len = snprintf(buf, sizeof(buf), "%u", n);
	if (pwrite(fail_nth_fd, buf, len, 0) != len)
		printf("note: cannot arm fail-nth: %s\n", strerror(errno));
	else
		fail_nth_armed = 1;
}

/* fail_nth calls only record n; the next call arms it right before its system call. */
static unsigned int fail_nth_pending;

static __attribute__((unused)) void fail_nth_apply(void)
{
	if (fail_nth_pending) {
		fail_nth_arm(fail_nth_pending);
		fail_nth_pending = 0;
	}
}

/* Disarm; 1 if the armed fault fired. */
static __attribute__((unused)) int fail_nth_disarm(void)
{
	char buf[32] = "";
	ssize_t r;

	fail_nth_armed = 0;
	if (fail_nth_fd < 0)
		return 0;
	r = pread(fail_nth_fd, buf, sizeof(buf) - 1, 0);
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1 && pwrite(fail_nth_fd, "0", 1, 0) != 1)
		printf("note: cannot disarm fail-nth\n");
	return r > 0 && buf[0] == '0';
}

static __attribute__((unused)) void setup_fault_injection(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
		{ "/sys/kernel/debug/fail_iommufd/verbose", "0" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		int fd = open(knobs[i][0], O_WRONLY);

		if (fd < 0)
			continue;
		if (write(fd, knobs[i][1], strlen(knobs[i][1])) < 0)
			printf("note: cannot write %s\n", knobs[i][0]);
		close(fd);
	}
}

/*
 * IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT sets a global of the kernel
 * (iommufd_test_memory_limit): put back its default (65536) for each program,
 * as each model run starts with a fresh machine.
 */
static void reset_test_memory_limit(void)
{
	struct iommu_test_cmd cmd;
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = TEST_CMD_SIZE;
	cmd.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
	cmd.memory_limit.limit = 65536;
	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		printf("note: cannot reset the test memory limit: %s\n", strerror(errno));
	close(fd);
}

static void write_knob(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		printf("note: cannot write %s: %s\n", path, strerror(errno));
	close(fd);
}

/* The model's machine: its THP mode and 2 MiB hugetlb pool (-1: leave the pool). Needs root. */
static void setup_machine(const char *thp, int huge_2m)
{
	char buf[32];

	if (geteuid())
		return;
	write_knob("/sys/kernel/mm/transparent_hugepage/enabled", thp);
	reset_test_memory_limit();
	if (huge_2m >= 0) {
		snprintf(buf, sizeof(buf), "%d", huge_2m);
		write_knob("/proc/sys/vm/nr_hugepages", buf);
	}
}

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/*
 * Become the model's process: RLIMIT_MEMLOCK as the model's, then (from root)
 * its uid, keeping only its capabilities, so pins are charged and checked as
 * in the model (no CAP_IPC_LOCK: RLIMIT_MEMLOCK bites; no CAP_SYS_RESOURCE:
 * IOMMU_OPTION RLIMIT_MODE is EPERM). The uid change is skipped when the uid
 * could not open the device node; the capabilities are dropped anyway.
 */
static void become_model_process(uint64_t memlock, unsigned int uid, uint32_t caps_lo, uint32_t caps_hi, const char *dev)
{
	struct rlimit rl = { (rlim_t)memlock, (rlim_t)memlock };
	struct cap_header hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct cap_data data[2];
	struct stat st;

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		printf("note: cannot set RLIMIT_MEMLOCK: %s\n", strerror(errno));
	if (getuid() == 0 && uid != 0) {
		if (stat(dev, &st) == 0 && (st.st_mode & 0006) != 0006) {
			printf("note: %s is not open to uid %u: staying uid 0 (capabilities dropped)\n", dev, uid);
		} else if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
			printf("note: cannot become uid %u: %s\n", uid, strerror(errno));
		}
		/* fail-nth under /proc/self belongs to a dumpable process's own uid */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	}
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = caps_lo;
	data[1].effective = data[1].permitted = caps_hi;
	if (syscall(SYS_capset, &hdr, data))
		printf("note: capset: %s\n", strerror(errno));
}

/* One call's result for the oracle harness: "@R <call> <rc> name=value...". */
static __attribute__((unused)) void result_begin(int idx, long rc)
{
	printf("@R %d %ld", idx, rc);
}

static __attribute__((unused)) void result_u64(const char *name, uint64_t v)
{
	printf(" %s=0x%" PRIx64, name, v);
}

static __attribute__((unused)) void result_str(const char *name, const char *v)
{
	printf(" %s=%s", name, v);
}

static __attribute__((unused)) void print_vm_status(const char *title)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	printf("report: %s\n", title);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmLck", 5) || !strncmp(line, "VmPin", 5))
			printf("  %s", line);
	fclose(f);
}

static void run_call(int idx);
/* per call: a call of a process that is gone agrees with the model (its answer was ESRCH) */
static const unsigned char call_dead_ok[NCALLS + 1];

/*
 * Processes. Slot 0 is the main process; a fork call fills another slot. The
 * main process drives the program: a call of another process is sent down
 * that process's pipe with the handle array, which comes back updated.
 */
struct proc_slot {
	int live;
	pid_t pid;
	int cmd[2];
	int reply[2];
};
static struct proc_slot slots[NPROCS + 1];
static int my_slot;

struct reply_msg {
	uint64_t handles[NHANDLES + 1];
	int diverged;
	int first_divergence;
	int checked;
	int exited;
};

static __attribute__((unused)) void full_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t r = write(fd, c, n);

		if (r <= 0) {
			perror("pipe write");
			exit(2);
		}
		c += r;
		n -= (size_t)r;
	}
}

static __attribute__((unused)) int full_read(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int child_exiting;

static __attribute__((unused)) void child_loop(void)
{
	struct proc_slot *s = &slots[my_slot];
	int idx;

	/* the scratches this child maps itself go where the model's child has them */
	if (!scratch && child_scratch_hint[my_slot])
		scratch_hint = child_scratch_hint[my_slot];
	if (!cscratch && child_cscratch_hint[my_slot])
		cscratch_hint = child_cscratch_hint[my_slot];
	for (;;) {
		struct reply_msg m;

		/* every process holds every pipe: the end is an explicit -1, not EOF */
		if (full_read(s->cmd[0], &idx, sizeof(idx)) || idx < 0 || full_read(s->cmd[0], H, sizeof(H)))
			_exit(0);
		diverged = 0;
		first_divergence = -1;
		checked = 0;
		run_call(idx);
		memcpy(m.handles, H, sizeof(H));
		m.diverged = diverged;
		m.first_divergence = first_divergence;
		m.checked = checked;
		m.exited = child_exiting;
		full_write(s->reply[1], &m, sizeof(m));
		if (child_exiting)
			_exit(0);
	}
}

/* Run call idx in process slot p. */
static __attribute__((unused)) void dispatch(int idx, int p)
{
	struct reply_msg m;

	if (p <= 0 || p > NPROCS) {
		run_call(idx);
		return;
	}
	if (!slots[p].live) {
		printf("@R %d dead\n", idx);
		/* the model's process had exited too: its answer is ESRCH, and no call is made either way */
		if (call_dead_ok[idx]) {
			checked++;
			return;
		}
		printf("call %d: its process does not exist (fork failed or it exited)\n", idx);
		note_divergence(idx);
		return;
	}
	full_write(slots[p].cmd[1], &idx, sizeof(idx));
	full_write(slots[p].cmd[1], H, sizeof(H));
	if (full_read(slots[p].reply[0], &m, sizeof(m))) {
		printf("call %d: process %d died\n", idx, (int)slots[p].pid);
		printf("@R %d died\n", idx);
		note_divergence(idx);
		slots[p].live = 0;
		return;
	}
	memcpy(H, m.handles, sizeof(H));
	checked += m.checked;
	if (m.diverged) {
		diverged += m.diverged;
		if (first_divergence < 0)
			first_divergence = m.first_divergence;
	}
	if (m.exited) {
		slots[p].live = 0;
		waitpid(slots[p].pid, NULL, 0);
	}
}

/* fork() for slot child made by the calling process; returns the child's pid or -errno. */
static __attribute__((unused)) long do_fork(int child)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		my_slot = child;
		fail_nth_fd = -1;
		fail_nth_armed = 0;
		fail_nth_pending = 0;
		child_loop();
	}
	slots[child].live = 1;
	slots[child].pid = pid;
	return pid;
}
`;

function cIdent(h: string): string {
  return `h_${h.slice(1).replace(/\./g, '__')}`;
}

function cStr(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function cU64(v: bigint): string {
  const x = BigInt.asUintN(64, v);
  return x < 10n ? `${x}` : `0x${x.toString(16)}ULL`;
}

function commentText(s: string): string {
  return s.replace(/\*\//g, '* /');
}

interface Ctx {
  handleIndex: Map<string, number>;
  /** Process slot of each process handle. */
  procSlot: Map<string, number>;
  /** Per process slot: the handle holding its default iommufd fd. */
  defaultFd: Map<number, string>;
  profile: ProfileName;
  /** The call that first mapped the model's client scratch, and its bytes. */
  clientScratchAt?: { call: number; bytes: bigint };
}

class Emitter {
  lines: string[] = [];
  constructor(readonly ctx: Ctx) {}
  line(s = ''): void {
    this.lines.push(s);
  }
}

export function exportC(program: Program, opts: ExportOptions = {}): string {
  const profile = (opts.profile ?? program.profile ?? 'latest') as ProfileName;
  const fromModel = (opts.expectations ?? 'model') === 'model';
  const run = fromModel ? (opts.run ?? runModel(program, profile)) : undefined;
  const p = run ? withModelAnswers(program, run) : program;
  const prof = profileByName(profile);
  const testCmdSize = prof?.testCmdDirtyUnion ? U.iommu_test_cmd.size : U.iommu_test_cmd_v6_5.size;
  const ctx: Ctx = { handleIndex: new Map(), procSlot: new Map([['$main', 0]]), defaultFd: new Map(), profile };
  if (run?.clientScratchAt !== undefined) ctx.clientScratchAt = run.clientScratchAt;
  const slotOfCall: number[] = [];
  const hidx = (h: string): number => {
    let i = ctx.handleIndex.get(h);
    if (i === undefined) {
      i = ctx.handleIndex.size;
      ctx.handleIndex.set(h, i);
    }
    return i;
  };
  hidx('$main');
  // First pass: handles, process slots, default fds.
  let nprocs = 0;
  // The opens of /dev/iommu or /dev/vfio/vfio each process made so far, newest last: the default
  // iommufd of a call is the newest of them that succeeded (the executor takes only an open that did).
  const defaultFdAt: Array<readonly string[]> = [];
  const curDefault = new Map<number, readonly string[]>();
  p.calls.forEach((c, i) => {
    const slot = c.proc !== undefined ? (ctx.procSlot.get(String(c.proc)) ?? 0) : 0;
    slotOfCall.push(slot);
    defaultFdAt.push(curDefault.get(slot) ?? []);
    const spec = OPS[c.op];
    if (c.op === 'open') {
      const path = typeof c.path === 'string' ? c.path : '/dev/iommu';
      const name = typeof c.as === 'string' ? c.as : `$__open${i}`;
      hidx(name);
      if (path === '/dev/iommu' || path === '/dev/vfio/vfio') curDefault.set(slot, [...(curDefault.get(slot) ?? []), name]);
    }
    if (c.op === 'fork') {
      nprocs++;
      if (typeof c.as === 'string') ctx.procSlot.set(c.as, nprocs);
      ctx.procSlot.set(`$__fork${i}`, nprocs);
      const d = curDefault.get(slot);
      if (d) curDefault.set(nprocs, d);
    }
    if (typeof c.as === 'string') {
      hidx(c.as);
      if (spec) for (const o of Object.keys(spec.outputs)) hidx(`${c.as}.${o}`);
    }
  });
  const e = new Emitter(ctx);
  const used = new Set<string>();
  for (const c of p.calls) used.add(c.op);
  const title = typeof p.name === 'string' ? p.name : (opts.source ?? 'program');
  e.line('// SPDX-License-Identifier: GPL-2.0-only');
  e.line('/*');
  e.line(` * ${commentText(title)}: generated by iommufd-sim export-c${opts.source ? ` from ${commentText(opts.source)}` : ''}.`);
  if (typeof p.description === 'string') e.line(` * ${commentText(p.description)}`);
  e.line(' *');
  e.line(` * Replays the program on a real kernel with CONFIG_IOMMUFD_TEST=y and checks each`);
  e.line(` * result against ${run ? "the model's answers" : "the program's expectations"} (profile ${profile}). Build and run as root:`);
  e.line(' *   gcc -O2 -Wall -o repro repro.c && ./repro');
  e.line(" * It first becomes the model's process: RLIMIT_MEMLOCK, THP mode and huge page pool");
  e.line(` * as the model's machine, then uid ${MODEL_UID} with only the capabilities the model's process has`);
  e.line(` * (${p.caps?.length ? commentText(p.caps.join(', ')) : 'none'}), so pins are charged to RLIMIT_MEMLOCK as in the model.`);
  e.line(' * Each call prints "@R <call> <rc> <output>=<value>..."; exit 0 all agree, 1 some differ,');
  e.line(' * 4 (KSFT_SKIP) no /dev/iommu.');
  const w = run ? run.warnings.find((x) => !x.assertion.startsWith('audit.'))?.assertion : expectedWarning(p, profile);
  if (w) e.line(` * The model WARNs here ("${commentText(w)}"): the kernel must WARN too (watch dmesg).`);
  e.line(' */');
  e.line('#define _GNU_SOURCE');
  for (const h of ['errno.h', 'fcntl.h', 'grp.h', 'inttypes.h', 'setjmp.h', 'signal.h', 'stddef.h', 'stdint.h', 'stdio.h', 'stdlib.h', 'string.h', 'sys/ioctl.h', 'sys/mman.h', 'sys/prctl.h', 'sys/resource.h', 'sys/stat.h', 'sys/syscall.h', 'sys/types.h', 'sys/uio.h', 'sys/wait.h', 'unistd.h']) {
    e.line(`#include <${h}>`);
  }
  for (const h of new Set(p.calls.flatMap((c) => opModule(c.op)?.cIncludes ?? []))) e.line(`#include <${h}>`);
  e.line('');
  e.line('/* uAPI structs (include/uapi/linux/iommufd.h, iommufd_test.h, vfio.h), x86-64 layout */');
  const { structs, ioctls } = cDeclsFor(p.calls);
  for (const s of structs) {
    e.line(cStructDecl(s));
    e.line('');
  }
  e.line('/* ioctl numbers */');
  for (const [n, v] of ioctls) e.line(`#define ${n} 0x${v.toString(16)}`);
  for (const [n, v] of TEST_OPS) e.line(`#define ${n} ${v}`);
  e.line(`/* sizeof(struct iommu_test_cmd) of the profile (${profile}) */`);
  e.line(`#define TEST_CMD_SIZE ${testCmdSize}`);
  e.line('');
  e.line(`#define NHANDLES ${ctx.handleIndex.size}`);
  e.line(`#define NPROCS ${nprocs}`);
  e.line(`#define NCALLS ${p.calls.length}`);
  // the scratches each forked child maps itself, where the model's child has them (0: the parent's hint)
  const hints = (k: 'scratchVa' | 'clientScratchVa'): string => Array.from({ length: nprocs + 1 }, (_, i) => cU64(run?.childScratch?.get(i)?.[k] ?? 0n)).join(', ');
  e.line(`static const uint64_t child_scratch_hint[NPROCS + 1] = { ${hints('scratchVa')} };`);
  e.line(`static const uint64_t child_cscratch_hint[NPROCS + 1] = { ${hints('clientScratchVa')} };`);
  e.line(PRELUDE);
  e.line('/* Handles of the program */');
  for (const [h, i] of ctx.handleIndex) e.line(`#define ${cIdent(h)} (H[${i}])`);
  e.line('');
  e.line('static void run_call(int idx)');
  e.line('{');
  e.line('\tlong rc = 0;');
  e.line('');
  e.line('\t(void)rc;');
  e.line('\tswitch (idx) {');
  p.calls.forEach((c, i) => {
    emitCall(e, c, i, defaultFdAt[i]);
  });
  e.line('\tdefault:');
  e.line('\t\tbreak;');
  e.line('\t}');
  e.line('}');
  e.line('');
  e.line(`static const int call_proc[NCALLS + 1] = { ${[...slotOfCall, 0].join(', ')} };`);
  // A call the model answered ESRCH in a child: that process had exited (or never forked), as it has here.
  const deadOk = p.calls.map((c, i) => {
    if (slotOfCall[i] <= 0) return 0;
    const exp = parseExpectation(expectationFor(c, profile));
    return typeof exp !== 'string' && (exp.kind === 'errno' || exp.kind === 'values') && exp.errno === 'ESRCH' ? 1 : 0;
  });
  e.line(`static const unsigned char call_dead_ok[NCALLS + 1] = { ${[...deadOk, 0].join(', ')} };`);
  e.line('');
  e.line('int main(void)');
  e.line('{');
  e.line('\tint i;');
  e.line('');
  e.line('\t{');
  e.line('\t\t/* print through a descriptor of our own: a call may close 0, 1 or 2 */');
  e.line('\t\tint out = fcntl(1, F_DUPFD, 600);');
  e.line('\t\tFILE *f = out < 0 ? NULL : fdopen(out, "w");');
  e.line('');
  e.line('\t\tif (f)');
  e.line('\t\t\tstdout = f;');
  e.line('\t}');
  e.line('\tsetvbuf(stdout, NULL, _IOLBF, 0);');
  e.line(`\tprintf("%s: %d calls (expectations of profile %s)\\n", ${cStr(title)}, NCALLS, ${cStr(profile)});`);
  const devs = [...new Set(p.calls.filter((c) => c.op === 'open').map((c) => (typeof c.path === 'string' ? c.path : '/dev/iommu')))].filter((d) => d === '/dev/iommu' || d === '/dev/vfio/vfio');
  for (const d of devs) {
    e.line(`\tif (access(${cStr(d)}, F_OK)) {`);
    e.line(`\t\tprintf("SKIP: ${d} is missing (a kernel with CONFIG_IOMMUFD${d === '/dev/vfio/vfio' ? '_VFIO_CONTAINER' : ''} is needed)\\n");`);
    e.line('\t\treturn 4; /* KSFT_SKIP */');
    e.line('\t}');
  }
  if (p.gbpages === true) {
    // the model's machine has the 1 GiB hugetlb size: a kernel without it (no pdpe1gb) answers otherwise
    e.line('\tif (access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK)) {');
    e.line('\t\tprintf("SKIP: no 1 GiB hugetlb size (the program needs a CPU with 1 GiB pages, pdpe1gb)\\n");');
    e.line('\t\treturn 4; /* KSFT_SKIP */');
    e.line('\t}');
  }
  const memlock = String(p.memlock ?? DEFAULT_MEMLOCK);
  const unlimited = /^(unlimited|infinity)$/i.test(memlock.trim());
  const mlExpr = parseExpr(memlock);
  const ml = unlimited ? 'RLIM_INFINITY' : typeof mlExpr === 'string' ? cU64(8n << 20n) : exprToC(mlExpr, ctx);
  const capBits = (p.caps ?? []).map((c) => CAPABILITIES.indexOf(c)).filter((n) => n >= 0);
  const lo = capBits.filter((n) => n < 32).reduce((m, n) => m | (1 << n), 0) >>> 0;
  const hi = capBits.filter((n) => n >= 32).reduce((m, n) => m | (1 << (n - 32)), 0) >>> 0;
  const hp = p.hugetlb_pages as { '2M'?: number } | undefined;
  const thp = typeof p.thp === 'string' ? p.thp : 'madvise';
  e.line(`\tsetup_machine(${cStr(thp)}, ${typeof hp?.['2M'] === 'number' ? hp['2M'] : -1});`);
  if (used.has('fail_nth')) e.line('\tsetup_fault_injection();');
  e.line(`\tbecome_model_process(${ml}, ${MODEL_UID}, 0x${lo.toString(16)}u, 0x${hi.toString(16)}u, ${cStr(devs[0] ?? '/dev/iommu')});`);
  e.line(`\tscratch_hint = ${cU64(opts.scratchVa ?? run?.scratchVa ?? 0n)};`);
  e.line(`\tcscratch_hint = ${cU64(run?.clientScratchVa ?? 0n)};`);
  e.line('\th_main = (uint64_t)getpid();');
  e.line('\tfor (i = 1; i <= NPROCS; i++)');
  e.line('\t\tif (high_pipe(slots[i].cmd) || high_pipe(slots[i].reply)) {');
  e.line('\t\t\tperror("pipe");');
  e.line('\t\t\treturn 2;');
  e.line('\t\t}');
  e.line('\tfor (i = 0; i < NCALLS; i++)');
  e.line('\t\tdispatch(i, call_proc[i]);');
  e.line('\tfor (i = 1; i <= NPROCS; i++)');
  e.line('\t\tif (slots[i].live) {');
  e.line('\t\t\tint quit = -1;');
  e.line('');
  e.line('\t\t\tfull_write(slots[i].cmd[1], &quit, sizeof(quit));');
  e.line('\t\t\twaitpid(slots[i].pid, NULL, 0);');
  e.line('\t\t}');
  e.line('\tif (diverged) {');
  e.line('\t\tprintf("%d of %d checks differ from the model; first divergence at call %d\\n", diverged, checked, first_divergence);');
  e.line('\t\treturn 1;');
  e.line('\t}');
  e.line('\tprintf("all %d checks agree with the model\\n", checked);');
  e.line('\treturn 0;');
  e.line('}');
  return `${e.lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------

function exprToC(ex: Expr, ctx: Ctx): string {
  if (ex.length === 0) return '0';
  const parts: string[] = [];
  for (const t of ex) {
    let s: string;
    if (t.handle !== undefined) {
      if (!ctx.handleIndex.has(t.handle)) s = '0 /* unbound handle */';
      else s = cIdent(t.handle);
    } else s = cU64(t.value!);
    parts.push(parts.length === 0 ? (t.sign < 0 ? `(uint64_t)0 - ${s}` : s) : `${t.sign < 0 ? '-' : '+'} ${s}`);
  }
  return parts.length === 1 && !parts[0].startsWith('(') ? `(uint64_t)${parts[0]}` : `(uint64_t)(${parts.join(' ')})`;
}

function callText(c: Call, spec: OpSpec): string {
  const args: string[] = [];
  const text = (v: unknown): string => (typeof v === 'number' && Number.isInteger(v) && v >= 4096 ? `0x${v.toString(16)}` : String(v));
  for (const k of Object.keys(spec.fields)) if (c[k] !== undefined) args.push(`${k}=${Array.isArray(c[k]) ? `[${(c[k] as unknown[]).map(text).join(',')}]` : text(c[k]).slice(0, 40)}`);
  return `${c.proc !== undefined ? `${String(c.proc)}: ` : ''}${c.op}(${args.join(', ')})${c.as ? ` -> ${c.as}` : ''}`;
}

/** The default iommufd as C: the newest open of `opens` whose handle is a descriptor, else -1. */
function defaultFdExpr(opens: readonly string[]): string {
  let out = '(uint64_t)-1';
  for (const h of opens) out = `((int64_t)${cIdent(h)} >= 0 ? ${cIdent(h)} : ${out})`;
  return out;
}

function emitCall(e: Emitter, c: Call, i: number, defFd: readonly string[]): void {
  const ctx = e.ctx;
  const mod = opModule(c.op);
  const spec = mod?.spec;
  const L = (s = ''): void => e.line(s ? `\t\t${s}` : '');
  e.line(`\tcase ${i}: { /* ${commentText(spec ? callText(c, spec) : c.op)} */`);
  if (typeof c.comment === 'string') L(`/* ${commentText(c.comment)} */`);
  if (!mod || !spec) {
    L(`printf("call ${i}: unknown op ${commentText(String(c.op))}\\n");`);
    L(`printf("@R ${i} noexport\\n");`);
    L('break;');
    e.line('\t}');
    return;
  }
  const what = cStr(c.op);
  const caseStart = e.lines.length;
  const v = (name: string): string => {
    const f = spec.fields[name];
    let raw = c[name];
    if (raw === undefined) {
      if (f.defaultIommufd) return defaultFdExpr(defFd);
      raw = f.default;
      if (raw === undefined) return '0';
    }
    const ex = fieldExpr(f, raw);
    return typeof ex === 'string' ? `0 /* ${commentText(ex)} */` : exprToC(ex, ctx);
  };
  const has = (name: string): boolean => c[name] !== undefined;
  const fd = (): string => `(int)${v('fd')}`;
  const sizeOf = (dflt: string): string => (has('size') ? `(uint32_t)${v('size')}` : dflt);
  const ce: CEmitCtx = {
    c,
    spec,
    index: i,
    L,
    popLine: () => {
      e.lines.pop();
    },
    v,
    has,
    fd,
    expr: (raw) => {
      const ex = parseExpr(raw);
      return typeof ex === 'string' ? `0 /* ${commentText(ex)} */` : exprToC(ex, ctx);
    },
    str: cStr,
    testCmd: (op, id, fields) => {
      L('struct iommu_test_cmd cmd;');
      L('');
      L('scratch_ensure();');
      L('memset(&cmd, 0, sizeof(cmd));');
      L(`cmd.size = ${sizeOf('TEST_CMD_SIZE')};`);
      L(`cmd.op = IOMMU_TEST_OP_${op};`);
      L(`cmd.id = (uint32_t)${id};`);
      for (const [k, x] of Object.entries(fields)) L(`cmd.${k} = ${x};`);
      L(`rc = struct_ioctl(${fd()}, IOMMU_TEST_CMD, &cmd, sizeof(cmd));`);
    },
    structCmd: (type, ioctl, fields, sizeField = 'size', defSize = 'sizeof(cmd)') => {
      L(`struct ${type} cmd;`);
      L('');
      L('scratch_ensure();');
      L('memset(&cmd, 0, sizeof(cmd));');
      L(`cmd.${sizeField} = ${sizeField === 'size' ? sizeOf(defSize) : defSize};`);
      for (const [k, x] of Object.entries(fields)) L(`cmd.${k} = ${x};`);
      L(`rc = struct_ioctl(${fd()}, ${ioctl}, &cmd, sizeof(cmd));`);
    },
    outs: {},
    cleanup: [],
    forkSlot: () => ctx.procSlot.get(`$__fork${i}`) ?? 0,
  };
  const kind = mod.emitC ? 'emit' : spec.group === 'meta' ? 'meta' : 'noexport';
  mod.emitC?.(ce);
  // The model mapped its client scratch in this call: an op whose C keeps its buffer elsewhere
  // (VFIO_IOMMU_GET_INFO's calloc) still maps it there first, so the pages the model has at that
  // address exist in the C program too (6.12 corpus seed 31679: an IOAS_MAP over them)
  const cs = ctx.clientScratchAt;
  if (kind === 'emit' && cs?.call === i && (c.proc === undefined || c.proc === '$main') && !e.lines.slice(caseStart).some((l) => l.includes('client_scratch('))) {
    e.lines.splice(caseStart, 0, `		(void)client_scratch(${cs.bytes});`);
  }
  if (kind === 'meta') {
    // No system call: the model's own view of its state (check_state); nothing to replay.
    L(`printf("@R ${i} meta\\n");`);
    L('break;');
    e.line('\t}');
    return;
  }
  if (kind === 'noexport') {
    L(`printf("call ${i}: op ${commentText(c.op)} cannot be exported\\n");`);
    L(`printf("@R ${i} noexport\\n");`);
    L('break;');
    e.line('\t}');
    return;
  }
  /** C expressions of each output, set by the op's code. */
  const outs = ce.outs;
  // A pending fail-nth is armed right before the system call (after any buffer allocation).
  const sysLine = e.lines.findIndex((l, k) => k >= caseStart && /^\t\t(rc = |void \*p = mmap\()/.test(l));
  if (sysLine >= 0 && c.op !== 'fail_nth') e.lines.splice(sysLine, 0, '\t\tfail_nth_apply();');
  // A fail-nth armed by an earlier fail_nth call is disarmed right after the call.
  if (c.op !== 'fail_nth' && c.op !== 'report') {
    L('fault_fired = fail_nth_armed ? fail_nth_disarm() : -1;');
    L('if (fault_fired > 0)');
    L(`\tprintf("call ${i} (${commentText(c.op)}): the injected fault fired\\n");`);
  }
  // Bind handles.
  const hidden = ce.hidden;
  const bind = (name: string, x: string): void => {
    if (ctx.handleIndex.has(name)) L(`${cIdent(name)} = (uint64_t)(${x});`);
  };
  const primaryC = (): string => (spec.primary !== undefined ? outs[spec.primary] : undefined) ?? '(uint64_t)(int64_t)rc';
  if (typeof c.as === 'string') {
    bind(c.as, primaryC());
    for (const [k, x] of Object.entries(outs)) if (k !== 'data' && k !== 'ranges') bind(`${c.as}.${k}`, x);
  }
  if (hidden) bind(hidden, outs.fd ?? '(uint64_t)(int64_t)rc');
  // The result line the oracle harness reads.
  L(`result_begin(${i}, rc);`);
  for (const [k, x] of Object.entries(outs)) L(k === 'data' || k === 'ranges' ? `result_str(${cStr(k)}, ${x});` : `result_u64(${cStr(k)}, (uint64_t)(${x}));`);
  L('if (fault_fired >= 0)');
  L('\tresult_u64("fault_injected", (uint64_t)(fault_fired > 0));');
  L('printf("\\n");');
  // Expectations.
  const exp = parseExpectation(expectationFor(c, ctx.profile));
  if (typeof exp !== 'string' && exp.kind !== 'any') {
    if (exp.kind === 'ok') L(`expect_rc(${i}, ${what}, rc, 0);`);
    else if (exp.kind === 'errno') L(`expect_rc(${i}, ${what}, rc, ${errnoNumber(exp.errno)} /* ${exp.errno} */);`);
    else {
      L(exp.errno ? `expect_rc(${i}, ${what}, rc, ${errnoNumber(exp.errno)} /* ${exp.errno} */);` : `expect_rc(${i}, ${what}, rc, 0);`);
      for (const [k, want] of Object.entries(exp.values)) {
        if (k === 'fault_injected') {
          const ex = parseExpr(want);
          if (typeof ex !== 'string') L(`expect_u64(${i}, ${what}, "fault_injected", (uint64_t)(fault_fired > 0), ${exprToC(ex, ctx)});`);
          continue;
        }
        const got = k === 'ret' ? '(uint64_t)rc' : outs[k];
        if (got === undefined) {
          L(`/* ${commentText(k)}: not available in C */`);
          continue;
        }
        if (k === 'data' || k === 'ranges') L(`expect_str(${i}, ${what}, ${cStr(k)}, ${got}, ${cStr(String(want))});`);
        else {
          const ex = parseExpr(want);
          if (typeof ex !== 'string') L(`expect_u64(${i}, ${what}, ${cStr(k)}, (uint64_t)(${got}), ${exprToC(ex, ctx)});`);
        }
      }
    }
  }
  for (const line of ce.cleanup) L(line);
  L('break;');
  e.line('\t}');
}
