// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import * as U from '../../src/iommufd/uapi.js';
import type { StructLayout } from '../../src/iommufd/uapi.js';

describe('ioctl numbers', () => {
  it('encodes _IO and the iommufd commands as 0x3b00 | nr', () => {
    expect(U.IOMMUFD_TYPE).toBe(0x3b);
    expect(U.IOMMUFD_CMD_BASE).toBe(0x80);
    const expected: Array<[number, number]> = [
      [U.IOMMU_DESTROY, 0x3b80],
      [U.IOMMU_IOAS_ALLOC, 0x3b81],
      [U.IOMMU_IOAS_ALLOW_IOVAS, 0x3b82],
      [U.IOMMU_IOAS_COPY, 0x3b83],
      [U.IOMMU_IOAS_IOVA_RANGES, 0x3b84],
      [U.IOMMU_IOAS_MAP, 0x3b85],
      [U.IOMMU_IOAS_UNMAP, 0x3b86],
      [U.IOMMU_OPTION, 0x3b87],
      [U.IOMMU_VFIO_IOAS, 0x3b88],
      [U.IOMMU_HWPT_ALLOC, 0x3b89],
      [U.IOMMU_GET_HW_INFO, 0x3b8a],
      [U.IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b8b],
      [U.IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b8c],
      [U.IOMMU_HWPT_INVALIDATE, 0x3b8d],
      [U.IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e],
      [U.IOMMU_IOAS_MAP_FILE, 0x3b8f],
      [U.IOMMU_VIOMMU_ALLOC, 0x3b90],
      [U.IOMMU_VDEVICE_ALLOC, 0x3b91],
      [U.IOMMU_IOAS_CHANGE_PROCESS, 0x3b92],
      [U.IOMMU_VEVENTQ_ALLOC, 0x3b93],
      [U.IOMMU_HW_QUEUE_ALLOC, 0x3b94],
      [U.IOMMU_TEST_CMD, 0x3ba0],
    ];
    for (const [got, want] of expected) expect(got).toBe(want);
  });

  it('encodes the VFIO type1 commands from VFIO_BASE 100', () => {
    expect(U.VFIO_TYPE).toBe(0x3b);
    expect(U.VFIO_BASE).toBe(100);
    expect(U.VFIO_GET_API_VERSION).toBe(0x3b64);
    expect(U.VFIO_CHECK_EXTENSION).toBe(0x3b65);
    expect(U.VFIO_SET_IOMMU).toBe(0x3b66);
    expect(U.VFIO_IOMMU_GET_INFO).toBe(0x3b70);
    expect(U.VFIO_IOMMU_MAP_DMA).toBe(0x3b71);
    expect(U.VFIO_IOMMU_UNMAP_DMA).toBe(0x3b72);
    expect(U.VFIO_IOMMU_DIRTY_PAGES).toBe(0x3b75);
    expect([U.VFIO_TYPE1_IOMMU, U.VFIO_TYPE1v2_IOMMU, U.VFIO_DMA_CC_IOMMU, U.VFIO_UNMAP_ALL, U.VFIO_UPDATE_VADDR]).toEqual([
      1, 3, 4, 9, 10,
    ]);
    expect([U.VFIO_DMA_MAP_FLAG_READ, U.VFIO_DMA_MAP_FLAG_WRITE, U.VFIO_DMA_MAP_FLAG_VADDR]).toEqual([1, 2, 4]);
    expect([U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, U.VFIO_DMA_UNMAP_FLAG_ALL, U.VFIO_DMA_UNMAP_FLAG_VADDR]).toEqual([1, 2, 4]);
    expect([U.VFIO_IOMMU_INFO_PGSIZES, U.VFIO_IOMMU_INFO_CAPS]).toEqual([1, 2]);
    expect([
      U.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
      U.VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
      U.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
    ]).toEqual([1, 2, 3]);
  });

  it('has the flag and op values of the headers', () => {
    expect([U.IOMMU_IOAS_MAP_FIXED_IOVA, U.IOMMU_IOAS_MAP_WRITEABLE, U.IOMMU_IOAS_MAP_READABLE]).toEqual([1, 2, 4]);
    expect([U.IOMMU_OPTION_RLIMIT_MODE, U.IOMMU_OPTION_HUGE_PAGES, U.IOMMU_OPTION_OP_SET, U.IOMMU_OPTION_OP_GET]).toEqual([
      0, 1, 0, 1,
    ]);
    expect([U.IOMMU_VFIO_IOAS_GET, U.IOMMU_VFIO_IOAS_SET, U.IOMMU_VFIO_IOAS_CLEAR]).toEqual([0, 1, 2]);
    const ops = [
      U.IOMMU_TEST_OP_ADD_RESERVED,
      U.IOMMU_TEST_OP_MOCK_DOMAIN,
      U.IOMMU_TEST_OP_MD_CHECK_MAP,
      U.IOMMU_TEST_OP_MD_CHECK_REFS,
      U.IOMMU_TEST_OP_CREATE_ACCESS,
      U.IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
      U.IOMMU_TEST_OP_ACCESS_PAGES,
      U.IOMMU_TEST_OP_ACCESS_RW,
      U.IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
      U.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
      U.IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
      U.IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
      U.IOMMU_TEST_OP_DIRTY,
      U.IOMMU_TEST_OP_MD_CHECK_IOTLB,
      U.IOMMU_TEST_OP_TRIGGER_IOPF,
      U.IOMMU_TEST_OP_DEV_CHECK_CACHE,
      U.IOMMU_TEST_OP_TRIGGER_VEVENT,
      U.IOMMU_TEST_OP_PASID_ATTACH,
      U.IOMMU_TEST_OP_PASID_REPLACE,
      U.IOMMU_TEST_OP_PASID_DETACH,
      U.IOMMU_TEST_OP_PASID_CHECK_HWPT,
      U.IOMMU_TEST_OP_DMABUF_GET,
      U.IOMMU_TEST_OP_DMABUF_REVOKE,
    ];
    expect(ops).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect([U.MOCK_FLAGS_ACCESS_WRITE, U.MOCK_FLAGS_ACCESS_SYZ]).toEqual([1, 0x10000]);
    expect([U.MOCK_ACCESS_RW_WRITE, U.MOCK_ACCESS_RW_SLOW_PATH]).toEqual([1, 4]);
    expect(U.MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES).toBe(1);
    expect([U.MOCK_FLAGS_DEVICE_NO_DIRTY, U.MOCK_FLAGS_DEVICE_HUGE_IOVA, U.MOCK_FLAGS_DEVICE_PASID]).toEqual([1, 2, 4]);
    expect([U.MOCK_APERTURE_START, U.MOCK_APERTURE_LAST]).toEqual([0x1000000, 0x7fffffff]);
  });

  it('splits and builds numbers with the _IOC helpers', () => {
    const w = U.IOW(0x3b, 0x80, 8);
    expect(w).toBe(0x40083b80);
    expect(U.iocDir(w)).toBe(U.IOC_WRITE);
    expect(U.iocSize(w)).toBe(8);
    expect(U.iocType(w)).toBe(0x3b);
    expect(U.iocNr(w)).toBe(0x80);
    expect(U.IOWR(0x3b, 0x85, 40)).toBe(0xc0283b85);
    expect(U.IOR(0x3b, 1, 4)).toBe(0x80043b01);
  });
});

