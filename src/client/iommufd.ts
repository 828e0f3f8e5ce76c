// SPDX-License-Identifier: GPL-2.0-only
/**
 * A typed client of /dev/iommu in the spirit of the selftests'
 * iommufd_utils.h: each method encodes one command struct, issues it through
 * the process's syscall surface, decodes the outputs and throws ErrnoError
 * (errno name and number) when the call fails. `raw()` and `testCmd()` give
 * the unchecked form for error-path tests.
 *
 * The IOMMU_TEST_CMD wrappers only encode and decode; the ops themselves are
 * the selftest driver's (iommufd/selftest.ts).
 */
import { EMSGSIZE, ErrnoError } from '../base/errno.js';
import { O_RDWR } from '../machine/device.js';
import type { Process } from '../machine/process.js';
import * as U from '../iommufd/uapi.js';
import { type Fields, type IoctlResult, type RawOptions, UserScratch, check, rawIoctl } from './common.js';

export interface IovaRange {
  readonly start: bigint;
  /** Inclusive. */
  readonly last: bigint;
}

export interface IoasMapArgs {
  readonly ioas: number;
  readonly userVa: bigint;
  readonly length: bigint | number;
  /** With an IOVA the map is FIXED_IOVA (unless `flags` says otherwise). */
  readonly iova?: bigint | number;
  /** Default READABLE | WRITEABLE, plus FIXED_IOVA when `iova` is given. */
  readonly flags?: number;
}

export interface IoasCopyArgs {
  readonly dstIoas: number;
  readonly srcIoas: number;
  readonly srcIova: bigint | number;
  readonly length: bigint | number;
  readonly dstIova?: bigint | number;
  /** Default READABLE | WRITEABLE, plus FIXED_IOVA when `dstIova` is given. */
  readonly flags?: number;
}

export interface OptionArgs {
  readonly optionId: number;
  readonly op: number;
  readonly objectId?: number;
  readonly val64?: bigint | number;
}

export interface MockDomainIds {
  readonly stdevId: number;
  readonly hwptId: number;
  readonly idevId: number;
}

export interface AccessPagesArgs {
  readonly iova: bigint | number;
  readonly length: bigint | number;
  /** User VA the pinned pages must match (0: no check). */
  readonly uptr?: bigint | number;
  /** MOCK_FLAGS_ACCESS_WRITE, MOCK_FLAGS_ACCESS_SYZ. */
  readonly flags?: number;
}

export interface AccessRwArgs {
  readonly iova: bigint | number;
  readonly length: bigint | number;
  readonly uptr: bigint | number;
  /** MOCK_ACCESS_RW_WRITE, MOCK_ACCESS_RW_SLOW_PATH. */
  readonly flags?: number;
}

export interface HwptAllocArgs {
  readonly devId: number;
  /** An IOAS (paging HWPT) or a NEST_PARENT paging HWPT (nested). */
  readonly ptId: number;
  readonly flags?: number;
  readonly faultId?: number;
  readonly dataType?: number;
  readonly dataLen?: number;
  readonly dataUptr?: bigint | number;
}

export interface HwInfo {
  readonly dataType: number;
  /** The driver's data length (may exceed the buffer given). */
  readonly dataLen: number;
  readonly capabilities: bigint;
  readonly maxPasidLog2: number;
}

export interface DirtyBitmapArgs {
  readonly hwptId: number;
  readonly iova: bigint | number;
  readonly length: bigint | number;
  readonly pageSize: bigint | number;
  /** User VA of the bitmap. */
  readonly data: bigint | number;
  readonly flags?: number;
}

export interface IoasMapFileArgs {
  readonly ioas: number;
  /** A memfd or dma-buf fd. */
  readonly fd: number;
  /** Byte offset in the file (default 0). */
  readonly start?: bigint | number;
  readonly length: bigint | number;
  /** With an IOVA the map is FIXED_IOVA (unless `flags` says otherwise). */
  readonly iova?: bigint | number;
  readonly flags?: number;
}

export interface HwQueueAllocArgs {
  readonly viommuId: number;
  /** Default IOMMU_HW_QUEUE_TYPE_SELFTEST. */
  readonly type?: number;
  readonly index: number;
  /** nesting_parent_iova: the queue's memory, in the vIOMMU's parent IOAS. */
  readonly iova: bigint | number;
  readonly length: bigint | number;
  readonly flags?: number;
}

const RW = U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE;

function big(x: bigint | number): bigint {
  return typeof x === 'bigint' ? BigInt.asUintN(64, x) : BigInt.asUintN(64, BigInt(x));
}

export class IommufdClient {
  readonly proc: Process;
  readonly fd: number;
  private readonly scratch: UserScratch;

  constructor(proc: Process, fd: number) {
    this.proc = proc;
    this.fd = fd;
    this.scratch = new UserScratch(proc);
  }

  /** open(path, O_RDWR) and wrap the fd; throws ErrnoError. */
  static open(proc: Process, path = '/dev/iommu'): IommufdClient {
    return new IommufdClient(proc, check(proc.open(path, O_RDWR), `open ${path}`));
  }

