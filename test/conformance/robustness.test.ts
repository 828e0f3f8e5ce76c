// SPDX-License-Identifier: GPL-2.0-only
/**
 * Robustness of the /dev/iommu syscall surface: random structs of random
 * sizes, with fields drawn from values that matter (live IDs, mapped and
 * unmapped user addresses, IOVAs in and out of the aperture, edge lengths),
 * sent to every ioctl number 0x3b00..0x3bff (iommufd, IOMMU_TEST_CMD, the
 * VFIO type1 numbers and the holes) and to a few numbers with direction or
 * size bits. The process starts each epoch with two IOAS holding mappings
 * (one with two mock devices, one with none), and two access fds (one with a
 * pinned item), plus a /dev/vfio/vfio context.
 *
 * Every call must return 0 or a valid -errno (VFIO's CHECK_EXTENSION may
 * answer 1); nothing may throw (the machine panics on WARN, so a KernelWarning
 * fails the test). At each epoch's end the whole-state audit must hold, and
 * exit() must leave nothing pinned, locked or charged. Fixed seed.
 */
import { describe, expect, it } from 'vitest';
import { errnoName, isErrno } from '../../src/base/errno.js';
import { Prng } from '../../src/base/prng.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import * as U from '../../src/iommufd/uapi.js';
import { areaStartByte } from '../../src/iommufd/area.js';
import { iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { O_RDWR } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { MOCK_APERTURE_START, PS, type ProfileName, type Sim, expectNothingLeft, mmapAligned, newSim } from './mock-fixture.js';

const U64_MAX = (1n << 64n) - 1n;
const CALLS_PER_EPOCH = 2500;
/** Bytes of the argument area; structs are placed so some reach its end (EFAULT on copy). */
const ARG_AREA = 3 * PS;

interface World {
  readonly sim: Sim;
  readonly fd: number;
  readonly vfioFd: number;
  readonly accessFds: number[];
  readonly bufA: bigint;
  readonly bufB: bigint;
  readonly roPage: bigint;
  readonly arg: bigint;
  readonly roArg: bigint;
  readonly iovas: bigint[];
}

/** The starting state of an epoch. */
function buildWorld(profile: ProfileName, seed: number): World {
  const sim = newSim({ profile, seed, memory: '512M', bufferSize: 64 * 1024 });
  const { proc } = sim;
  const c = IommufdClient.open(proc);
  const bufA = mmapAligned(proc, 256 * 1024, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  expect(proc.writeMemory(bufA, new Uint8Array(256 * 1024).fill(0x5a))).toBe(0);
  const bufB = proc.mmap(0n, 16n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const roPage = proc.mmap(0n, 4096n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  const arg = proc.mmap(0n, BigInt(ARG_AREA), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const roArg = proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const ioas1 = c.ioasAlloc();
  const ioas2 = c.ioasAlloc();
  const iovas: bigint[] = [];
  iovas.push(c.ioasMap({ ioas: ioas1, userVa: bufA, length: 128 * 1024, iova: MOCK_APERTURE_START }));
  c.mockDomain(ioas1);
  c.mockDomain(ioas1);
  iovas.push(c.ioasMap({ ioas: ioas1, userVa: bufA + 0x800n, length: 64 * 1024 - 0x800 }));
  iovas.push(c.ioasMap({ ioas: ioas1, userVa: bufB, length: 8 * 4096 }));
  iovas.push(c.ioasMap({ ioas: ioas2, userVa: bufA, length: 256 * 1024 }));
  iovas.push(c.ioasMap({ ioas: ioas2, userVa: sim.buffer, length: 64 * 1024, iova: 0x10000n }));
  const a1 = c.createAccess(ioas2, U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
  c.accessPages(a1, { iova: 0x10000n, length: 8 * 4096, uptr: sim.buffer });
  const a2 = c.createAccess(ioas1);
  const vfioFd = proc.open('/dev/vfio/vfio', O_RDWR);
  expect(vfioFd).toBeGreaterThan(0);
  expect(iommufdCtxOf(proc, c.fd)!.audit({ exactPins: true })).toBe(0);
  return { sim, fd: c.fd, vfioFd, accessFds: [a1, a2], bufA, bufB, roPage, arg, roArg, iovas };
}

/** The layout a command is generated from, if it takes a struct. */
function layoutFor(profile: ProfileName, cmd: number): { layout: U.StructLayout; sizeField: string } | undefined {
  if (cmd === U.IOMMU_TEST_CMD) return { layout: profile === 'latest' ? U.iommu_test_cmd : U.iommu_test_cmd_v6_5, sizeField: 'size' };
  const op = U.IOMMUFD_IOCTL_OPS.find((o) => o.cmd === cmd);
  if (op) return { layout: op.struct, sizeField: 'size' };
  if (cmd === U.VFIO_IOMMU_GET_INFO) return { layout: U.vfio_iommu_type1_info, sizeField: 'argsz' };
  if (cmd === U.VFIO_IOMMU_MAP_DMA) return { layout: U.vfio_iommu_type1_dma_map, sizeField: 'argsz' };
  if (cmd === U.VFIO_IOMMU_UNMAP_DMA) return { layout: U.vfio_iommu_type1_dma_unmap, sizeField: 'argsz' };
  return undefined;
}

const VFIO_INT_ARG = new Set([U.VFIO_GET_API_VERSION, U.VFIO_CHECK_EXTENSION, U.VFIO_SET_IOMMU]);

class Gen {
  constructor(
    readonly r: Prng,
    readonly w: World,
  ) {}

  id(): number {
    const r = this.r;
    switch (r.below(6)) {
      case 0:
        return 0;
      case 1:
        return r.pick(this.w.accessFds);
      case 2:
        return r.nextU32();
      default:
        return r.int(1, 14);
    }
  }

  iova(): bigint {
    const r = this.r;
    switch (r.below(9)) {
      case 0:
        return 0n;
      case 1:
        return MOCK_APERTURE_START + BigInt(r.below(256)) * 2048n;
      case 2:
        return r.pick(this.w.iovas) + BigInt(r.below(16)) * BigInt(r.pick([1, 2048, 4096]));
      case 3:
        return r.pick(this.w.iovas);
      case 4:
        return U64_MAX - BigInt(r.below(8192));
      case 5:
        return BigInt(U.MOCK_APERTURE_LAST) + 1n - BigInt(r.below(4)) * 4096n;
      case 6:
        return 0x10000n + BigInt(r.below(32)) * 4096n;
      case 7:
        return BigInt(r.nextU32()) << BigInt(r.below(32));
      default:
        return r.u64();
    }
  }

  length(): bigint {
    const r = this.r;
    switch (r.below(10)) {
      case 0:
        return 0n;
      case 1:
        return BigInt(r.int(1, 64));
      case 2:
        return 2048n * BigInt(r.int(1, 64));
      case 3:
      case 4:
        return 4096n * BigInt(r.int(1, 64));
      case 5:
        return 16n << 20n;
      case 6:
        return (16n << 20n) + BigInt(r.below(2));
      case 7:
        return U64_MAX - BigInt(r.below(4096));
      case 8:
        return BigInt(r.nextU32()) << BigInt(r.below(33));
      default:
        return 160n;
    }
  }

  uptr(): bigint {
    const r = this.r;
    const w = this.w;
    switch (r.below(9)) {
      case 0:
        return 0n;
      case 1:
      case 2:
        return w.bufA + BigInt(r.below(128)) * BigInt(r.pick([2048, 4096, 1]));
      case 3:
        return w.bufB + BigInt(r.below(16)) * 4096n;
      case 4:
        return w.sim.buffer + BigInt(r.below(16)) * 4096n;
      case 5:
        return w.roPage;
      case 6:
        return 0x7000_0000_0000n + BigInt(r.below(16)) * 4096n;
      case 7:
        return w.arg;
      default:
        return r.u64();
    }
  }

  flags(): number {
    const r = this.r;
    switch (r.below(6)) {
      case 0:
        return 0;
      case 1:
      case 2:
        return r.below(8);
      case 3:
        return r.below(16) | (r.bool(0.2) ? 1 << 16 : 0);
      case 4:
        return 1 << r.below(32);
      default:
        return r.nextU32();
    }
  }

  small(): number {
    const r = this.r;
    return r.bool(0.8) ? r.below(24) : r.nextU32();
  }

  testOp(): number {
    const r = this.r;
    if (r.bool(0.1)) return r.nextU32();
    return r.pick([1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12, 12, 13, 14, 15, 16, 17, 18, 22]);
  }

  value(name: string, type: U.ScalarType): number | bigint {
    const r = this.r;
    const base = name.slice(name.lastIndexOf('.') + 1);
    let v: number | bigint;
    if (base === 'op' && name === 'op') v = this.testOp();
    else if (/(^id$|_id$|^id\b|fd$|_fd$)/.test(base)) v = this.id();
    else if (/iova|^start$|^last$|^vaddr$/.test(base)) v = this.iova();
    else if (/length|^size$|pgsize/.test(base)) v = this.length();
    else if (/user_va|uptr|allowed_iovas|^data$/.test(base)) v = this.uptr();
    else if (base === '__reserved' || base === 'pad' || base === 'last') v = r.bool(0.9) ? 0 : r.nextU32();
    else if (/flags|^op$/.test(base)) v = this.flags();
    else if (/num_iovas|refs|limit|option_id|val64|cap_offset|^iotlb$/.test(base)) v = this.small();
    else v = type === 'u64' ? r.u64() : r.nextU32();
    if (r.bool(0.03)) v = type === 'u64' ? r.u64() : r.nextU32();
    if (type === 'u64') return typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v >>> 0);
    return typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : v >>> 0;
  }

  cmd(): number {
    const r = this.r;
    const roll = r.below(100);
    let nr: number;
    if (roll < 35) nr = U.IOMMUFD_CMD_TEST;
    else if (roll < 70) nr = r.int(0x80, 0x8e);
    else if (roll < 80) nr = r.pick([0x64, 0x65, 0x66, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75]);
    else if (roll < 85) nr = r.int(0x8f, 0x9f);
    else nr = r.below(256);
    if (r.bool(0.02)) return U.ioc(r.below(4), U.IOMMUFD_TYPE, nr, r.below(1 << 14));
    return 0x3b00 | nr;
  }
}


/** A view of the context behind the main fd, for fields that should name live things. */
function liveState(w: World) {
  const ctx = iommufdCtxOf(w.sim.proc, w.fd);
  const objs = ctx ? ctx.objects.live() : [];
  const ioas = ctx ? ctx.ioasList() : [];
  return {
    ioasIds: ioas.map((e) => e.id),
    hwptIds: objs.filter((o) => o.obj.type === 'HWPT_PAGING').map((o) => o.id),
    nestedIds: objs.filter((o) => o.obj.type === 'HWPT_NESTED').map((o) => o.id),
    devIds: objs.filter((o) => o.obj.type === 'DEVICE').map((o) => o.id),
    faultIds: objs.filter((o) => o.obj.type === 'FAULT').map((o) => o.id),
    stdevIds: objs.filter((o) => o.obj.type === 'SELFTEST').map((o) => o.id),
    anyIds: objs.map((o) => o.id),
    areas: ioas.flatMap((e) => e.ioas.iopt.areas().map((area) => ({ ioasId: e.id, area }))),
  };
}

const RW_FLAGS = [U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE, U.IOMMU_IOAS_MAP_READABLE, U.IOMMU_IOAS_MAP_WRITEABLE];

/**
 * Mostly-valid fields for a command: live IDs, existing areas and the user
 * pages behind them, lengths inside the buffers. Returns undefined for
 * commands without a smart form.
 */
function smartFields(g: Gen, cmd: number, op: number): Record<string, number | bigint> | undefined {
  const { r, w } = g;
  const st = liveState(w);
  const orRandom = (xs: number[]) => (xs.length && r.bool(0.9) ? r.pick(xs) : g.id());
  const pickArea = () => (st.areas.length ? r.pick(st.areas) : undefined);
  const buf = () => r.pick([w.bufA, w.bufB, w.sim.buffer]);
  const pageLen = () => BigInt(r.int(1, 16) * (r.bool(0.8) ? 4096 : 2048));
  /** An IOVA inside an area, and the user address whose page backs it. */
  const inArea = (align: number) => {
    const a = pickArea();
    if (!a) return { ioasId: orRandom(st.ioasIds), iova: g.iova(), uptr: g.uptr(), room: 4096n };
    const span = Number(a.area.length < 1n << 20n ? a.area.length : 1n << 20n);
    const off = BigInt(Math.floor(r.below(Math.max(1, span)) / align) * align);
    const iova = a.area.iova + off;
    const uptr = a.area.pages ? a.area.pages.uptr + BigInt(areaStartByte(a.area, iova)) : 0n;
    return { ioasId: a.ioasId, iova, uptr, room: a.area.length - off };
  };
  switch (cmd) {
    case U.IOMMU_DESTROY:
      // Rarely: destroying tears the world down quickly.
      return { id: r.bool(0.3) ? orRandom(st.anyIds) : g.id() };
    case U.IOMMU_IOAS_MAP: {
      const fixed = r.bool(0.4);
      const base = fixed ? r.pick([MOCK_APERTURE_START, 0x10000n, 0x100000n]) : 0n;
      return {
        flags: r.pick(RW_FLAGS) | (fixed ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0),
        ioas_id: orRandom(st.ioasIds),
        __reserved: 0,
        user_va: buf() + BigInt(r.below(8)) * BigInt(r.pick([4096, 2048])),
        length: pageLen(),
        iova: base + BigInt(r.below(64)) * 4096n,
      };
    }
    case U.IOMMU_IOAS_UNMAP: {
      const a = pickArea();
      if (!a || r.bool(0.1)) return { ioas_id: orRandom(st.ioasIds), iova: 0n, length: U64_MAX };
      return { ioas_id: a.ioasId, iova: a.area.iova, length: a.area.length + (r.bool(0.2) ? 4096n : 0n) };
    }
    case U.IOMMU_IOAS_COPY: {
      const src = inArea(r.pick([1, 2048, 4096]));
      return {
        flags: r.pick(RW_FLAGS) | (r.bool(0.3) ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0),
        dst_ioas_id: orRandom(st.ioasIds),
        src_ioas_id: src.ioasId,
        length: src.room < 4096n ? src.room : BigInt(r.int(1, 4)) * 2048n,
        dst_iova: MOCK_APERTURE_START + BigInt(r.below(512)) * 4096n,
        src_iova: src.iova,
      };
    }
    case U.IOMMU_IOAS_IOVA_RANGES:
      return { ioas_id: orRandom(st.ioasIds), num_iovas: r.below(6), __reserved: 0, allowed_iovas: w.arg + 2048n };
    case U.IOMMU_VFIO_IOAS:
      return { ioas_id: orRandom(st.ioasIds), op: r.below(4), __reserved: 0 };
    case U.VFIO_IOMMU_MAP_DMA:
      // READ and/or WRITE: with neither, 7.2's pt_iommu map_range WARNs (the compat layer passes prot IOMMU_CACHE alone)
      return { argsz: 32, flags: 1 + r.below(3), vaddr: buf(), iova: BigInt(r.below(64)) * 4096n + r.pick([0n, MOCK_APERTURE_START]), size: pageLen() };
    case U.VFIO_IOMMU_UNMAP_DMA:
      return { argsz: 24, flags: r.pick([0, 0, 2]), iova: BigInt(r.below(64)) * 4096n + r.pick([0n, MOCK_APERTURE_START]), size: pageLen() };
    case U.IOMMU_HWPT_ALLOC: {
      const nested = r.bool(0.4);
      return {
        flags: nested ? r.pick([0, 0, U.IOMMU_HWPT_FAULT_ID_VALID]) : r.pick([0, U.IOMMU_HWPT_ALLOC_NEST_PARENT, U.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 3, U.IOMMU_HWPT_FAULT_ID_VALID]),
        dev_id: orRandom(st.devIds),
        pt_id: nested ? orRandom(st.hwptIds) : orRandom(st.ioasIds),
        __reserved: 0,
        data_type: nested ? U.IOMMU_HWPT_DATA_SELFTEST : U.IOMMU_HWPT_DATA_NONE,
        data_len: nested ? r.pick([4, 4, 3, 8]) : 0,
        data_uptr: nested ? r.pick([w.arg, w.roPage, 0n]) : 0n,
        fault_id: orRandom(st.faultIds),
        __reserved2: 0,
      };
    }
    case U.IOMMU_GET_HW_INFO:
      return {
        flags: r.bool(0.9) ? 0 : g.flags(),
        dev_id: orRandom(st.devIds),
        data_len: r.below(24),
        data_uptr: r.pick([w.arg, w.roPage, 0n]),
        '__reserved[0]': 0,
        '__reserved[1]': 0,
        '__reserved[2]': 0,
      };
    case U.IOMMU_HWPT_SET_DIRTY_TRACKING:
      return { flags: r.below(2), hwpt_id: orRandom(st.hwptIds), __reserved: 0 };
    case U.IOMMU_HWPT_GET_DIRTY_BITMAP: {
      const a = inArea(4096);
      return {
        hwpt_id: orRandom(st.hwptIds),
        flags: r.below(2),
        __reserved: 0,
        iova: a.iova,
        length: a.room < 65536n ? a.room : BigInt(r.int(1, 16)) * 4096n,
        page_size: r.pick([2048n, 4096n, 12288n]),
        data: r.pick([w.arg, w.bufB, w.roPage]),
      };
    }
    case U.IOMMU_HWPT_INVALIDATE:
      return { hwpt_id: orRandom(st.nestedIds), data_uptr: r.pick([w.arg, w.roPage, 0n]), data_type: U.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, entry_len: r.pick([8, 8, 4, 9]), entry_num: r.below(4), __reserved: 0 };
    case U.IOMMU_TEST_CMD:
      break;
    default:
      return undefined;
  }
  const access = () => (r.bool(0.9) ? r.pick(w.accessFds) : g.id());
  switch (op) {
    case U.IOMMU_TEST_OP_ADD_RESERVED:
      return { id: orRandom(st.ioasIds), 'add_reserved.start': g.iova(), 'add_reserved.length': pageLen() };
    case U.IOMMU_TEST_OP_MOCK_DOMAIN:
      return { id: r.bool(0.5) ? orRandom(st.ioasIds) : orRandom(st.hwptIds) };
    case U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
      return { id: orRandom(st.ioasIds), 'mock_domain_flags.dev_flags': r.below(5) };
    case U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
      return { id: orRandom(st.stdevIds), 'mock_domain_replace.pt_id': r.bool(0.5) ? orRandom(st.ioasIds) : orRandom(st.hwptIds) };
    case U.IOMMU_TEST_OP_MD_CHECK_MAP: {
      const a = inArea(2048);
      return { id: orRandom(st.hwptIds), 'check_map.iova': a.iova, 'check_map.length': a.room < 8192n ? a.room : 8192n, 'check_map.uptr': a.uptr };
    }
    case U.IOMMU_TEST_OP_MD_CHECK_REFS:
      return { 'check_refs.uptr': buf(), 'check_refs.length': pageLen(), 'check_refs.refs': r.below(3) };
    case U.IOMMU_TEST_OP_CREATE_ACCESS:
      return { id: orRandom(st.ioasIds), 'create_access.flags': r.below(3) };
    case U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
      return { id: access(), 'access_replace_ioas.ioas_id': orRandom(st.ioasIds) };
    case U.IOMMU_TEST_OP_ACCESS_PAGES: {
      const a = inArea(4096);
      const len = a.room < 16384n ? a.room : BigInt(r.int(1, 4)) * 4096n;
      return {
        id: access(),
        'access_pages.flags': r.pick([0, 0, U.MOCK_FLAGS_ACCESS_WRITE, U.MOCK_FLAGS_ACCESS_SYZ]),
        'access_pages.iova': a.iova,
        'access_pages.length': len,
        'access_pages.uptr': r.bool(0.7) ? a.uptr : 0n,
      };
    }
    case U.IOMMU_TEST_OP_ACCESS_RW: {
      const a = inArea(1);
      return {
        id: access(),
        'access_rw.iova': a.iova,
        'access_rw.length': BigInt(r.int(1, 8192)),
        'access_rw.uptr': r.pick([w.arg, w.bufB, w.roPage]),
        'access_rw.flags': r.below(8) & ~2,
      };
    }
    case U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
      return { id: access(), 'destroy_access_pages.access_pages_id': r.below(6) };
    case U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
      return { 'memory_limit.limit': r.pick([11, 12, 16, 32, 65536]) };
    case U.IOMMU_TEST_OP_DIRTY: {
      const a = inArea(2048);
      return {
        id: orRandom(st.hwptIds),
        'dirty.iova': a.iova,
        'dirty.length': a.room < 65536n ? a.room : 65536n,
        'dirty.page_size': 2048n,
        'dirty.uptr': r.pick([w.arg, w.bufB, 0n]),
      };
    }
    case U.IOMMU_TEST_OP_MD_CHECK_IOTLB:
      return { id: orRandom(st.nestedIds), 'check_iotlb.id': r.below(5), 'check_iotlb.iotlb': r.below(3) };
    case U.IOMMU_TEST_OP_TRIGGER_IOPF:
      return { 'trigger_iopf.dev_id': orRandom(st.devIds), 'trigger_iopf.pasid': r.below(2), 'trigger_iopf.grpid': r.below(4), 'trigger_iopf.perm': r.below(4), 'trigger_iopf.addr': g.iova() };
    default:
      return undefined;
  }
}

interface Stats {
  calls: number;
  errnos: Map<number, number>;
  /** Successful calls per command (and test op). */
  ok: Map<string, number>;
}

let lastOp = 0;

/** One call: build the struct in user memory, issue it on a chosen fd, check the result. */
function oneCall(g: Gen, profile: ProfileName, cmd: number, stats: Stats): void {
  const { r, w } = g;
  const proc = w.sim.proc;
  const roll = r.below(100);
  const fd = roll < 85 ? w.fd : roll < 93 ? w.vfioFd : roll < 97 ? r.pick(w.accessFds) : r.int(0, 40);
  let argVa: bigint;
  const spec = layoutFor(profile, cmd);
  if (VFIO_INT_ARG.has(cmd)) {
    argVa = r.bool(0.8) ? BigInt(r.below(12)) : r.u64();
  } else {
    // The struct: fields from the generators, size word mostly right.
    const size = spec?.layout.size ?? 4 * r.int(1, 20);
    let sizeWord: number;
    const sr = r.below(10);
    if (sr < 6) sizeWord = size;
    else if (sr === 6) sizeWord = spec?.layout.minSize ?? size;
    else if (sr === 7) sizeWord = r.below(size + 1);
    else if (sr === 8) sizeWord = size + 4 * r.int(1, 64);
    else sizeWord = r.bool(0.5) ? r.nextU32() : r.int(0, 2 * PS);
    const span = Math.min(Math.max(size, sizeWord), ARG_AREA);
    const bytes = new Uint8Array(span);
    if (spec) {
      const fields: Record<string, number | bigint> = {};
      for (const f of spec.layout.fields) fields[f.name] = g.value(f.name, f.type);
      if (r.bool(0.6)) {
        const smart = smartFields(g, cmd, Number(fields.op ?? 0));
        // Keep one random field in a few of them.
        if (smart) {
          // Union members overlap: keep only the chosen member's fields (and the header).
          for (const k of Object.keys(fields)) if (k.includes('.') && !(k in smart)) delete fields[k];
          for (const [k, v] of Object.entries(smart)) if (spec.layout.has(k) && !r.bool(0.03)) fields[k] = v;
        }
      }
      lastOp = Number(fields.op ?? 0);
      fields[spec.sizeField] = sizeWord;
      spec.layout.encode(fields, bytes);
      // A tail past the kernel struct: zero (accepted) or not (E2BIG).
      if (span > size && r.bool(0.5)) bytes[r.int(size, span - 1)] = r.int(1, 255);
    } else {
      for (let i = 0; i < span; i++) bytes[i] = r.below(256);
      new DataView(bytes.buffer).setUint32(0, sizeWord >>> 0, true);
    }
    const pr = r.below(100);
    if (pr < 84) {
      // At the start of the area, or placed so the struct or its tail runs off the end.
      const atEnd = r.bool(0.1);
      const off = atEnd ? Math.max(0, ARG_AREA - r.int(1, span)) : 0;
      argVa = w.arg + BigInt(off);
      expect(proc.writeMemory(argVa, bytes.subarray(0, Math.min(span, ARG_AREA - off)))).toBe(0);
    } else if (pr < 92) {
      // Readable but not writable: every write-back faults.
      expect(proc.mprotect(w.roArg, 4096n, PROT_READ | PROT_WRITE)).toBe(0);
      expect(proc.writeMemory(w.roArg, bytes.subarray(0, Math.min(span, 4096)))).toBe(0);
      expect(proc.mprotect(w.roArg, 4096n, PROT_READ)).toBe(0);
      argVa = w.roArg;
    } else if (pr < 96) {
      argVa = 0n;
    } else {
      argVa = g.uptr();
    }
  }
  const fdsBefore = cmd === U.IOMMU_TEST_CMD ? new Set(proc.openFds()) : undefined;
  const rc = proc.ioctl(fd, cmd, argVa);
  stats.calls++;
  stats.errnos.set(rc, (stats.errnos.get(rc) ?? 0) + 1);
  if (process.env.ROBUSTNESS_FIGURES === '2' && cmd === U.IOMMU_TEST_CMD) {
    const k = `op${lastOp}:${rc}`;
    stats.ok.set(k, (stats.ok.get(k) ?? 0) + 1);
  }
  if (rc === 0 && spec) {
    const name = spec.layout.name + (cmd === U.IOMMU_TEST_CMD ? `:${lastOp}` : '');
    stats.ok.set(name, (stats.ok.get(name) ?? 0) + 1);
    if (cmd === U.IOMMU_TEST_CMD && lastOp === U.IOMMU_TEST_OP_CREATE_ACCESS && fd === w.fd) {
      const out = new Uint8Array(4);
      expect(proc.readMemory(argVa + 16n, out)).toBe(0);
      w.accessFds.push(new DataView(out.buffer).getUint32(0, true));
    }
  }
  if (!Number.isInteger(rc)) throw new Error(`cmd 0x${cmd.toString(16)} returned ${rc}`);
  if (rc < 0) {
    if (!isErrno(-rc)) throw new Error(`cmd 0x${cmd.toString(16)} returned ${rc}, not an errno`);
  } else if (rc > 0 && fdsBefore) {
    // IOMMU_TEST_OP_DMABUF_GET answers with the new dma-buf's fd (dma_buf_fd()):
    // a descriptor that was free before the call and is open now. Close it so
    // the fd table and the machine's memory stay small.
    if (fdsBefore.has(rc) || proc.fileOf(rc) === undefined) {
      throw new Error(`IOMMU_TEST_CMD op ${lastOp} returned ${rc}, not a new fd`);
    }
    stats.ok.set('dmabuf_fd', (stats.ok.get('dmabuf_fd') ?? 0) + 1);
    expect(proc.close(rc)).toBe(0);
  } else if (rc > 0 && !(cmd === U.VFIO_CHECK_EXTENSION && rc === 1)) {
    throw new Error(`cmd 0x${cmd.toString(16)} returned ${rc}`);
  }
}

/**
 * Unmap areas whose pages object is too large for the audit's per-page
 * bookkeeping (an IOAS without a domain accepts any length, and COPY shares
 * such pages objects with small areas).
 */
function dropHugeAreas(w: World): void {
  for (const fd of [w.fd, w.vfioFd]) {
    const ctx = iommufdCtxOf(w.sim.proc, fd);
    if (!ctx) continue;
    const c = new IommufdClient(w.sim.proc, fd);
    for (const { id, ioas } of ctx.ioasList()) {
      for (const area of ioas.iopt.areas()) {
        if ((area.pages?.npages ?? 0) <= 1 << 18) continue;
        const rc = c.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: id, iova: area.iova, length: area.length }).rc;
        expect(rc === 0 || isErrno(-rc)).toBe(true);
      }
    }
  }
}

function endEpoch(w: World): void {
  dropHugeAreas(w);
  // Both contexts may pin the same user page: frame pin counts are checked
  // over all of them at once (the machine audit), each context's links alone.
  expect(w.sim.machine.audit()).toBe(0);
  expectNothingLeft(w.sim);
}

function run(profile: ProfileName, seed: number, total: number, stats: Stats): void {
  const r = new Prng(seed);
  let done = 0;
  let epoch = 0;
  while (done < total) {
    const w = buildWorld(profile, seed + epoch++);
    const g = new Gen(r, w);
    const n = Math.min(CALLS_PER_EPOCH, total - done);
    for (let i = 0; i < n; i++) {
      // The first epoch walks every number of the ioctl type once before going random.
      const cmd = epoch === 1 && i < 256 ? 0x3b00 | i : g.cmd();
      oneCall(g, profile, cmd, stats);
    }
    done += n;
    endEpoch(w);
  }
}

describe('robustness', () => {
  it('100,000 random ioctls: 0 or -errno, no exception, audit clean, nothing left after exit', () => {
    const stats: Stats = { calls: 0, errnos: new Map(), ok: new Map() };
    const t0 = performance.now();
    run('latest', 0x5eed1, 75_000, stats);
    run('v6.5', 0x5eed2, 25_000, stats);
    const ms = performance.now() - t0;
    expect(stats.calls).toBeGreaterThanOrEqual(100_000);
    if (process.env.ROBUSTNESS_FIGURES) {
      const top = [...stats.errnos].sort((a, b) => b[1] - a[1]).slice(0, 8);
      console.log([...stats.ok].sort().map(([k, n]) => `${k}=${n}`).join(' '));
      console.log(`${stats.calls} calls in ${(ms / 1000).toFixed(1)} s; ${top.map(([e, n]) => `${e === 0 ? '0' : errnoName(e)}:${n}`).join(' ')}`);
    }
  });
});
