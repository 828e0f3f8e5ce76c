// SPDX-License-Identifier: GPL-2.0-only
/** The 7.x vIOMMU commands the model builds: IOMMU_VIOMMU_ALLOC and IOMMU_VDEVICE_ALLOC. */
import * as U from '../../iommufd/uapi.js';
import { enumField, fdField, req, sizeWord, u32, u64, withCmd } from './spec.js';
import { emitNestParent } from './hwpt.js';
import type { OpModule } from './types.js';

export const VIOMMU_TYPES = { DEFAULT: U.IOMMU_VIOMMU_TYPE_DEFAULT, SELFTEST: U.IOMMU_VIOMMU_TYPE_SELFTEST } as const;
/** sizeof(struct iommu_viommu_selftest): in_data, out_data, out_mmap_offset, out_mmap_length. */
const VIOMMU_SELFTEST_SIZE = 24;

export const viommu_alloc: OpModule = {
  name: 'viommu_alloc',
  spec: {
    doc: 'IOMMU_VIOMMU_ALLOC on a NEST_PARENT HWPT; `as` binds the vIOMMU ID. `in_data` places struct iommu_viommu_selftest (data_len 24) and outputs what the driver writes back',
    group: 'iommufd',
    ioctl: 'IOMMU_VIOMMU_ALLOC',
    since: '6.13',
    fields: {
      fd: fdField(),
      flags: u32('must be 0', { default: 0 }),
      type: enumField(VIOMMU_TYPES, 'IOMMU_VIOMMU_TYPE_*', 'SELFTEST'),
      dev_id: req(u32('device ID (a mock device `.idev_id`)', { handle: 'idev' })),
      hwpt_id: req(u32('NEST_PARENT HWPT ID', { handle: 'hwpt' })),
      in_data: u32('struct iommu_viommu_selftest in_data'),
      data_len: u32('driver data length (default 0, 24 with in_data)'),
      data_uptr: u64('driver data address (default: the in_data struct, else 0)', { handle: 'addr' }),
      size: sizeWord,
    },
    primary: 'viommu_id',
    outputs: { viommu_id: 'viommu', out_data: 'value', out_mmap_offset: 'value', out_mmap_length: 'value' },
  },
  weight: 0.7,
  newUapi: true,
  available: withCmd(U.IOMMU_VIOMMU_ALLOC),
  clientScratch: true,
  produces: ['viommu'],
  cStructs: [U.iommu_viommu_alloc],
  cIoctls: [['IOMMU_VIOMMU_ALLOC', U.IOMMU_VIOMMU_ALLOC]],
  execute(x) {
    const own = x.has('in_data') && !x.has('data_uptr');
    let uptr = x.v('data_uptr');
    if (own) {
      const d = new Uint8Array(VIOMMU_SELFTEST_SIZE);
      new DataView(d.buffer).setUint32(0, x.n32('in_data'), true);
      uptr = x.userBuffer(d);
    }
    const r = x.struct(
      U.IOMMU_VIOMMU_ALLOC,
      U.iommu_viommu_alloc,
      { flags: x.n32('flags'), type: x.n32('type'), dev_id: x.n32('dev_id'), hwpt_id: x.n32('hwpt_id'), data_len: x.has('data_len') ? x.n32('data_len') : own ? VIOMMU_SELFTEST_SIZE : 0, data_uptr: uptr },
      ['viommu_id:out_viommu_id'],
    );
    if (own && Number(r.ret) === 0) {
      const b = x.readUser(uptr, VIOMMU_SELFTEST_SIZE);
      if (b) {
        const dv = new DataView(b.buffer);
        r.outputs.out_data = dv.getUint32(4, true);
        r.outputs.out_mmap_offset = dv.getBigUint64(8, true);
        r.outputs.out_mmap_length = dv.getBigUint64(16, true);
      }
    }
    return r;
  },
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    // The selftest driver needs a NEST_PARENT HWPT: usually have one made first.
    if (!g.ofKind('hwpt').some((h) => h.nestParent) && rng.bool(0.8)) emitNestParent(g);
    const dev = g.need(['idev']);
    c.as = g.fresh();
    c.dev_id = dev ? dev.name : g.id(['idev']);
    const parents = g.ofKind('hwpt').filter((h) => h.nestParent);
    c.hwpt_id = parents.length > 0 && rng.bool(0.85) ? rng.pick(parents).name : g.id(['hwpt']);
    if (rng.bool(0.3)) c.in_data = rng.pick([0, 0xbeef, 0xffffffff]);
    if (rng.bool(0.05)) c.type = rng.pick(['DEFAULT', 7]);
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'viommu', name: as });
  },
  emitC(e) {
    const { L, v, has } = e;
    const own = has('in_data') && !has('data_uptr');
    if (own) {
      L(`uint32_t *data = client_scratch(${VIOMMU_SELFTEST_SIZE});`);
      L('');
      L(`data[0] = (uint32_t)${v('in_data')};`);
    }
    e.structCmd('iommu_viommu_alloc', 'IOMMU_VIOMMU_ALLOC', {
      flags: `(uint32_t)${v('flags')}`,
      type: `(uint32_t)${v('type')}`,
      dev_id: `(uint32_t)${v('dev_id')}`,
      hwpt_id: `(uint32_t)${v('hwpt_id')}`,
      data_len: has('data_len') ? `(uint32_t)${v('data_len')}` : own ? `${VIOMMU_SELFTEST_SIZE}` : '0',
      data_uptr: own ? '(uint64_t)(uintptr_t)data' : v('data_uptr'),
    });
    e.outs.viommu_id = 'cmd.out_viommu_id';
    if (own) {
      e.outs.out_data = 'data[1]';
      e.outs.out_mmap_offset = '((uint64_t)data[3] << 32 | data[2])';
      e.outs.out_mmap_length = '((uint64_t)data[5] << 32 | data[4])';
    }
  },
};