  /** close(fd); throws ErrnoError. */
  close(): void {
    check(this.proc.close(this.fd), 'close');
  }

  /** Any size-prefixed command, unchecked. */
  raw(cmd: number, layout: U.StructLayout, fields: Fields, opts?: RawOptions): IoctlResult {
    return rawIoctl(this.proc, this.fd, cmd, layout, fields, opts);
  }

  private call(name: string, cmd: number, layout: U.StructLayout, fields: Fields): U.StructValue {
    const r = this.raw(cmd, layout, fields);
    check(r.rc, name);
    return r.out;
  }

  // --- core commands -------------------------------------------------------

  /** IOMMU_DESTROY */
  destroy(id: number): void {
    this.call('IOMMU_DESTROY', U.IOMMU_DESTROY, U.iommu_destroy, { id });
  }

  /** IOMMU_IOAS_ALLOC: the new IOAS ID. */
  ioasAlloc(flags = 0): number {
    return this.call('IOMMU_IOAS_ALLOC', U.IOMMU_IOAS_ALLOC, U.iommu_ioas_alloc, { flags }).out_ioas_id as number;
  }

  private mapFields(a: IoasMapArgs): Fields {
    const flags = a.flags ?? RW | (a.iova !== undefined ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
    return { flags, ioas_id: a.ioas, user_va: big(a.userVa), length: big(a.length), iova: big(a.iova ?? 0) };
  }

  /** IOMMU_IOAS_MAP: the IOVA of the new mapping. */
  ioasMap(a: IoasMapArgs): bigint {
    return this.call('IOMMU_IOAS_MAP', U.IOMMU_IOAS_MAP, U.iommu_ioas_map, this.mapFields(a)).iova as bigint;
  }

  /** IOMMU_IOAS_MAP unchecked: the result and the written-back struct. */
  ioasMapRaw(a: IoasMapArgs): IoctlResult {
    return this.raw(U.IOMMU_IOAS_MAP, U.iommu_ioas_map, this.mapFields(a));
  }

  /** IOMMU_IOAS_UNMAP: the bytes unmapped. */
  ioasUnmap(a: { ioas: number; iova: bigint | number; length: bigint | number }): bigint {
    return this.call('IOMMU_IOAS_UNMAP', U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: a.ioas, iova: big(a.iova), length: big(a.length) })
      .length as bigint;
  }

  /** IOMMU_IOAS_UNMAP unchecked: rc and the `length` written back (the bytes unmapped). */
  ioasUnmapRaw(a: { ioas: number; iova: bigint | number; length: bigint | number }): { rc: number; length: bigint } {
    const r = this.raw(U.IOMMU_IOAS_UNMAP, U.iommu_ioas_unmap, { ioas_id: a.ioas, iova: big(a.iova), length: big(a.length) });
    return { rc: r.rc, length: r.out.length as bigint };
  }

  /** IOMMU_IOAS_UNMAP of (0, U64_MAX): everything; the bytes unmapped. */
  ioasUnmapAll(ioas: number): bigint {
    return this.ioasUnmap({ ioas, iova: 0n, length: (1n << 64n) - 1n });
  }

