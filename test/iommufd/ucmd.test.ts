// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { E2BIG, EFAULT, EINVAL, EMSGSIZE, ENOENT, ENOTTY, EOPNOTSUPP } from '../../src/base/errno.js';
import { type IommufdObject, ObjectTable } from '../../src/iommufd/object-table.js';
import * as U from '../../src/iommufd/uapi.js';
import {
  checkZeroedUser,
  copyStructFromUser,
  TASK_SIZE_MAX,
  type Ucmd,
  type UcmdExecute,
  ucmdIoctl,
  UcmdTable,
  type UserMemory,
} from '../../src/iommufd/ucmd.js';

const PAGE = 4096n;

/** User memory made of 4 KiB pages in a Map; unmapped or read-only pages fault. */
class FakeMemory implements UserMemory {
  readonly pages = new Map<bigint, Uint8Array>();
  readonly readonly = new Set<bigint>();
  writes = 0;

  map(va: bigint, len: bigint, ro = false): void {
    for (let p = va / PAGE; p * PAGE < va + len; p++) {
      if (!this.pages.has(p)) this.pages.set(p, new Uint8Array(Number(PAGE)));
      if (ro) this.readonly.add(p);
    }
  }

  read(va: bigint, dst: Uint8Array): number {
    return this.walk(va, dst.length, false, (page, off, i, n) => dst.set(page.subarray(off, off + n), i));
  }

  write(va: bigint, src: Uint8Array): number {
    this.writes++;
    return this.walk(va, src.length, true, (page, off, i, n) => page.set(src.subarray(i, i + n), off));
  }

  /** Test helper: poke bytes regardless of protection. */
  poke(va: bigint, bytes: Uint8Array): void {
    this.walk(va, bytes.length, false, (page, off, i, n) => page.set(bytes.subarray(i, i + n), off));
  }

  peek(va: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    expect(this.read(va, out)).toBe(0);
    return out;
  }

  private walk(
    va: bigint,
    len: number,
    forWrite: boolean,
    fn: (page: Uint8Array, off: number, i: number, n: number) => void,
  ): number {
    // check first: a faulting copy touches nothing in this fake
    for (let i = 0; i < len; ) {
      const a = va + BigInt(i);
      const p = a / PAGE;
      if (!this.pages.has(p) || (forWrite && this.readonly.has(p))) return -EFAULT;
      i += Number(PAGE - (a % PAGE));
    }
    for (let i = 0; i < len; ) {
      const a = va + BigInt(i);
      const off = Number(a % PAGE);
      const n = Math.min(len - i, Number(PAGE) - off);
      fn(this.pages.get(a / PAGE)!, off, i, n);
      i += n;
    }
    return 0;
  }
}

const BUF = 0x10000n;

function setup(): FakeMemory {
  const mem = new FakeMemory();
  mem.map(BUF, 2n * PAGE);
  return mem;
}

function put(mem: FakeMemory, layout: U.StructLayout, obj: Record<string, number | bigint>, extra = 0, at = BUF): void {
  const bytes = new Uint8Array(layout.size + extra);
  layout.encode(obj, bytes);
  mem.poke(at, bytes);
}

interface Ctx {
  calls: string[];
}

function tableOf(handlers: Record<string, UcmdExecute<Ctx>>, ops: readonly U.IoctlOp[] = U.IOMMUFD_IOCTL_OPS): UcmdTable<Ctx> {
  return UcmdTable.fromHandlers(ops, handlers);
}

const ctx = (): Ctx => ({ calls: [] });

describe('UcmdTable', () => {
  it('indexes by nr - 0x80, is as long as the highest slot + 1 and leaves holes', () => {
    const all = tableOf({ IOMMU_DESTROY: () => 0, IOMMU_IOAS_MAP: () => 0, IOMMU_TEST_CMD: () => 0 });
    expect(all.length).toBe(33);
    expect(all.slots[0]?.op.name).toBe('IOMMU_DESTROY');
    expect(all.slots[5]?.op.name).toBe('IOMMU_IOAS_MAP');
    expect(all.slots[1]).toBeUndefined();
    expect(all.slots[32]?.op.name).toBe('IOMMU_TEST_CMD');
    const noTest = tableOf({ IOMMU_DESTROY: () => 0, IOMMU_VFIO_IOAS: () => 0 });
    expect(noTest.length).toBe(9);
  });
});

