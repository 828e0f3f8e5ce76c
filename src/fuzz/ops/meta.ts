// SPDX-License-Identifier: GPL-2.0-only
/** Ops without a system call of their own (check_state, report) and the raw ioctl. */
import { EBADF, EINVAL, ENOENT } from '../../base/errno.js';
import { iommufdCtxOf } from '../../machine/iommufd-node.js';
import { snapshotState } from '../state.js';
import { MEMORY_OP_MAX } from './mm.js';
import { cBytes, fdField, parseHex, req, toHex, u32, u64 } from './spec.js';
import type { ExecCtx, OpModule, OpOutcome, Outputs } from './types.js';

/**
 * check_state: read (never change) the pins of a user range, the calling
 * process's accounting and a pages object's npinned. Pins are counted per
 * 4 KiB page, on compound folios too (unlike MD_CHECK_REFS); a page with
 * nothing mapped counts as 0 pins and in `unmapped`.
 */
function checkState(x: ExecCtx): OpOutcome {
  const outputs: Outputs = {};
  const task = x.proc.task;
  if (x.has('uptr')) {
    const start = x.v('uptr') & ~0xfffn;
    const end = x.v('uptr') + (x.has('length') ? x.v('length') : 4096n);
    const n = Number((end - start + 0xfffn) >> 12n);
    if (end <= start || n > MEMORY_OP_MAX / 4096) return { ret: -EINVAL, outputs };
    const phys = x.machine.phys;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    let unmapped = 0;
    for (let i = 0; i < n; i++) {
      const pfn = task.mm.lookupPfn(start + BigInt(i) * 4096n);
      const pins = pfn < 0 ? 0 : phys.pincount(pfn);
      if (pfn < 0) unmapped++;
      if (pins < min) min = pins;
      if (pins > max) max = pins;
    }
    outputs.pins = min === max ? min : -1;
    outputs.pins_min = min;
    outputs.pins_max = max;
    outputs.unmapped = unmapped;
  }
  outputs.locked_vm = task.mm.lockedVm * 4096;
  outputs.user_locked_vm = task.user.lockedVm * 4096;
  outputs.pinned_vm = task.mm.pinnedVm * 4096;
  outputs.memcg = task.memcg.usage;
  if (x.has('ioas') || x.has('iova')) {
    const ctx = iommufdCtxOf(x.proc, x.s32('fd'));
    if (!ctx) return { ret: -EBADF, outputs };
    const ioas = x.n32('ioas');
    const iova = x.v('iova');
    const snap = snapshotState(x.machine, [ctx], [x.proc]);
    const area = snap.areas.find((a) => a.ioas === ioas && a.first <= iova && iova <= a.last);
    const pages = area && area.pages >= 0 ? snap.pages[area.pages] : undefined;
    if (!pages) return { ret: -ENOENT, outputs };
    outputs.npinned = pages.npinned;
  }
  return { ret: 0, outputs };
}

export const check_state: OpModule = {
  name: 'check_state',
  spec: {
    doc: "no system call: what the kernel keeps about memory the calling process pinned, as outputs to compare with `expect` — the FOLL_PIN count of every page of [uptr, uptr+length) (THP and hugetlb pages included), the process's locked_vm, its user's locked_vm, pinned_vm and memcg charge (all in bytes), and the npinned of the pages object under `iova` in `ioas` (in pages). Example: expect: { pins: 1, pinned_vm: 64M }",
    group: 'meta',
    fields: {
      fd: fdField('iommufd whose IOAS `ioas` is (default: the last one this process opened)'),
      uptr: u64('start of the user range whose pins are counted', { handle: 'addr' }),
      length: u64('length of that range (default: one page)'),
      ioas: u32('IOAS whose area under `iova` names the pages object for `npinned`', { handle: 'ioas' }),
      iova: u64('an IOVA inside that area', { handle: 'iova' }),
    },
    outputs: {
      pins: 'value',
      pins_min: 'value',
      pins_max: 'value',
      unmapped: 'value',
      locked_vm: 'value',
      user_locked_vm: 'value',
      pinned_vm: 'value',
      memcg: 'value',
      npinned: 'value',
    },
  },
  execute: checkState,
};

export const report: OpModule = {
  name: 'report',
  spec: {
    doc: 'no system call: the `run` command prints the iommufd state (areas, pages, domains, accesses, accounting) at this point',
    group: 'meta',
    fields: { title: { kind: 'string', doc: 'heading of the report' } },
    outputs: {},
  },
  execute(x) {
    x.snapshotHere(typeof x.call.title === 'string' ? x.call.title : `after call ${x.index - 1}`);
    return { ret: 0, outputs: {} };
  },
  emitC(e) {
    e.L(`print_vm_status(${e.str(typeof e.c.title === 'string' ? e.c.title : `after call ${e.index - 1}`)});`);
  },
};

export const ioctl: OpModule = {
  name: 'ioctl',
  spec: {
    doc: 'a raw ioctl: `cmd` (number or uapi name) with `data` (hex struct bytes, passed by pointer and read back) or a plain `arg`',
    group: 'raw',
    fields: {
      fd: fdField(),
      cmd: req({ kind: 'enum', width: 'u32', values: {}, doc: 'ioctl number, or a name like IOMMU_IOAS_MAP' }),
      data: { kind: 'hex', doc: 'struct bytes' },
      arg: u64('the argument when there is no `data`', { default: 0 }),
    },
    outputs: { data: 'value' },
  },
  weight: 0.1,
  execute(x): OpOutcome {
    const cmd = x.n32('cmd');
    if (x.call.data !== undefined) {
      const h = parseHex(x.call.data);
      if (typeof h === 'string') x.fail(`ioctl.data: ${h}`);
      const bytes = (h as Uint8Array).slice();
      const rc = x.proc.ioctlStruct(x.s32('fd'), cmd, bytes);
      return { ret: rc, outputs: { data: toHex(bytes) } };
    }
    return { ret: x.proc.ioctl(x.s32('fd'), cmd, x.v('arg')), outputs: {} };
  },
  emitC(e) {
    const { L, v } = e;
    if (e.has('data')) {
      const bytes = parseHex(e.c.data);
      const arr = typeof bytes === 'string' ? new Uint8Array(0) : bytes;
      L(`unsigned char data[${Math.max(1, arr.length)}] = { ${cBytes(arr)} };`);
      L(`char hex[${2 * Math.max(1, arr.length) + 1}];`);
      L('');
      if (arr.length <= 4096) {
        // through the scratch page, as the model's Process.ioctlStruct does
        L('scratch_ensure();');
        L(`rc = struct_ioctl(${e.fd()}, (unsigned long)(uint32_t)${v('cmd')}, data, ${arr.length});`);
      } else L(`rc = do_ioctl(${e.fd()}, (unsigned long)(uint32_t)${v('cmd')}, data);`);
      L(`hexify(data, ${arr.length}, hex);`);
      e.outs.data = 'hex';
    } else {
      L(`rc = sys_rc(ioctl(${e.fd()}, (unsigned long)(uint32_t)${v('cmd')}, (unsigned long)${v('arg')}));`);
    }
  },
};

export const META_OPS: readonly OpModule[] = [check_state, report];
export const RAW_OPS: readonly OpModule[] = [ioctl];