/** [struct, sizeof, min size, { field: offset }] as read from the kernel headers. */
type Expect = [StructLayout, number, number, Record<string, number>];

const IOMMUFD_STRUCTS: Expect[] = [
  [U.iommu_destroy, 8, 8, { size: 0, id: 4 }],
  [U.iommu_ioas_alloc, 12, 12, { size: 0, flags: 4, out_ioas_id: 8 }],
  [U.iommu_iova_range, 16, 16, { start: 0, last: 8 }],
  [U.iommu_ioas_allow_iovas, 24, 24, { ioas_id: 4, num_iovas: 8, __reserved: 12, allowed_iovas: 16 }],
  [U.iommu_ioas_copy, 40, 40, { flags: 4, dst_ioas_id: 8, src_ioas_id: 12, length: 16, dst_iova: 24, src_iova: 32 }],
  [
    U.iommu_ioas_iova_ranges,
    32,
    32,
    { ioas_id: 4, num_iovas: 8, __reserved: 12, allowed_iovas: 16, out_iova_alignment: 24 },
  ],
  [U.iommu_ioas_map, 40, 40, { flags: 4, ioas_id: 8, __reserved: 12, user_va: 16, length: 24, iova: 32 }],
  [U.iommu_ioas_unmap, 24, 24, { ioas_id: 4, iova: 8, length: 16 }],
  [U.iommu_option, 24, 24, { option_id: 4, op: 8, __reserved: 10, object_id: 12, val64: 16 }],
  [U.iommu_vfio_ioas, 12, 12, { ioas_id: 4, op: 8, __reserved: 10 }],
  [
    U.iommu_hwpt_alloc,
    48,
    24,
    { dev_id: 8, pt_id: 12, out_hwpt_id: 16, __reserved: 20, data_type: 24, data_len: 28, data_uptr: 32, fault_id: 40, __reserved2: 44 },
  ],
  [
    U.iommu_hw_info,
    40,
    32,
    {
      dev_id: 8,
      data_len: 12,
      data_uptr: 16,
      in_data_type: 24,
      out_data_type: 24,
      out_max_pasid_log2: 28,
      '__reserved[0]': 29,
      '__reserved[2]': 31,
      out_capabilities: 32,
    },
  ],
  [U.iommu_hwpt_set_dirty_tracking, 16, 16, { flags: 4, hwpt_id: 8, __reserved: 12 }],
  [U.iommu_hwpt_get_dirty_bitmap, 48, 48, { hwpt_id: 4, flags: 8, __reserved: 12, iova: 16, length: 24, page_size: 32, data: 40 }],
  [U.iommu_hwpt_invalidate, 32, 32, { hwpt_id: 4, data_uptr: 8, data_type: 16, entry_len: 20, entry_num: 24, __reserved: 28 }],
  [U.iommu_fault_alloc, 16, 16, { flags: 4, out_fault_id: 8, out_fault_fd: 12 }],
  [U.iommu_hwpt_pgfault, 40, 40, { flags: 0, dev_id: 4, pasid: 8, grpid: 12, perm: 16, __reserved: 20, addr: 24, length: 32, cookie: 36 }],
  [U.iommu_hwpt_page_response, 8, 8, { cookie: 0, code: 4 }],
  [U.iommu_test_hw_info, 8, 8, { flags: 0, test_reg: 4 }],
  [U.iommu_hwpt_selftest, 4, 4, { iotlb: 0 }],
  [U.iommu_hwpt_invalidate_selftest, 8, 8, { flags: 0, iotlb_id: 4 }],
  [U.iommu_ioas_map_file, 40, 40, { flags: 4, ioas_id: 8, fd: 12, start: 16, length: 24, iova: 32 }],
  [U.iommu_viommu_alloc, 40, 24, { type: 8, dev_id: 12, hwpt_id: 16, out_viommu_id: 20, data_len: 24, __reserved: 28, data_uptr: 32 }],
  [U.iommu_vdevice_alloc, 24, 24, { viommu_id: 4, dev_id: 8, out_vdevice_id: 12, virt_id: 16 }],
  [U.iommu_ioas_change_process, 8, 8, { __reserved: 4 }],
  [U.iommu_veventq_alloc, 32, 28, { viommu_id: 8, type: 12, veventq_depth: 16, out_veventq_id: 20, out_veventq_fd: 24, __reserved: 28 }],
  [U.iommu_hw_queue_alloc, 40, 40, { viommu_id: 8, type: 12, index: 16, out_hw_queue_id: 20, nesting_parent_iova: 24, length: 32 }],
];