export const vdevice_alloc: OpModule = {
  name: 'vdevice_alloc',
  spec: {
    doc: 'IOMMU_VDEVICE_ALLOC: the device `dev_id` seen by the vIOMMU as `virt_id`; `as` binds the vDEVICE ID',
    group: 'iommufd',
    ioctl: 'IOMMU_VDEVICE_ALLOC',
    since: '6.13',
    fields: {
      fd: fdField(),
      viommu_id: req(u32('vIOMMU ID', { handle: 'viommu' })),
      dev_id: req(u32('device ID', { handle: 'idev' })),
      virt_id: u64('virtual device ID', { default: 0 }),
      size: sizeWord,
    },
    primary: 'vdevice_id',
    outputs: { vdevice_id: 'vdevice' },
  },
  weight: 0.5,
  newUapi: true,
  available: withCmd(U.IOMMU_VDEVICE_ALLOC),
  produces: ['vdevice'],
  cStructs: [U.iommu_vdevice_alloc],
  cIoctls: [['IOMMU_VDEVICE_ALLOC', U.IOMMU_VDEVICE_ALLOC]],
  execute: (x) =>
    x.struct(U.IOMMU_VDEVICE_ALLOC, U.iommu_vdevice_alloc, { viommu_id: x.n32('viommu_id'), dev_id: x.n32('dev_id'), virt_id: x.v('virt_id') }, ['vdevice_id:out_vdevice_id']),
  generate(g, c) {
    const rng = g.rng;
    g.needIommufd();
    c.as = g.fresh();
    c.viommu_id = g.id(['viommu']);
    c.dev_id = g.id(['idev']);
    c.virt_id = rng.pick([0, 1, 0x99, 0xffffffff]);
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'vdevice', name: as });
  },
  emitC(e) {
    const { v } = e;
    e.structCmd('iommu_vdevice_alloc', 'IOMMU_VDEVICE_ALLOC', { viommu_id: `(uint32_t)${v('viommu_id')}`, dev_id: `(uint32_t)${v('dev_id')}`, virt_id: v('virt_id') });
    e.outs.vdevice_id = 'cmd.out_vdevice_id';
  },
};

export const VIOMMU_OPS: readonly OpModule[] = [viommu_alloc, vdevice_alloc];