describe('dispatch order', () => {
  const handlers: Record<string, UcmdExecute<Ctx>> = {
    IOMMU_DESTROY: (u) => {
      u.ctx.calls.push(`destroy ${u.num('id')}`);
      return -ENOENT;
    },
    IOMMU_IOAS_ALLOC: (u) => {
      u.ctx.calls.push('alloc');
      return 0;
    },
    IOMMU_TEST_CMD: () => -EOPNOTSUPP,
  };
  const table = tableOf(handlers);

  it('sends nr below the base or past the table to the fallback (ENOTTY without one)', () => {
    const mem = setup();
    const c = ctx();
    expect(ucmdIoctl(table, c, mem, U.IO(0x3b, 0x7f), BUF)).toBe(-ENOTTY);
    expect(ucmdIoctl(table, c, mem, U.IO(0x3b, 0xa1), BUF)).toBe(-ENOTTY);
    const seen: Array<[number, bigint]> = [];
    const fb = (cmd: number, arg: bigint): number => {
      seen.push([cmd, arg]);
      return 7;
    };
    expect(ucmdIoctl(table, c, mem, U.VFIO_GET_API_VERSION, 0n, fb)).toBe(7);
    // nothing read from memory on this path: a NULL arg is fine
    expect(seen).toEqual([[U.VFIO_GET_API_VERSION, 0n]]);
    const shortTable = tableOf({ IOMMU_DESTROY: () => 0 });
    expect(ucmdIoctl(shortTable, c, mem, U.IOMMU_IOAS_ALLOC, BUF, fb)).toBe(7);
    expect(c.calls).toEqual([]);
  });

  it('cmd_fail: DESTROY id 0 gives ENOENT, a NULL pointer EFAULT, BASE-1 ENOTTY', () => {
    const mem = setup();
    const c = ctx();
    put(mem, U.iommu_destroy, { size: 8, id: 0 });
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, BUF)).toBe(-ENOENT);
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, 0n)).toBe(-EFAULT);
    expect(ucmdIoctl(table, c, mem, U.IO(U.IOMMUFD_TYPE, U.IOMMUFD_CMD_BASE - 1), BUF)).toBe(-ENOTTY);
    expect(c.calls).toEqual(['destroy 0']);
  });

  it('reads size before checking the slot: a hole gives EFAULT on a bad pointer, ENOTTY on a good one', () => {
    const mem = setup();
    put(mem, U.iommu_destroy, { size: 8 });
    const hole = U.IO(0x3b, 0x95);
    expect(ucmdIoctl(table, ctx(), mem, hole, 0x9000_0000n)).toBe(-EFAULT);
    expect(ucmdIoctl(table, ctx(), mem, hole, BUF)).toBe(-ENOTTY);
    // a table op with no handler is a hole too
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_IOAS_MAP, BUF)).toBe(-ENOTTY);
  });

  it('requires the exact ioctl number: direction or size bits give ENOTTY', () => {
    const mem = setup();
    put(mem, U.iommu_destroy, { size: 8, id: 0 });
    expect(ucmdIoctl(table, ctx(), mem, U.IOW(0x3b, 0x80, 8), BUF)).toBe(-ENOTTY);
    expect(ucmdIoctl(table, ctx(), mem, U.IOWR(0x3b, 0x80, 8), BUF)).toBe(-ENOTTY);
    // another type byte with an in-range nr is not a VFIO call either
    expect(ucmdIoctl(table, ctx(), mem, U.IO(0x3c, 0x80), BUF)).toBe(-ENOTTY);
  });

  it('rejects size below the minimum with EINVAL before copying the rest', () => {
    const mem = new FakeMemory();
    mem.map(BUF, PAGE);
    // a 7-byte DESTROY at the very end of the page: the 8th byte is unmapped
    const at = BUF + PAGE - 7n;
    mem.poke(at, new Uint8Array([7, 0, 0, 0, 0, 0, 0]));
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_DESTROY, at)).toBe(-EINVAL);
    mem.poke(at, new Uint8Array([8, 0, 0, 0]));
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_DESTROY, at)).toBe(-EFAULT);
    mem.poke(at, new Uint8Array([0, 0, 0, 0]));
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_DESTROY, at)).toBe(-EINVAL);
  });

  it('cmd_ex_fail: a longer struct with a zero tail works, a non-zero tail is E2BIG', () => {
    const mem = setup();
    const c = ctx();
    put(mem, U.iommu_destroy, { size: 16, id: 0 }, 8);
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, BUF)).toBe(-ENOENT);
    mem.poke(BUF + 8n, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, BUF)).toBe(-E2BIG);
    mem.poke(BUF, new Uint8Array([8]));
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, BUF)).toBe(-ENOENT);
    mem.poke(BUF, new Uint8Array([7]));
    expect(ucmdIoctl(table, c, mem, U.IOMMU_DESTROY, BUF)).toBe(-EINVAL);
    expect(c.calls).toEqual(['destroy 0', 'destroy 0']);
  });

  it('faults on an unreadable tail, unless a non-zero byte comes first (E2BIG)', () => {
    const mem = new FakeMemory();
    mem.map(BUF, PAGE);
    const at = BUF + PAGE - 12n;
    put(mem, U.iommu_ioas_alloc, { size: 20 }, 0, at);
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_IOAS_ALLOC, at)).toBe(-EFAULT);
    // non-zero byte before the unmapped page: E2BIG wins
    const at2 = BUF + PAGE - 13n;
    put(mem, U.iommu_ioas_alloc, { size: 20 }, 1, at2);
    mem.poke(at2 + 12n, new Uint8Array([5]));
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_IOAS_ALLOC, at2)).toBe(-E2BIG);
  });

  it('a tail reaching past the user address range is EFAULT (access_ok) before any byte is looked at', () => {
    const mem = new FakeMemory();
    const at = TASK_SIZE_MAX - PAGE;
    mem.map(at, PAGE);
    put(mem, U.iommu_destroy, { size: 0xffffffff, id: 0 }, 1, at);
    mem.poke(at + 8n, new Uint8Array([1]));
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_DESTROY, at)).toBe(-EFAULT);
    put(mem, U.iommu_destroy, { size: 16, id: 0 }, 0, at);
    expect(ucmdIoctl(table, ctx(), mem, U.IOMMU_DESTROY, at)).toBe(-E2BIG);
    expect(checkZeroedUser(mem, at + 16n, 8n)).toBe(1);
    expect(checkZeroedUser(mem, at + 8n, 8n)).toBe(0);
    expect(checkZeroedUser(mem, at + 8n, 0n)).toBe(1);
  });

  it('zero-fills a short (but >= min) struct: fields past the user size decode as 0', () => {
    const mem = setup();
    // HWPT_ALLOC: min 24, size 48; user bytes after 24 are garbage
    put(mem, U.iommu_hwpt_alloc, { size: 24, flags: 1, pt_id: 3, data_type: 9, data_uptr: 0x1234n });
    let seen: Record<string, number | bigint> | undefined;
    const t = tableOf({
      IOMMU_HWPT_ALLOC: (u) => {
        seen = { ...u.cmd };
        expect(u.userSize).toBe(24);
        expect(u.buf.length).toBe(48);
        return 0;
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_HWPT_ALLOC, BUF)).toBe(0);
    expect(seen).toMatchObject({ size: 24, flags: 1, pt_id: 3, data_type: 0, data_uptr: 0n, fault_id: 0 });
  });

  it('cmd_length for every v6.5 struct: min-1 EINVAL, +1 with 0xff E2BIG, +1 with 0 same as exact', () => {
    for (const op of U.IOMMUFD_V6_5_IOCTL_OPS) {
      const results: number[] = [];
      let ioasIds = 0;
      const t = UcmdTable.fromHandlers<Ctx>([op], {
        [op.name]: (u: Ucmd<Ctx>) => {
          if (op.name === 'IOMMU_IOAS_ALLOC') {
            u.cmd['out_ioas_id'] = ++ioasIds;
            return u.respond();
          }
          return -ENOENT;
        },
      });
      const mem = setup();
      const bytes = new Uint8Array(op.size + 1);
      bytes[op.size] = 0xff;
      mem.poke(BUF, bytes);
      mem.poke(BUF, U.iommu_destroy.encode({ size: op.minSize - 1 }).subarray(0, 4));
      results.push(ucmdIoctl(t, ctx(), mem, op.cmd, BUF));
      mem.poke(BUF, U.iommu_destroy.encode({ size: op.size + 1 }).subarray(0, 4));
      results.push(ucmdIoctl(t, ctx(), mem, op.cmd, BUF));
      mem.poke(BUF, U.iommu_destroy.encode({ size: op.size }).subarray(0, 4));
      results.push(ucmdIoctl(t, ctx(), mem, op.cmd, BUF));
      mem.poke(BUF, U.iommu_destroy.encode({ size: op.size + 1 }).subarray(0, 4));
      mem.poke(BUF + BigInt(op.size), new Uint8Array([0]));
      results.push(ucmdIoctl(t, ctx(), mem, op.cmd, BUF));
      const ok = op.name === 'IOMMU_IOAS_ALLOC' ? 0 : -ENOENT;
      expect(results, op.name).toEqual([-EINVAL, -E2BIG, ok, ok]);
    }
  });
});