const TEST_CMD_OFFSETS: Record<string, number> = {
  size: 0,
  op: 4,
  id: 8,
  __reserved: 12,
  'add_reserved.start': 16,
  'add_reserved.length': 24,
  'mock_domain.out_stdev_id': 16,
  'mock_domain.out_hwpt_id': 20,
  'mock_domain.out_idev_id': 24,
  'mock_domain_flags.dev_flags': 28,
  'mock_domain_replace.pt_id': 16,
  'check_map.iova': 16,
  'check_map.length': 24,
  'check_map.uptr': 32,
  'check_refs.length': 16,
  'check_refs.uptr': 24,
  'check_refs.refs': 32,
  'create_access.out_access_fd': 16,
  'create_access.flags': 20,
  'destroy_access_pages.access_pages_id': 16,
  'access_pages.flags': 16,
  'access_pages.out_access_pages_id': 20,
  'access_pages.iova': 24,
  'access_pages.length': 32,
  'access_pages.uptr': 40,
  'access_rw.iova': 16,
  'access_rw.length': 24,
  'access_rw.uptr': 32,
  'access_rw.flags': 40,
  'memory_limit.limit': 16,
  'access_replace_ioas.ioas_id': 16,
  'dirty.flags': 16,
  'dirty.iova': 24,
  'dirty.length': 32,
  'dirty.page_size': 40,
  'dirty.uptr': 48,
  'dirty.out_nr_dirty': 56,
  'check_iotlb.id': 16,
  'check_iotlb.iotlb': 20,
  'trigger_iopf.dev_id': 16,
  'trigger_iopf.perm': 28,
  'trigger_iopf.addr': 32,
  'check_dev_cache.cache': 20,
  'trigger_vevent.dev_id': 16,
  'pasid_attach.pt_id': 20,
  'pasid_check.hwpt_id': 20,
  'dmabuf_get.open_flags': 20,
  'dmabuf_revoke.dmabuf_fd': 16,
  'dmabuf_revoke.revoked': 20,
  last: 64,
};