  private copyFields(a: IoasCopyArgs): Fields {
    const flags = a.flags ?? RW | (a.dstIova !== undefined ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
    return {
      flags,
      dst_ioas_id: a.dstIoas,
      src_ioas_id: a.srcIoas,
      length: big(a.length),
      dst_iova: big(a.dstIova ?? 0),
      src_iova: big(a.srcIova),
    };
  }

  private mapFileFields(a: IoasMapFileArgs): Fields {
    const flags = a.flags ?? RW | (a.iova !== undefined ? U.IOMMU_IOAS_MAP_FIXED_IOVA : 0);
    return { flags, ioas_id: a.ioas, fd: a.fd, start: big(a.start ?? 0), length: big(a.length), iova: big(a.iova ?? 0) };
  }

  /** IOMMU_IOAS_MAP_FILE (6.13): map `length` bytes of a memfd / dma-buf from `start`; the IOVA. */
  ioasMapFile(a: IoasMapFileArgs): bigint {
    return this.call('IOMMU_IOAS_MAP_FILE', U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, this.mapFileFields(a)).iova as bigint;
  }

  /** IOMMU_IOAS_MAP_FILE unchecked: rc and the IOVA written back. */
  ioasMapFileRaw(a: IoasMapFileArgs): { rc: number; iova: bigint } {
    const r = this.raw(U.IOMMU_IOAS_MAP_FILE, U.iommu_ioas_map_file, this.mapFileFields(a));
    return { rc: r.rc, iova: r.out.iova as bigint };
  }

  /** IOMMU_IOAS_CHANGE_PROCESS (6.14), unchecked: move every file pin and its accounting to the caller's mm. */
  changeProcessRaw(reserved = 0): number {
    return this.raw(U.IOMMU_IOAS_CHANGE_PROCESS, U.iommu_ioas_change_process, { __reserved: reserved }).rc;
  }

  /** IOMMU_IOAS_CHANGE_PROCESS */
  changeProcess(): void {
    check(this.changeProcessRaw(), 'IOMMU_IOAS_CHANGE_PROCESS');
  }

  /** IOMMU_IOAS_COPY: the destination IOVA. */
  ioasCopy(a: IoasCopyArgs): bigint {
    return this.call('IOMMU_IOAS_COPY', U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, this.copyFields(a)).dst_iova as bigint;
  }

  /** IOMMU_IOAS_COPY unchecked. */
  ioasCopyRaw(a: IoasCopyArgs): IoctlResult {
    return this.raw(U.IOMMU_IOAS_COPY, U.iommu_ioas_copy, this.copyFields(a));
  }

  /**
   * IOMMU_IOAS_IOVA_RANGES: the usable IOVA ranges and the IOVA alignment.
   * Asks again with a bigger array when the kernel says EMSGSIZE.
   */
  iovaRanges(ioas: number, capacity = 16): { ranges: IovaRange[]; alignment: bigint } {
    let cap = capacity;
    for (;;) {
      const ptr = this.scratch.get(Math.max(16, cap * 16));
      const r = this.raw(U.IOMMU_IOAS_IOVA_RANGES, U.iommu_ioas_iova_ranges, { ioas_id: ioas, num_iovas: cap, allowed_iovas: ptr });
      const n = r.out.num_iovas as number;
      if (r.rc === -EMSGSIZE && n > cap) {
        cap = n;
        continue;
      }
      check(r.rc, 'IOMMU_IOAS_IOVA_RANGES');
      const raw = this.scratch.read(n * 16);
      const ranges: IovaRange[] = [];
      for (let i = 0; i < n; i++) {
        const e = U.iommu_iova_range.decode(raw.subarray(i * 16, i * 16 + 16));
        ranges.push({ start: e.start as bigint, last: e.last as bigint });
      }
      return { ranges, alignment: r.out.out_iova_alignment as bigint };
    }
  }

  /** IOMMU_IOAS_ALLOW_IOVAS: replace the allowed list ([] clears it). */
  allowIovas(ioas: number, ranges: readonly IovaRange[]): void {
    const raw = new Uint8Array(Math.max(16, ranges.length * 16));
    ranges.forEach((r, i) => {
      U.iommu_iova_range.encode({ start: big(r.start), last: big(r.last) }, raw.subarray(i * 16, i * 16 + 16));
    });
    const ptr = this.scratch.write(raw);
    this.call('IOMMU_IOAS_ALLOW_IOVAS', U.IOMMU_IOAS_ALLOW_IOVAS, U.iommu_ioas_allow_iovas, { ioas_id: ioas, num_iovas: ranges.length, allowed_iovas: ptr });
  }

  /** IOMMU_OPTION: val64 after the call. */
  option(a: OptionArgs): bigint {
    return this.call('IOMMU_OPTION', U.IOMMU_OPTION, U.iommu_option, {
      option_id: a.optionId,
      op: a.op,
      object_id: a.objectId ?? 0,
      val64: big(a.val64 ?? 0),
    }).val64 as bigint;
  }

  /** IOMMU_OPTION_RLIMIT_MODE get: 0 user accounting, 1 mm accounting. */
  getRlimitMode(): number {
    return Number(this.option({ optionId: U.IOMMU_OPTION_RLIMIT_MODE, op: U.IOMMU_OPTION_OP_GET }));
  }

  setRlimitMode(mode: number): void {
    this.option({ optionId: U.IOMMU_OPTION_RLIMIT_MODE, op: U.IOMMU_OPTION_OP_SET, val64: mode });
  }

  /** IOMMU_OPTION_HUGE_PAGES get of one IOAS. */
  getHugePages(ioas: number): boolean {
    return this.option({ optionId: U.IOMMU_OPTION_HUGE_PAGES, op: U.IOMMU_OPTION_OP_GET, objectId: ioas }) === 1n;
  }

  setHugePages(ioas: number, on: boolean): void {
    this.option({ optionId: U.IOMMU_OPTION_HUGE_PAGES, op: U.IOMMU_OPTION_OP_SET, objectId: ioas, val64: on ? 1 : 0 });
  }

  /** IOMMU_VFIO_IOAS: ioas_id after the call. */
  vfioIoas(op: number, ioasId = 0): number {
    return this.call('IOMMU_VFIO_IOAS', U.IOMMU_VFIO_IOAS, U.iommu_vfio_ioas, { op, ioas_id: ioasId }).ioas_id as number;
  }

  vfioIoasGet(): number {
    return this.vfioIoas(U.IOMMU_VFIO_IOAS_GET);
  }

  vfioIoasSet(ioas: number): void {
    this.vfioIoas(U.IOMMU_VFIO_IOAS_SET, ioas);
  }

  vfioIoasClear(): void {
    this.vfioIoas(U.IOMMU_VFIO_IOAS_CLEAR);
  }

  // --- IOMMU_TEST_CMD --------------------------------------------------------

  /** The test command layout of the machine's kernel (56 bytes up to v6.6, 72 after). */
  get testCmdLayout(): U.StructLayout {
    return this.proc.machine.profile.testCmdDirtyUnion ? U.iommu_test_cmd : U.iommu_test_cmd_v6_5;
  }

  /** IOMMU_TEST_CMD unchecked: `fields` use the flattened union names (`check_map.iova`). */
  testCmd(op: number, id: number, fields: Fields = {}, opts?: RawOptions): IoctlResult {
    return this.raw(U.IOMMU_TEST_CMD, this.testCmdLayout, { op, id, ...fields }, opts);
  }

  private test(name: string, op: number, id: number, fields: Fields = {}): U.StructValue {
    const r = this.testCmd(op, id, fields);
    check(r.rc, name);
    return r.out;
  }

  /** IOMMU_TEST_OP_ADD_RESERVED: reserve [start, start + length - 1] in an IOAS. */
  addReserved(ioas: number, start: bigint | number, length: bigint | number): void {
    this.test('ADD_RESERVED', U.IOMMU_TEST_OP_ADD_RESERVED, ioas, { 'add_reserved.start': big(start), 'add_reserved.length': big(length) });
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN: a mock device attached to an IOAS or HWPT. */
  mockDomain(ptId: number): MockDomainIds {
    const o = this.test('MOCK_DOMAIN', U.IOMMU_TEST_OP_MOCK_DOMAIN, ptId);
    return {
      stdevId: o['mock_domain.out_stdev_id'] as number,
      hwptId: o['mock_domain.out_hwpt_id'] as number,
      idevId: o['mock_domain.out_idev_id'] as number,
    };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, unchecked: a mock device with MOCK_FLAGS_DEVICE_* flags attached to `ptId`. */
  mockDomainFlagsRaw(ptId: number, devFlags: number): { rc: number } & MockDomainIds {
    const r = this.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ptId, { 'mock_domain_flags.dev_flags': devFlags });
    return {
      rc: r.rc,
      stdevId: r.out['mock_domain_flags.out_stdev_id'] as number,
      hwptId: r.out['mock_domain_flags.out_hwpt_id'] as number,
      idevId: r.out['mock_domain_flags.out_idev_id'] as number,
    };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS */
  mockDomainFlags(ptId: number, devFlags: number): MockDomainIds {
    const r = this.mockDomainFlagsRaw(ptId, devFlags);
    check(r.rc, 'MOCK_DOMAIN_FLAGS');
    return { stdevId: r.stdevId, hwptId: r.hwptId, idevId: r.idevId };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, unchecked: rc and the pt_id written back (the HWPT an IOAS resolved to). */
  mockDomainReplaceRaw(stdevId: number, ptId: number): { rc: number; ptId: number } {
    const r = this.testCmd(U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdevId, { 'mock_domain_replace.pt_id': ptId });
    return { rc: r.rc, ptId: r.out['mock_domain_replace.pt_id'] as number };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: the HWPT now attached. */
  mockDomainReplace(stdevId: number, ptId: number): number {
    const r = this.mockDomainReplaceRaw(stdevId, ptId);
    check(r.rc, 'MOCK_DOMAIN_REPLACE');
    return r.ptId;
  }

  /** IOMMU_TEST_OP_MD_CHECK_MAP: the mock domain maps [iova, iova+length) to the memory behind uptr. */
  mdCheckMap(hwptId: number, iova: bigint | number, length: bigint | number, uptr: bigint | number): void {
    this.test('MD_CHECK_MAP', U.IOMMU_TEST_OP_MD_CHECK_MAP, hwptId, {
      'check_map.iova': big(iova),
      'check_map.length': big(length),
      'check_map.uptr': big(uptr),
    });
  }

  /** IOMMU_TEST_OP_MD_CHECK_REFS: every page of [uptr, uptr+length) has `refs` long-term pins. */
  mdCheckRefs(uptr: bigint | number, length: bigint | number, refs: number): void {
    this.test('MD_CHECK_REFS', U.IOMMU_TEST_OP_MD_CHECK_REFS, 0, {
      'check_refs.length': big(length),
      'check_refs.uptr': big(uptr),
      'check_refs.refs': refs,
    });
  }

  /** IOMMU_TEST_OP_CREATE_ACCESS: a new access fd on an IOAS. */
  createAccess(ioas: number, flags = 0): number {
    return this.test('CREATE_ACCESS', U.IOMMU_TEST_OP_CREATE_ACCESS, ioas, { 'create_access.flags': flags })['create_access.out_access_fd'] as number;
  }

  /** Close an access fd (test_cmd_destroy_access). */
  destroyAccess(accessFd: number): void {
    check(this.proc.close(accessFd), 'close (access)');
  }

  /** IOMMU_TEST_OP_ACCESS_PAGES: pin through an access; the item ID. */
  accessPages(accessFd: number, a: AccessPagesArgs): number {
    return this.test('ACCESS_PAGES', U.IOMMU_TEST_OP_ACCESS_PAGES, accessFd, {
      'access_pages.flags': a.flags ?? 0,
      'access_pages.iova': big(a.iova),
      'access_pages.length': big(a.length),
      'access_pages.uptr': big(a.uptr ?? 0),
    })['access_pages.out_access_pages_id'] as number;
  }

  /** IOMMU_TEST_OP_ACCESS_REPLACE_IOAS (6.6), unchecked: move the access behind `accessFd` to another IOAS. */
  accessReplaceIoasRaw(accessFd: number, ioasId: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, accessFd, { 'access_replace_ioas.ioas_id': ioasId }).rc;
  }

  /** IOMMU_TEST_OP_ACCESS_REPLACE_IOAS */
  accessReplaceIoas(accessFd: number, ioasId: number): void {
    check(this.accessReplaceIoasRaw(accessFd, ioasId), 'ACCESS_REPLACE_IOAS');
  }

  /** IOMMU_TEST_OP_DESTROY_ACCESS_PAGES */
  destroyAccessPages(accessFd: number, pagesId: number): void {
    this.test('DESTROY_ACCESS_PAGES', U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, accessFd, { 'destroy_access_pages.access_pages_id': pagesId });
  }

  /** IOMMU_TEST_OP_ACCESS_RW: copy between the IOAS at iova and user memory at uptr. */
  accessRw(accessFd: number, a: AccessRwArgs): void {
    this.test('ACCESS_RW', U.IOMMU_TEST_OP_ACCESS_RW, accessFd, {
      'access_rw.iova': big(a.iova),
      'access_rw.length': big(a.length),
      'access_rw.uptr': big(a.uptr),
      'access_rw.flags': a.flags ?? 0,
    });
  }

  /** IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT (machine-wide). */
  setTempMemoryLimit(limit: number): void {
    this.test('SET_TEMP_MEMORY_LIMIT', U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0, { 'memory_limit.limit': limit });
  }

  /** The default batch memory limit (test_ioctl_set_default_memory_limit). */
  setDefaultMemoryLimit(): void {
    this.setTempMemoryLimit(65536);
  }

  // --- HWPTs, hardware info, dirty tracking, invalidation, fault queues (6.6–6.12) ---

  private hwptAllocFields(a: HwptAllocArgs): Fields {
    return {
      flags: a.flags ?? 0,
      dev_id: a.devId,
      pt_id: a.ptId,
      data_type: a.dataType ?? U.IOMMU_HWPT_DATA_NONE,
      data_len: a.dataLen ?? 0,
      data_uptr: big(a.dataUptr ?? 0),
      fault_id: a.faultId ?? 0,
    };
  }

  /** IOMMU_HWPT_ALLOC, unchecked: rc and the out_hwpt_id written back. */
  hwptAllocRaw(a: HwptAllocArgs): { rc: number; hwptId: number } {
    const r = this.raw(U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, this.hwptAllocFields(a));
    return { rc: r.rc, hwptId: r.out.out_hwpt_id as number };
  }

  /** IOMMU_HWPT_ALLOC: the new HWPT's ID. */
  hwptAlloc(a: HwptAllocArgs): number {
    return this.call('IOMMU_HWPT_ALLOC', U.IOMMU_HWPT_ALLOC, U.iommu_hwpt_alloc, this.hwptAllocFields(a)).out_hwpt_id as number;
  }

  /**
   * IOMMU_HWPT_ALLOC of a nested HWPT with the selftest data
   * (struct iommu_hwpt_selftest {u32 iotlb}) placed in scratch memory.
   */
  hwptAllocNested(devId: number, parentId: number, iotlb: number, flags = 0, faultId = 0): number {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, iotlb, true);
    const uptr = this.scratch.write(data);
    return this.hwptAlloc({ devId, ptId: parentId, flags, faultId, dataType: U.IOMMU_HWPT_DATA_SELFTEST, dataLen: 4, dataUptr: uptr });
  }

  /** IOMMU_GET_HW_INFO, unchecked: rc and the output fields. */
  getHwInfoRaw(devId: number, dataUptr: bigint | number, dataLen: number, fields: Fields = {}): IoctlResult {
    return this.raw(U.IOMMU_GET_HW_INFO, U.iommu_hw_info, { dev_id: devId, data_uptr: big(dataUptr), data_len: dataLen, ...fields });
  }

  /** IOMMU_GET_HW_INFO: data type, driver data length, capabilities and PASID width. */
  getHwInfo(devId: number, dataUptr: bigint | number = 0, dataLen = 0): HwInfo {
    const r = this.getHwInfoRaw(devId, dataUptr, dataLen);
    check(r.rc, 'IOMMU_GET_HW_INFO');
    return {
      dataType: r.out.out_data_type as number,
      dataLen: r.out.data_len as number,
      capabilities: r.out.out_capabilities as bigint,
      maxPasidLog2: r.out.out_max_pasid_log2 as number,
    };
  }

  /** IOMMU_HWPT_SET_DIRTY_TRACKING, unchecked. */
  setDirtyTrackingRaw(hwptId: number, flags: number): number {
    return this.raw(U.IOMMU_HWPT_SET_DIRTY_TRACKING, U.iommu_hwpt_set_dirty_tracking, { hwpt_id: hwptId, flags }).rc;
  }

  /** IOMMU_HWPT_SET_DIRTY_TRACKING on or off. */
  setDirtyTracking(hwptId: number, enable: boolean): void {
    check(this.setDirtyTrackingRaw(hwptId, enable ? U.IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0), 'IOMMU_HWPT_SET_DIRTY_TRACKING');
  }

  /** IOMMU_HWPT_GET_DIRTY_BITMAP, unchecked (the bitmap is at `data` in the process's memory). */
  getDirtyBitmapRaw(a: DirtyBitmapArgs): number {
    return this.raw(U.IOMMU_HWPT_GET_DIRTY_BITMAP, U.iommu_hwpt_get_dirty_bitmap, {
      hwpt_id: a.hwptId,
      flags: a.flags ?? 0,
      iova: big(a.iova),
      length: big(a.length),
      page_size: big(a.pageSize),
      data: big(a.data),
    }).rc;
  }

  /** IOMMU_HWPT_GET_DIRTY_BITMAP */
  getDirtyBitmap(a: DirtyBitmapArgs): void {
    check(this.getDirtyBitmapRaw(a), 'IOMMU_HWPT_GET_DIRTY_BITMAP');
  }

  /** IOMMU_HWPT_INVALIDATE, unchecked: rc and the entry_num written back. */
  hwptInvalidateRaw(hwptId: number, dataUptr: bigint | number, dataType: number, entryLen: number, entryNum: number): { rc: number; entryNum: number } {
    const r = this.raw(U.IOMMU_HWPT_INVALIDATE, U.iommu_hwpt_invalidate, {
      hwpt_id: hwptId,
      data_uptr: big(dataUptr),
      data_type: dataType,
      entry_len: entryLen,
      entry_num: entryNum,
    });
    return { rc: r.rc, entryNum: r.out.entry_num as number };
  }

  /** IOMMU_HWPT_INVALIDATE of a HWPT or vIOMMU; throws on failure (entry_num tells how far it got). */
  hwptInvalidate(hwptId: number, dataUptr: bigint | number, dataType: number, entryLen: number, entryNum: number): number {
    const r = this.hwptInvalidateRaw(hwptId, dataUptr, dataType, entryLen, entryNum);
    check(r.rc, 'IOMMU_HWPT_INVALIDATE');
    return r.entryNum;
  }

  /**
   * IOMMU_VIOMMU_ALLOC, unchecked. With `inData` the selftest driver's
   * struct iommu_viommu_selftest goes along (data_len 24) and comes back as
   * out_data / out_mmap_offset / out_mmap_length.
   */
  viommuAllocRaw(
    a: { devId: number; hwptId: number; type?: number; flags?: number; inData?: number; dataLen?: number; dataUptr?: bigint },
  ): { rc: number; viommuId: number; outData?: number; mmapOffset?: bigint; mmapLength?: bigint } {
    let uptr = a.dataUptr ?? 0n;
    let len = a.dataLen ?? 0;
    if (a.inData !== undefined) {
      const d = new Uint8Array(24);
      new DataView(d.buffer).setUint32(0, a.inData >>> 0, true);
      uptr = this.scratch.write(d);
      len = a.dataLen ?? 24;
    }
    const r = this.raw(U.IOMMU_VIOMMU_ALLOC, U.iommu_viommu_alloc, {
      flags: a.flags ?? 0,
      type: a.type ?? U.IOMMU_VIOMMU_TYPE_SELFTEST,
      dev_id: a.devId,
      hwpt_id: a.hwptId,
      data_len: len,
      data_uptr: uptr,
    });
    const out: { rc: number; viommuId: number; outData?: number; mmapOffset?: bigint; mmapLength?: bigint } = { rc: r.rc, viommuId: r.out.out_viommu_id as number };
    if (a.inData !== undefined && r.rc === 0) {
      const b = new Uint8Array(24);
      if (this.proc.readMemory(uptr, b) === 0) {
        const dv = new DataView(b.buffer);
        out.outData = dv.getUint32(4, true);
        out.mmapOffset = dv.getBigUint64(8, true);
        out.mmapLength = dv.getBigUint64(16, true);
      }
    }
    return out;
  }

  /** IOMMU_VIOMMU_ALLOC of the selftest type on a NEST_PARENT HWPT: the vIOMMU ID. */
  viommuAlloc(devId: number, hwptId: number): number {
    const r = this.viommuAllocRaw({ devId, hwptId });
    check(r.rc, 'IOMMU_VIOMMU_ALLOC');
    return r.viommuId;
  }

  /** IOMMU_VDEVICE_ALLOC, unchecked. */
  vdeviceAllocRaw(viommuId: number, devId: number, virtId: bigint | number): { rc: number; vdeviceId: number } {
    const r = this.raw(U.IOMMU_VDEVICE_ALLOC, U.iommu_vdevice_alloc, { viommu_id: viommuId, dev_id: devId, virt_id: big(virtId) });
    return { rc: r.rc, vdeviceId: r.out.out_vdevice_id as number };
  }

  /** IOMMU_VDEVICE_ALLOC: the vDEVICE ID. */
  vdeviceAlloc(viommuId: number, devId: number, virtId: bigint | number): number {
    const r = this.vdeviceAllocRaw(viommuId, devId, virtId);
    check(r.rc, 'IOMMU_VDEVICE_ALLOC');
    return r.vdeviceId;
  }

  /** IOMMU_FAULT_QUEUE_ALLOC, unchecked. */
  faultQueueAllocRaw(flags = 0): { rc: number; faultId: number; faultFd: number } {
    const r = this.raw(U.IOMMU_FAULT_QUEUE_ALLOC, U.iommu_fault_alloc, { flags });
    return { rc: r.rc, faultId: r.out.out_fault_id as number, faultFd: r.out.out_fault_fd as number };
  }

  /** IOMMU_FAULT_QUEUE_ALLOC: the FAULT object's ID and its fd. */
  faultQueueAlloc(): { faultId: number; faultFd: number } {
    const r = this.faultQueueAllocRaw();
    check(r.rc, 'IOMMU_FAULT_QUEUE_ALLOC');
    return { faultId: r.faultId, faultFd: r.faultFd };
  }

  /** IOMMU_VEVENTQ_ALLOC (6.15), unchecked: rc, the vEVENTQ's ID and its fd. */
  veventqAllocRaw(viommuId: number, type: number, depth: number, flags = 0): { rc: number; id: number; fd: number } {
    const r = this.raw(U.IOMMU_VEVENTQ_ALLOC, U.iommu_veventq_alloc, { flags, viommu_id: viommuId, type, veventq_depth: depth });
    return { rc: r.rc, id: r.out.out_veventq_id as number, fd: r.out.out_veventq_fd as number };
  }

  /** IOMMU_VEVENTQ_ALLOC: the vEVENTQ's ID and the fd its events are read from. */
  veventqAlloc(viommuId: number, type: number, depth: number): { id: number; fd: number } {
    const r = this.veventqAllocRaw(viommuId, type, depth);
    check(r.rc, 'IOMMU_VEVENTQ_ALLOC');
    return { id: r.id, fd: r.fd };
  }

  /** IOMMU_HW_QUEUE_ALLOC (6.17), unchecked: rc and the HW queue's ID. */
  hwQueueAllocRaw(a: HwQueueAllocArgs): { rc: number; id: number } {
    const r = this.raw(U.IOMMU_HW_QUEUE_ALLOC, U.iommu_hw_queue_alloc, {
      flags: a.flags ?? 0,
      viommu_id: a.viommuId,
      type: a.type ?? U.IOMMU_HW_QUEUE_TYPE_SELFTEST,
      index: a.index,
      nesting_parent_iova: big(a.iova),
      length: big(a.length),
    });
    return { rc: r.rc, id: r.out.out_hw_queue_id as number };
  }

  /** IOMMU_HW_QUEUE_ALLOC: the HW queue's ID. */
  hwQueueAlloc(a: HwQueueAllocArgs): number {
    const r = this.hwQueueAllocRaw(a);
    check(r.rc, 'IOMMU_HW_QUEUE_ALLOC');
    return r.id;
  }

  /** IOMMU_TEST_OP_TRIGGER_VEVENT, unchecked: the mock vIOMMU reports an event of the device's vDEVICE. */
  triggerVeventRaw(devId: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_TRIGGER_VEVENT, 0, { 'trigger_vevent.dev_id': devId }).rc;
  }

  /** IOMMU_TEST_OP_TRIGGER_VEVENT */
  triggerVevent(devId: number): void {
    check(this.triggerVeventRaw(devId), 'IOMMU_TEST_OP_TRIGGER_VEVENT');
  }

  /** IOMMU_TEST_OP_PASID_ATTACH, unchecked: attach `pasid` of mock device `stdevId` to an IOAS or HWPT. */
  pasidAttachRaw(stdevId: number, pasid: number, ptId: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_PASID_ATTACH, stdevId, { 'pasid_attach.pasid': pasid, 'pasid_attach.pt_id': ptId }).rc;
  }

  pasidAttach(stdevId: number, pasid: number, ptId: number): void {
    check(this.pasidAttachRaw(stdevId, pasid, ptId), 'IOMMU_TEST_OP_PASID_ATTACH');
  }

  /** IOMMU_TEST_OP_PASID_REPLACE, unchecked. */
  pasidReplaceRaw(stdevId: number, pasid: number, ptId: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_PASID_REPLACE, stdevId, { 'pasid_replace.pasid': pasid, 'pasid_replace.pt_id': ptId }).rc;
  }