describe('respond', () => {
  it('writes back min(user size, our size) bytes of the updated struct', () => {
    const mem = setup();
    const t = tableOf({
      IOMMU_HWPT_ALLOC: (u) => {
        u.cmd['out_hwpt_id'] = 0x55;
        u.cmd['fault_id'] = 0x66;
        return u.respond();
      },
    });
    // user knows 24 bytes: only those are written, the rest of the user buffer stays
    const garbage = new Uint8Array(64).fill(0xee);
    mem.poke(BUF, garbage);
    mem.poke(BUF, U.iommu_hwpt_alloc.encode({ size: 24, pt_id: 2 }).subarray(0, 24));
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_HWPT_ALLOC, BUF)).toBe(0);
    const back = mem.peek(BUF, 64);
    expect(U.iommu_hwpt_alloc.decode(back, 24)).toMatchObject({ size: 24, pt_id: 2, out_hwpt_id: 0x55 });
    expect([...back.subarray(24)].every((b) => b === 0xee)).toBe(true);

    // user struct longer than ours with a zero tail: bytes past 48 untouched
    const big = new Uint8Array(80);
    mem.poke(BUF, big);
    mem.poke(BUF + 48n, new Uint8Array(32));
    mem.poke(BUF, U.iommu_hwpt_alloc.encode({ size: 80, pt_id: 2 }).subarray(0, 48));
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_HWPT_ALLOC, BUF)).toBe(0);
    const back2 = mem.peek(BUF, 80);
    expect(U.iommu_hwpt_alloc.decode(back2)).toMatchObject({ size: 80, out_hwpt_id: 0x55, fault_id: 0x66 });
  });

  it('echoes input fields and tells EFAULT on a read-only buffer', () => {
    const mem = new FakeMemory();
    mem.map(BUF, PAGE, true);
    put(mem, U.iommu_ioas_map, { size: 40, flags: 6, ioas_id: 1, user_va: 0x5000n, length: 0x1000n });
    let after = 0;
    const t = tableOf({
      IOMMU_IOAS_MAP: (u) => {
        u.set('iova', 0x1_0000_0000n);
        const rc = u.respond();
        after = rc;
        return rc;
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_MAP, BUF)).toBe(-EFAULT);
    expect(after).toBe(-EFAULT);
    mem.readonly.clear();
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_MAP, BUF)).toBe(0);
    expect(U.iommu_ioas_map.decode(mem.peek(BUF, 40))).toEqual({
      size: 40,
      flags: 6,
      ioas_id: 1,
      __reserved: 0,
      user_va: 0x5000n,
      length: 0x1000n,
      iova: 0x1_0000_0000n,
    });
  });

  it('IOVA_RANGES style: write back, then EMSGSIZE with the needed count', () => {
    const mem = setup();
    put(mem, U.iommu_ioas_iova_ranges, { size: 32, ioas_id: 1, num_iovas: 1 });
    const t = tableOf({
      IOMMU_IOAS_IOVA_RANGES: (u) => {
        const max = u.num('num_iovas');
        u.cmd['num_iovas'] = 3;
        u.cmd['out_iova_alignment'] = 4096n;
        const rc = u.respond();
        if (rc) return rc;
        return 3 > max ? -EMSGSIZE : 0;
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_IOVA_RANGES, BUF)).toBe(-EMSGSIZE);
    expect(U.iommu_ioas_iova_ranges.decode(mem.peek(BUF, 32))).toMatchObject({ num_iovas: 3, out_iova_alignment: 4096n });
  });

  it('OPTION style: respondField writes only val64', () => {
    const mem = setup();
    put(mem, U.iommu_option, { size: 24, option_id: 1, op: U.IOMMU_OPTION_OP_GET, object_id: 1 });
    const t = tableOf({
      IOMMU_OPTION: (u) => {
        u.cmd['object_id'] = 99; // not written back
        u.cmd['val64'] = 1n;
        return u.respondField('val64');
      },
    });
    const writesBefore = mem.writes;
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_OPTION, BUF)).toBe(0);
    expect(mem.writes).toBe(writesBefore + 1);
    expect(U.iommu_option.decode(mem.peek(BUF, 24))).toMatchObject({ object_id: 1, val64: 1n });
  });

  it('union members: changing one member does not clobber with stale overlapping values', () => {
    const mem = setup();
    put(mem, U.iommu_test_cmd, { size: 72, op: U.IOMMU_TEST_OP_MOCK_DOMAIN, id: 1 });
    const t = tableOf({
      IOMMU_TEST_CMD: (u) => {
        u.cmd['mock_domain.out_stdev_id'] = 2;
        u.cmd['mock_domain.out_hwpt_id'] = 4;
        u.cmd['mock_domain.out_idev_id'] = 3;
        return u.respond();
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_TEST_CMD, BUF)).toBe(0);
    const v = U.iommu_test_cmd.decode(mem.peek(BUF, 72));
    expect(v).toMatchObject({
      'mock_domain.out_stdev_id': 2,
      'mock_domain.out_hwpt_id': 4,
      'mock_domain.out_idev_id': 3,
      'add_reserved.start': (4n << 32n) | 2n,
    });
  });

  it('set() of one union member: the members sharing its bytes read the new value at once, the others what they held', () => {
    const mem = setup();
    put(mem, U.iommu_test_cmd, { size: 72, op: U.IOMMU_TEST_OP_ADD_RESERVED, id: 9, 'add_reserved.start': 0x1111_2222_3333_4444n, 'add_reserved.length': 0x55n });
    const t = tableOf({
      IOMMU_TEST_CMD: (u) => {
        // an assignment not yet stored, then a set() of the member beside it (both inside add_reserved.start)
        u.cmd['mock_domain.out_hwpt_id'] = 0xaa;
        u.set('mock_domain.out_stdev_id', 7);
        expect(u.big('add_reserved.start')).toBe((0xaan << 32n) | 7n);
        expect(u.num('mock_domain.out_stdev_id')).toBe(7);
        expect(u.num('mock_domain.out_hwpt_id')).toBe(0xaa);
        // bytes no store reached keep what the user wrote
        expect(u.num('id')).toBe(9);
        expect(u.big('add_reserved.length')).toBe(0x55n);
        expect(u.num('mock_domain.out_idev_id')).toBe(0x55);
        return u.respond();
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_TEST_CMD, BUF)).toBe(0);
    expect(U.iommu_test_cmd.decode(mem.peek(BUF, 72))).toMatchObject({ id: 9, 'add_reserved.start': (0xaan << 32n) | 7n, 'add_reserved.length': 0x55n });
  });

  it('typed accessors refuse the wrong width', () => {
    const mem = setup();
    put(mem, U.iommu_ioas_unmap, { size: 24, ioas_id: 1, iova: 5n, length: 6n });
    const t = tableOf({
      IOMMU_IOAS_UNMAP: (u) => {
        expect(u.num('ioas_id')).toBe(1);
        expect(u.big('iova')).toBe(5n);
        expect(() => u.num('iova')).toThrow(TypeError);
        expect(() => u.big('ioas_id')).toThrow(TypeError);
        return 0;
      },
    });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_UNMAP, BUF)).toBe(0);
  });
});