const VFIO_STRUCTS: Expect[] = [
  [U.vfio_info_cap_header, 8, 8, { id: 0, version: 2, next: 4 }],
  [U.vfio_iommu_type1_info, 24, 16, { argsz: 0, flags: 4, iova_pgsizes: 8, cap_offset: 16, pad: 20 }],
  [U.vfio_iova_range, 16, 16, { start: 0, end: 8 }],
  [U.vfio_iommu_type1_info_cap_iova_range, 16, 16, { 'header.id': 0, 'header.next': 4, nr_iovas: 8, reserved: 12 }],
  [U.vfio_iommu_type1_info_cap_migration, 32, 32, { flags: 8, pgsize_bitmap: 16, max_dirty_bitmap_size: 24 }],
  [U.vfio_iommu_type1_info_dma_avail, 12, 12, { 'header.version': 2, avail: 8 }],
  [U.vfio_iommu_type1_dma_map, 32, 32, { argsz: 0, flags: 4, vaddr: 8, iova: 16, size: 24 }],
  [U.vfio_iommu_type1_dma_unmap, 24, 24, { argsz: 0, flags: 4, iova: 8, size: 16 }],
  [U.vfio_bitmap, 24, 24, { pgsize: 0, size: 8, data: 16 }],
];

function checkStruct([s, size, min, offsets]: Expect): void {
  expect(s.size, `${s.name} size`).toBe(size);
  expect(s.minSize, `${s.name} minSize`).toBe(min);
  for (const [f, off] of Object.entries(offsets)) expect(s.offsetOf(f), `${s.name}.${f}`).toBe(off);
}

describe('struct layouts', () => {
  it.each(IOMMUFD_STRUCTS.map((e) => [e[0].name, e] as const))('%s matches iommufd.h', (_n, e) => checkStruct(e));

  it('iommu_test_cmd: union of 48 bytes at 16, last at 64, size 72, min 68', () => {
    checkStruct([U.iommu_test_cmd, 72, 68, TEST_CMD_OFFSETS]);
    expect(U.iommu_test_cmd.field('dmabuf_revoke.dmabuf_fd').type).toBe('s32');
  });

  it('iommu_test_cmd v6.5: union of 32 bytes, last at 48, size 56, min 52', () => {
    checkStruct([
      U.iommu_test_cmd_v6_5,
      56,
      52,
      { 'access_pages.uptr': 40, 'access_rw.flags': 40, 'mock_domain.out_idev_id': 24, last: 48 },
    ]);
    expect(U.iommu_test_cmd_v6_5.has('dirty.iova')).toBe(false);
  });

  it.each(VFIO_STRUCTS.map((e) => [e[0].name, e] as const))('%s matches vfio.h', (_n, e) => checkStruct(e));

  it('minSize of each v6.5 command equals its sizeof (cmd_length uses both)', () => {
    for (const op of U.IOMMUFD_V6_5_IOCTL_OPS) expect(op.minSize, op.name).toBe(op.size);
  });
});