  pasidReplace(stdevId: number, pasid: number, ptId: number): void {
    check(this.pasidReplaceRaw(stdevId, pasid, ptId), 'IOMMU_TEST_OP_PASID_REPLACE');
  }

  /** IOMMU_TEST_OP_PASID_DETACH, unchecked. */
  pasidDetachRaw(stdevId: number, pasid: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_PASID_DETACH, stdevId, { 'pasid_detach.pasid': pasid }).rc;
  }

  pasidDetach(stdevId: number, pasid: number): void {
    check(this.pasidDetachRaw(stdevId, pasid), 'IOMMU_TEST_OP_PASID_DETACH');
  }

  /** IOMMU_TEST_OP_PASID_CHECK_HWPT, unchecked: 0 when `pasid` is attached to `hwptId` (0: to nothing), else -EINVAL. */
  pasidCheckHwptRaw(stdevId: number, pasid: number, hwptId: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_PASID_CHECK_HWPT, stdevId, { 'pasid_check.pasid': pasid, 'pasid_check.hwpt_id': hwptId }).rc;
  }

  pasidCheckHwpt(stdevId: number, pasid: number, hwptId: number): void {
    check(this.pasidCheckHwptRaw(stdevId, pasid, hwptId), 'IOMMU_TEST_OP_PASID_CHECK_HWPT');
  }

  /** IOMMU_TEST_OP_DMABUF_GET (6.19), unchecked: the new dma-buf's fd, or -errno. */
  dmabufGetRaw(length: number, openFlags = 0): number {
    return this.testCmd(U.IOMMU_TEST_OP_DMABUF_GET, 0, { 'dmabuf_get.length': length, 'dmabuf_get.open_flags': openFlags }).rc;
  }

  /** IOMMU_TEST_OP_DMABUF_GET: a selftest dma-buf of `length` bytes; its fd. */
  dmabufGet(length: number, openFlags = 0): number {
    return check(this.dmabufGetRaw(length, openFlags), 'IOMMU_TEST_OP_DMABUF_GET');
  }

  /** IOMMU_TEST_OP_DMABUF_REVOKE, unchecked. */
  dmabufRevokeRaw(dmabufFd: number, revoked: boolean): number {
    return this.testCmd(U.IOMMU_TEST_OP_DMABUF_REVOKE, 0, { 'dmabuf_revoke.dmabuf_fd': dmabufFd, 'dmabuf_revoke.revoked': revoked ? 1 : 0 }).rc;
  }

  /** IOMMU_TEST_OP_DMABUF_REVOKE: set or clear the revoked flag. */
  dmabufRevoke(dmabufFd: number, revoked: boolean): void {
    check(this.dmabufRevokeRaw(dmabufFd, revoked), 'IOMMU_TEST_OP_DMABUF_REVOKE');
  }

  /** IOMMU_TEST_OP_DIRTY: mark dirty the IOPTEs whose bits are set in the bitmap at `uptr`; the count marked. */
  mockDomainSetDirty(hwptId: number, iova: bigint | number, length: bigint | number, pageSize: bigint | number, uptr: bigint | number): bigint {
    const o = this.test('DIRTY', U.IOMMU_TEST_OP_DIRTY, hwptId, {
      'dirty.iova': big(iova),
      'dirty.length': big(length),
      'dirty.page_size': big(pageSize),
      'dirty.uptr': big(uptr),
    });
    return o['dirty.out_nr_dirty'] as bigint;
  }

  /** IOMMU_TEST_OP_MD_CHECK_IOTLB, unchecked: entry `iotlbId` of a nested mock domain holds `iotlb`. */
  checkIotlbRc(hwptId: number, iotlbId: number, iotlb: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_MD_CHECK_IOTLB, hwptId, { 'check_iotlb.id': iotlbId, 'check_iotlb.iotlb': iotlb }).rc;
  }

  /** IOMMU_TEST_OP_DEV_CHECK_CACHE, unchecked: entry `cacheId` of the mock device's cache holds `cache`. */
  checkDevCacheRc(idevId: number, cacheId: number, cache: number): number {
    return this.testCmd(U.IOMMU_TEST_OP_DEV_CHECK_CACHE, idevId, { 'check_dev_cache.id': cacheId, 'check_dev_cache.cache': cache }).rc;
  }

  /** test_cmd_dev_check_cache_all: every entry of the mock device's cache holds `cache` (throws otherwise). */
  checkDevCacheAll(idevId: number, cache: number): void {
    for (let k = 0; k < U.MOCK_DEV_CACHE_NUM; k++) check(this.checkDevCacheRc(idevId, k, cache), 'IOMMU_TEST_OP_DEV_CHECK_CACHE');
  }

  /** IOMMU_TEST_OP_TRIGGER_IOPF, unchecked. */
  triggerIopfRc(devId: number, f: { pasid: number; grpid: number; perm: number; addr: bigint | number }): number {
    return this.testCmd(U.IOMMU_TEST_OP_TRIGGER_IOPF, 0, {
      'trigger_iopf.dev_id': devId,
      'trigger_iopf.pasid': f.pasid,
      'trigger_iopf.grpid': f.grpid,
      'trigger_iopf.perm': f.perm,
      'trigger_iopf.addr': big(f.addr),
    }).rc;
  }
}

/** The errno a call fails with (0 when it succeeds): for `expect(errnoOf(() => ...)).toBe(EINVAL)`. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof ErrnoError) return e.errno;
    throw e;
  }
}
