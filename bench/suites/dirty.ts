// SPDX-License-Identifier: GPL-2.0-only
/**
 * Dirty tracking: IOMMU_HWPT_GET_DIRTY_BITMAP over 128 MiB of IOVA (hugetlb
 * backed, 1 MiB mock IOPTEs from a HUGE_IOVA device; and anonymous memory,
 * 2 KiB IOPTEs), every IOPTE dirty, one bit per 2 KiB, read and cleared. Each
 * round marks every IOPTE dirty (test op DIRTY, not timed) and reads the
 * bitmap back (timed). Reported per 4 KiB page of IOVA, beside a bare loop
 * that sets the same bits in a typed array: the floor of any implementation.
 *
 * On profile v6.12: its xarray mock has one entry per 2 KiB and the
 * HUGE_IOVA device. 7.2 dropped that flag (mock_dev_create() refuses it:
 * EINVAL), and its AMDv1 mock reads a multi-item leaf back one 2 KiB item
 * short (iommu_pt.h __read_and_clear_dirty() / record_dirty(), as 7.2.13 does
 * in test/regressions/amdv1-dirty-leaves.yaml), so marking every 2 KiB there
 * reads back every other bit, not "all dirty".
 */
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import type { BenchResult, SuiteOptions } from '../run.js';

const MIB = 1024 * 1024;
const APERTURE = 1n << 24n;
const IO = 2048;

function setup(bytes: number, huge: boolean) {
  const machine = new Machine({ profile: 'v6.12', memory: '1G', checks: false, hugetlbPages: { '2M': bytes / (2 * MIB) } });
  const proc = machine.spawn({ memlock: 'unlimited', caps: ['CAP_IPC_LOCK'] });
  const c = IommufdClient.open(proc);
  const flags = MAP_SHARED | MAP_ANONYMOUS | (huge ? MAP_HUGETLB | MAP_POPULATE : MAP_POPULATE);
  const buf = proc.mmap(0n, BigInt(bytes), PROT_READ | PROT_WRITE, flags);
  if (buf < 0n) throw new Error(`mmap: ${buf}`);
  const ioas = c.ioasAlloc();
  const r = c.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas, { 'mock_domain_flags.dev_flags': huge ? U.MOCK_FLAGS_DEVICE_HUGE_IOVA : 0 });
  if (r.rc) throw new Error(`mock domain: ${r.rc}`);
  const idev = r.out['mock_domain.out_idev_id'] as number;
  const ioas2 = c.ioasAlloc();
  c.ioasMap({ ioas: ioas2, userVa: buf, length: bytes, iova: APERTURE });
  const hwpt = c.hwptAlloc({ devId: idev, ptId: ioas2, flags: U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING });
  c.setDirtyTracking(hwpt, true);
  const nbits = bytes / IO;
  const marks = proc.mmap(0n, BigInt(nbits / 8), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const bitmap = proc.mmap(0n, BigInt(nbits / 8 + 4096), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  proc.writeMemory(marks, new Uint8Array(nbits / 8).fill(0xff));
  return { machine, proc, c, hwpt, marks, bitmap, nbits };
}

/** The floor: set nbits bits in a byte array and read them back, ns per 4 KiB page. */
function bareLoop(nbits: number, rounds: number): number {
  const bm = new Uint8Array(nbits / 8);
  let sum = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    bm.fill(0);
    for (let i = 0; i < nbits; i++) bm[i >>> 3] |= 1 << (i & 7);
    sum += bm[r % bm.length];
  }
  const ns = Number(process.hrtime.bigint() - t0);
  if (sum < 0) throw new Error('unreachable');
  return ns / rounds / ((nbits * IO) / 4096);
}

function measure(bytes: number, huge: boolean, rounds: number): BenchResult {
  const s = setup(bytes, huge);
  let ns = 0n;
  for (let r = -1; r < rounds; r++) {
    s.c.mockDomainSetDirty(s.hwpt, APERTURE, bytes, IO, s.marks);
    const t0 = process.hrtime.bigint();
    s.c.getDirtyBitmap({ hwptId: s.hwpt, iova: APERTURE, length: bytes, pageSize: IO, data: s.bitmap });
    // the first round warms up
    if (r >= 0) ns += process.hrtime.bigint() - t0;
  }
  const got = new Uint8Array(s.nbits / 8);
  s.proc.readMemory(s.bitmap, got);
  if (!got.every((b) => b === 0xff)) throw new Error('bitmap not all dirty');
  const pages = bytes / 4096;
  const nsPerPage = Number(ns) / rounds / pages;
  const bare = bareLoop(s.nbits, rounds * 4);
  s.proc.exit();
  if (s.machine.warnings.length) throw new Error(`warnings: ${JSON.stringify(s.machine.warnings)}`);
  return {
    name: `GET_DIRTY_BITMAP ${bytes / MIB} MiB (v6.12) ${huge ? 'hugetlb, 1 MiB IOPTEs' : 'anonymous, 2 KiB IOPTEs'}, all dirty`,
    nsPerPage,
    msPerCall: Number(ns) / rounds / 1e6,
    bareLoopNsPerPage: bare,
    ratioToBareLoop: nsPerPage / bare,
  };
}

export async function run(opts: SuiteOptions): Promise<BenchResult[]> {
  const bytes = opts.quick ? 16 * MIB : 128 * MIB;
  const rounds = opts.quick ? 2 : 8;
  return [measure(bytes, true, rounds), measure(bytes, false, rounds)];
}