describe('copyStructFromUser', () => {
  it('copies min(ksize, usize) and leaves the rest zero', () => {
    const mem = setup();
    mem.poke(BUF, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const dst = new Uint8Array(8);
    expect(copyStructFromUser(mem, dst, BUF, 5)).toBe(0);
    expect([...dst]).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    const dst2 = new Uint8Array(4);
    expect(copyStructFromUser(mem, dst2, BUF, 8)).toBe(-E2BIG);
  });
});

describe('new objects follow the ioctl result (iommufd_object_alloc_ucmd)', () => {
  class Obj implements IommufdObject {
    readonly type = 'IOAS' as const;
    destroyed = 0;
    destroy(): void {
      this.destroyed++;
    }
  }

  it('finalizes on success and aborts + destroys on failure', () => {
    const objects = new ObjectTable<Obj>();
    const mem = setup();
    let fail = false;
    const made: Obj[] = [];
    const t = UcmdTable.fromHandlers<Ctx>(U.IOMMUFD_IOCTL_OPS, {
      IOMMU_IOAS_ALLOC: (u) => {
        const o = new Obj();
        made.push(o);
        const id = objects.allocUcmd(u, o);
        u.cmd['out_ioas_id'] = id;
        const rc = u.respond();
        return fail ? -EFAULT : rc;
      },
    });
    put(mem, U.iommu_ioas_alloc, { size: 12 });
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_ALLOC, BUF)).toBe(0);
    expect(objects.slotState(1)).toBe('live');
    fail = true;
    expect(ucmdIoctl(t, ctx(), mem, U.IOMMU_IOAS_ALLOC, BUF)).toBe(-EFAULT);
    expect(U.iommu_ioas_alloc.decode(mem.peek(BUF, 12))['out_ioas_id']).toBe(2);
    expect(objects.slotState(2)).toBe('free');
    expect(made[1]!.destroyed).toBe(1);
    expect(made[0]!.destroyed).toBe(0);
  });
});