describe('decode / encode', () => {
  it('round-trips u64 as bigint and the narrow types as number', () => {
    const buf = U.iommu_ioas_map.encode({
      size: 40,
      flags: U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE,
      ioas_id: 7,
      user_va: 0x7f00_0000_1000n,
      length: 1n << 30n,
      iova: 0xffff_ffff_ffff_f000n,
    });
    expect(buf.length).toBe(40);
    expect(U.iommu_ioas_map.decode(buf)).toEqual({
      size: 40,
      flags: 6,
      ioas_id: 7,
      __reserved: 0,
      user_va: 0x7f00_0000_1000n,
      length: 1n << 30n,
      iova: 0xffff_ffff_ffff_f000n,
    });
    // little-endian bytes
    expect([...buf.subarray(16, 24)]).toEqual([0x00, 0x10, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00]);
  });

  it('reads bytes past len as zero, including a field cut in half', () => {
    const buf = new Uint8Array(40).fill(0xff);
    const v = U.iommu_ioas_map.decode(buf, 20);
    expect(v['ioas_id']).toBe(0xffffffff);
    expect(v['user_va']).toBe(0xffffffffn);
    expect(v['length']).toBe(0n);
    expect(v['iova']).toBe(0n);
    expect(U.iommu_ioas_map.readField(buf, 'flags', 5)).toBe(0xff);
  });

  it('writeField truncates like a C assignment', () => {
    const buf = new Uint8Array(U.iommu_option.size);
    U.iommu_option.writeField(buf, 'op', 0x12345);
    U.iommu_option.writeField(buf, 'object_id', -1);
    U.iommu_option.writeField(buf, 'val64', -1n);
    U.iommu_option.writeField(buf, 'option_id', 1n << 40n);
    const v = U.iommu_option.decode(buf);
    expect(v['op']).toBe(0x2345);
    expect(v['object_id']).toBe(0xffffffff);
    expect(v['val64']).toBe((1n << 64n) - 1n);
    expect(v['option_id']).toBe(0);
  });

  it('decodes s32 with sign and expands arrays', () => {
    const f = U.iommu_ioas_map_file.encode({ fd: -1 });
    expect(U.iommu_ioas_map_file.decode(f)['fd']).toBe(-1);
    const h = U.iommu_hw_info.encode({ '__reserved[1]': 9, out_data_type: 3 });
    const hv = U.iommu_hw_info.decode(h);
    expect(hv['__reserved[1]']).toBe(9);
    expect(hv['in_data_type']).toBe(3);
  });

  it('encode leaves absent fields alone and rejects unknown ones', () => {
    const buf = new Uint8Array(U.iommu_test_cmd.size).fill(0xaa);
    U.iommu_test_cmd.encode({ 'mock_domain.out_stdev_id': 5 }, buf);
    expect(U.iommu_test_cmd.readField(buf, 'mock_domain.out_stdev_id')).toBe(5);
    expect(U.iommu_test_cmd.readField(buf, 'mock_domain.out_hwpt_id')).toBe(0xaaaaaaaa);
    expect(() => U.iommu_destroy.encode({ idd: 1 })).toThrow(/no field idd/);
  });
});

describe('ioctl op table', () => {
  it('lists every op in slot order with the struct min and current sizes', () => {
    const nrs = U.IOMMUFD_IOCTL_OPS.map((o) => o.nr);
    expect(nrs).toEqual([...nrs].sort((a, b) => a - b));
    expect(nrs).toEqual([...Array.from({ length: 0x15 }, (_, i) => 0x80 + i), 0xa0]);
    for (const o of U.IOMMUFD_IOCTL_OPS) {
      expect(o.cmd, o.name).toBe(U.IO(0x3b, o.nr));
      expect(o.minSize).toBe(o.struct.minSize);
      expect(o.size).toBe(o.struct.size);
    }
    const t = U.ioctlOpByName('IOMMU_TEST_CMD');
    expect([t.minSize, t.size, t.testOnly]).toEqual([68, 72, true]);
    expect([U.IOMMU_TEST_CMD_OP_V6_5.minSize, U.IOMMU_TEST_CMD_OP_V6_5.size]).toEqual([52, 56]);
    expect(U.IOMMUFD_V6_5_IOCTL_OPS.map((o) => o.name)).toEqual([
      'IOMMU_DESTROY',
      'IOMMU_IOAS_ALLOC',
      'IOMMU_IOAS_ALLOW_IOVAS',
      'IOMMU_IOAS_COPY',
      'IOMMU_IOAS_IOVA_RANGES',
      'IOMMU_IOAS_MAP',
      'IOMMU_IOAS_UNMAP',
      'IOMMU_OPTION',
      'IOMMU_VFIO_IOAS',
    ]);
    expect(() => U.ioctlOpByName('IOMMU_NOPE')).toThrow();
  });
});
