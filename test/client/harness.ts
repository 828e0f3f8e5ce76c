// SPDX-License-Identifier: GPL-2.0-only
// The selftest fixtures' common ground (iommufd.c / iommufd_utils.h), on a simulated machine:
// the global `buffer`, teardown_iommufd's ref check, and the after-test leak checks.
import { afterEach, expect } from 'vitest';
import { ErrnoError } from '../../src/base/errno.js';
import { IommufdClient, errnoOf } from '../../src/client/iommufd.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  Machine,
  O_RDWR,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type Process,
} from '../../src/machine/index.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';

export const PAGE_SIZE = 4096;
export const PS = 4096n;
export const HUGEPAGE_SIZE = 2 * 1024 * 1024;
export const BUFFER_SIZE = 16 * PAGE_SIZE;
export const MOCK_PAGE_SIZE = 2048;
export const MOCK_APERTURE_START = 1n << 24n;
export const MOCK_APERTURE_LAST = (1n << 31n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;

export interface World {
  readonly machine: Machine;
  readonly proc: Process;
  /** The fixture's /dev/iommu client (self->fd). */
  readonly c: IommufdClient;
  /** The global `buffer`: BUFFER_SIZE of MAP_SHARED anonymous memory at a 2 MiB-aligned address. */
  readonly buffer: bigint;
}

export interface WorldOptions {
  profile?: 'latest' | 'v6.12' | 'v6.5' | 'v6.2';
  /** Machine memory (default 512M). */
  memory?: string;
  /** 2 MiB hugetlb pages reserved (default 64). */
  hugetlb2M?: number;
  /** Open this path instead of /dev/iommu. */
  path?: string;
  caps?: string[];
  memlock?: string | bigint;
}

/**
 * A fresh machine with one process like the selftest binary: privileged for
 * IOMMU_OPTION (CAP_SYS_RESOURCE) but without CAP_IPC_LOCK, so every pin is
 * charged to the user's locked_vm and the charge is visible.
 */
export function world(o: WorldOptions = {}): World {
  const machine = new Machine({ memory: o.memory ?? '512M', profile: o.profile ?? 'latest', panicOnWarn: true, checks: true, hugetlbPages: { '2M': o.hugetlb2M ?? 64 } });
  const proc = machine.spawn({ memlock: o.memlock ?? 'unlimited', caps: o.caps ?? ['CAP_SYS_RESOURCE'] });
  const buffer = alignedShared(proc, BUFFER_SIZE, HUGEPAGE_SIZE);
  const c = IommufdClient.open(proc, o.path ?? '/dev/iommu');
  return { machine, proc, c, buffer };
}

/** mmap `len` bytes of MAP_SHARED anonymous memory at an `align`-aligned address (posix_memalign + MAP_FIXED). */
export function alignedShared(proc: Process, len: number, align: number): bigint {
  const raw = proc.mmap(0n, BigInt(len + align), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(raw > 0n).toBe(true);
  const va = (raw + BigInt(align) - 1n) & ~(BigInt(align) - 1n);
  expect(proc.mmap(va, BigInt(len), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)).toBe(va);
  return va;
}

/** mmap(0, len, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE) */
export function hugetlbBuffer(proc: Process, len: number): bigint {
  const va = proc.mmap(0n, BigInt(len), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE);
  expect(va > 0n).toBe(true);
  return va;
}

/** EXPECT_ERRNO(e, call) */
export function expectErrno(errno: number, fn: () => unknown): void {
  expect(errnoName(errnoOf(fn))).toBe(errnoName(errno));
}

function errnoName(n: number): string {
  return n === 0 ? 'success' : new ErrnoError(n).code;
}

/** ioctl() returning -errno, as EXPECT_ERRNO sees a raw call. */
export function expectRc(errno: number, rc: number): void {
  expect(rc === 0 ? 'success' : errnoName(-rc)).toBe(errno === 0 ? 'success' : errnoName(errno));
}

/**
 * teardown_iommufd(): close the fixture fd (must succeed), then on a fresh
 * /dev/iommu check that no page of `buffer` is still pinned.
 */
export function teardownIommufd(w: World, fd: number = w.c.fd): void {
  if (fd >= 0) expect(w.proc.close(fd)).toBe(0);
  const c2 = IommufdClient.open(w.proc);
  c2.mdCheckRefs(w.buffer, BUFFER_SIZE, 0);
  c2.close();
}

/**
 * After every test: the process exits, and nothing may remain pinned,
 * charged or allocated, and no WARN may have fired.
 */
export function finish(w: World): void {
  const user = w.proc.task.user;
  const mm = w.proc.mm;
  const memcg = w.proc.task.memcg;
  w.proc.exit();
  for (const p of [...w.machine.processes.values()]) p.exit();
  expect(user.lockedVm).toBe(0);
  expect(mm.pinnedVm).toBe(0);
  expect(mm.lockedVm).toBe(0);
  expect(memcg.usage).toBe(0);
  expect(w.machine.phys.framesInUse()).toBe(0);
  expect(w.machine.warnings).toEqual([]);
}

/** The context behind the fixture fd, for model-side checks. */
export function ctxOf(w: World, fd: number = w.c.fd) {
  const ctx = iommufdCtxOf(w.proc, fd);
  if (!ctx) throw new Error(`fd ${fd} is not an iommufd`);
  return ctx;
}

/** Open /dev/iommu again in `proc` (O_RDWR). */
export function openIommu(proc: Process): number {
  const fd = proc.open('/dev/iommu', O_RDWR);
  expect(fd).toBeGreaterThanOrEqual(3);
  return fd;
}

/** The FFS-based alignment the selftests check: 1 << (ffs(len) - 1). */
export function lowBit(len: bigint): bigint {
  return len & -len;
}

/**
 * The world a test sets up (`audited.current = w`) must pass the exact-pins
 * audit and the machine audit after the test, then tear down leaving nothing.
 * Call once per test file, at its top level.
 */
export function auditEachWorld(): { current: World | undefined } {
  const audited: { current: World | undefined } = { current: undefined };
  afterEach(() => {
    const w = audited.current;
    audited.current = undefined;
    if (!w) return;
    expect(ctxOf(w).audit({ exactPins: true })).toBe(0);
    expect(w.machine.audit()).toBe(0);
    teardownIommufd(w);
    finish(w);
  });
  return audited;
}
