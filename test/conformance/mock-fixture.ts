// SPDX-License-Identifier: GPL-2.0-only
/**
 * Shared setup of the selftest-driven conformance suites: a machine with
 * /dev/iommu, a root-like process holding the selftests' global `buffer`,
 * the raw forms of the test ops the client has no method for, and the
 * end-of-test checks (teardown_iommufd's ref check, the whole-state audit,
 * and "after exit nothing is pinned or charged").
 */
import { afterEach, expect } from 'vitest';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { iommufdCtxOf, registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { Machine, type Process } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

export const PS = 4096;
export const MOCK_PAGE_SIZE = 2048;
export const HUGEPAGE_SIZE = 2 * 1024 * 1024;
/** BUFFER_SIZE of iommufd.c. */
export const BUFFER_SIZE = 16 * PS;
export const MOCK_APERTURE_START = BigInt(U.MOCK_APERTURE_START);

export type ProfileName = 'latest' | 'v6.12' | 'v6.5';

export interface Sim {
  readonly machine: Machine;
  readonly proc: Process;
  /** The selftests' global buffer (MAP_SHARED|MAP_ANONYMOUS, HUGEPAGE_SIZE aligned). */
  readonly buffer: bigint;
  readonly bufferSize: number;
}

export interface SimOptions {
  profile?: ProfileName;
  seed?: number;
  memory?: string;
  bufferSize?: number;
  /** Align the global buffer (default HUGEPAGE_SIZE, as iommufd.c does). */
  bufferAlign?: number;
}

/** mmap `size` bytes at an address aligned to `align`; throws when the kernel refuses. */
export function mmapAligned(proc: Process, size: number, align: number, prot: number, flags: number): bigint {
  const span = BigInt(size + align);
  const raw = proc.mmap(0n, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (raw < 0n) throw new Error(`mmap reserve: ${raw}`);
  const va = (raw + BigInt(align) - 1n) & ~(BigInt(align) - 1n);
  expect(proc.munmap(raw, span)).toBe(0);
  const got = proc.mmap(va, BigInt(size), prot, flags | MAP_FIXED);
  if (got !== va) throw new Error(`mmap fixed: ${got}`);
  return va;
}

export function newSim(o: SimOptions = {}): Sim {
  const machine = new Machine({ memory: o.memory ?? '1G', profile: o.profile ?? 'latest', panicOnWarn: true, seed: o.seed ?? 7 });
  registerIommufdNodes(machine);
  const proc = machine.spawn({ caps: ['CAP_IPC_LOCK', 'CAP_SYS_RESOURCE'], memlock: 'unlimited' });
  const bufferSize = o.bufferSize ?? BUFFER_SIZE;
  const buffer = mmapAligned(proc, bufferSize, o.bufferAlign ?? HUGEPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  return { machine, proc, buffer, bufferSize };
}

/** The IOMMU_TEST_CMD struct layout of the machine's kernel. */
export function testLayout(proc: Process): U.StructLayout {
  return proc.machine.profile.testCmdDirtyUnion ? U.iommu_test_cmd : U.iommu_test_cmd_v6_5;
}

/** MOCK_DOMAIN_FLAGS, unchecked. */
export function mockDomainFlags(c: IommufdClient, ptId: number, devFlags: number) {
  const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ptId, { 'mock_domain_flags.dev_flags': devFlags });
  return {
    rc: r.rc,
    stdevId: r.out['mock_domain.out_stdev_id'] as number,
    hwptId: r.out['mock_domain.out_hwpt_id'] as number,
    idevId: r.out['mock_domain.out_idev_id'] as number,
  };
}

/** MOCK_DOMAIN_REPLACE, unchecked: rc and the pt_id written back. */
export function mockDomainReplace(c: IommufdClient, stdevId: number, ptId: number): { rc: number; ptId: number } {
  const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, { 'mock_domain_replace.pt_id': ptId });
  return { rc: r.rc, ptId: r.out['mock_domain_replace.pt_id'] as number };
}

/** ACCESS_REPLACE_IOAS, unchecked. */
export function accessReplaceIoas(c: IommufdClient, accessFd: number, ioasId: number): number {
  return c.testCmd(U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, accessFd, { 'access_replace_ioas.ioas_id': ioasId }).rc;
}

/** MD_CHECK_MAP, unchecked. */
export function checkMapRc(c: IommufdClient, hwptId: number, iova: bigint, length: bigint | number, uptr: bigint): number {
  return c.testCmd(U.IOMMU_TEST_OP_MD_CHECK_MAP, hwptId, { 'check_map.iova': iova, 'check_map.length': BigInt(length), 'check_map.uptr': uptr }).rc;
}

/** MD_CHECK_REFS, unchecked. */
export function checkRefsRc(c: IommufdClient, uptr: bigint, length: bigint | number, refs: number): number {
  return c.testCmd(U.IOMMU_TEST_OP_MD_CHECK_REFS, 0, { 'check_refs.uptr': uptr, 'check_refs.length': BigInt(length), 'check_refs.refs': refs }).rc;
}

/** The whole-state audit over every IOAS of the context behind `fd` (exact pin counts). */
export function auditFd(proc: Process, fd: number): number {
  const ctx = iommufdCtxOf(proc, fd);
  if (!ctx) return 0;
  return ctx.audit({ exactPins: true });
}

/**
 * teardown_iommufd(): close the fd (must succeed), then a fresh context's
 * MD_CHECK_REFS over the global buffer with refs 0 must pass.
 */
export function teardownIommufd(sim: Sim, c: IommufdClient | undefined): void {
  if (c) {
    expect(auditFd(sim.proc, c.fd)).toBe(0);
    expect(sim.proc.close(c.fd)).toBe(0);
  }
  const t = IommufdClient.open(sim.proc);
  expect(checkRefsRc(t, sim.buffer, sim.bufferSize, 0)).toBe(0);
  t.close();
}

/** exit() the process: every page it had is freed, nothing pinned, locked or charged. */
export function expectNothingLeft(sim: Sim): void {
  const { proc, machine } = sim;
  const memcg = proc.task.memcg;
  const user = proc.task.user;
  proc.exit();
  expect(user.lockedVm).toBe(0);
  expect(proc.mm.pinnedVm).toBe(0);
  expect(memcg.usage).toBe(0);
  expect(machine.phys.framesInUse()).toBe(0);
  expect(machine.warnings).toEqual([]);
}

/**
 * FIXTURE_TEARDOWN for every test of a file: teardown_iommufd() of the
 * fixture set as `current`, then nothing left after exit.
 */
export function teardownEach(): { current: { sim: Sim; c: IommufdClient } | undefined } {
  const holder: { current: { sim: Sim; c: IommufdClient } | undefined } = { current: undefined };
  afterEach(() => {
    const self = holder.current;
    holder.current = undefined;
    if (!self) return;
    teardownIommufd(self.sim, self.c);
    expectNothingLeft(self.sim);
  });
  return holder;
}
