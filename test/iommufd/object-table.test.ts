// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EBUSY, ENOENT } from '../../src/base/errno.js';
import { FailNth, FaultRouter } from '../../src/base/fault.js';
import { KernelWarning, WarnSink } from '../../src/base/warn.js';
import { FP_GET_OBJECT, type IommufdObject, OBJ_TYPES, ObjectTable, type ObjType } from '../../src/iommufd/object-table.js';

const log: string[] = [];

class Obj implements IommufdObject {
  readonly type: ObjType;
  readonly name: string;
  onDestroy: (() => void) | undefined;
  onAbort: (() => void) | undefined;
  constructor(type: ObjType, name: string = type) {
    this.type = type;
    this.name = name;
  }
  destroy(): void {
    log.push(`destroy ${this.name}`);
    this.onDestroy?.();
  }
}

class AbortableObj extends Obj {
  abort(): void {
    log.push(`abort ${this.name}`);
  }
}

function fresh(opts: ConstructorParameters<typeof ObjectTable<Obj>>[0] = {}): ObjectTable<Obj> {
  log.length = 0;
  return new ObjectTable<Obj>({ warn: new WarnSink({ panicOnWarn: true }), ...opts });
}

function add(t: ObjectTable<Obj>, type: ObjType, name?: string): Obj {
  const o = new Obj(type, name);
  expect(t.alloc(o)).toBeGreaterThan(0);
  t.finalize(o);
  return o;
}

describe('object types', () => {
  it('names the kernel enum in order', () => {
    expect(OBJ_TYPES).toEqual([
      'DEVICE',
      'HWPT_PAGING',
      'HWPT_NESTED',
      'IOAS',
      'ACCESS',
      'FAULT',
      'VIOMMU',
      'VDEVICE',
      'VEVENTQ',
      'HW_QUEUE',
      'SELFTEST',
    ]);
  });
});

describe('ID allocation', () => {
  it('starts at 1 and reuses the lowest free ID at once', () => {
    const t = fresh();
    const a = add(t, 'IOAS');
    const b = add(t, 'IOAS');
    const c = add(t, 'IOAS');
    expect([t.idOf(a), t.idOf(b), t.idOf(c)]).toEqual([1, 2, 3]);
    expect(t.remove(3)).toBe(0);
    expect(t.remove(1)).toBe(0);
    expect(t.idOf(add(t, 'IOAS'))).toBe(1);
    expect(t.idOf(add(t, 'IOAS'))).toBe(3);
    expect(t.idOf(add(t, 'IOAS'))).toBe(4);
  });

  it('reserved (not finalized) objects consume their ID but are invisible', () => {
    const t = fresh();
    const hidden = new Obj('IOAS', 'hidden');
    expect(t.alloc(hidden)).toBe(1);
    expect(t.slotState(1)).toBe('reserved');
    expect(t.get(1, 'IOAS')).toBe(-ENOENT);
    expect(t.get(1)).toBe(-ENOENT);
    expect(t.remove(1)).toBe(-ENOENT);
    expect(t.idOf(add(t, 'IOAS'))).toBe(2);
    expect(t.live().map((e) => e.id)).toEqual([2]);
    expect(t.xaEmpty()).toBe(false);
    t.finalize(hidden);
    expect(t.get(1, 'IOAS')).toBe(hidden);
  });

  it('abort frees the ID without calling destroy; abortAndDestroy runs abort (or destroy) first', () => {
    const t = fresh();
    const a = new Obj('IOAS', 'a');
    t.alloc(a);
    t.abort(a);
    expect(t.slotState(1)).toBe('free');
    expect(t.xaEmpty()).toBe(true);
    expect(log).toEqual([]);
    const b = new AbortableObj('HWPT_PAGING', 'b');
    const c = new Obj('IOAS', 'c');
    t.alloc(b);
    t.alloc(c);
    t.abortAndDestroy(b);
    t.abortAndDestroy(c);
    expect(log).toEqual(['abort b', 'destroy c']);
    expect(t.idOf(add(t, 'IOAS'))).toBe(1);
  });

  it('returns -EBUSY when the ID space is exhausted', () => {
    const t = fresh({ maxId: 2 });
    add(t, 'IOAS');
    add(t, 'IOAS');
    expect(t.alloc(new Obj('IOAS'))).toBe(-EBUSY);
  });

  it('WARNs on finalize of a live object and on abort with extra users', () => {
    const t = fresh();
    const a = add(t, 'IOAS');
    expect(() => t.finalize(a)).toThrow(KernelWarning);
    const b = new Obj('IOAS');
    t.alloc(b);
    t.incUsers(b);
    expect(() => t.abort(b)).toThrow(/iommufd_object_abort.users/);
  });
});

describe('lookup', () => {
  it('checks the type; ANY matches everything; missing IDs are ENOENT', () => {
    const t = fresh();
    const ioas = add(t, 'IOAS');
    expect(t.get(1, 'IOAS')).toBe(ioas);
    t.put(ioas);
    expect(t.get(1, 'HWPT_PAGING')).toBe(-ENOENT);
    expect(t.get(1)).toBe(ioas);
    t.put(ioas);
    expect(t.get(0)).toBe(-ENOENT);
    expect(t.get(2)).toBe(-ENOENT);
    expect(t.usersOf(ioas)).toBe(1);
  });

  it('a lookup holds a users reference until put', () => {
    const t = fresh();
    const ioas = add(t, 'IOAS');
    expect(t.get(1, 'IOAS')).toBe(ioas);
    expect(t.usersOf(ioas)).toBe(2);
    expect(t.remove(1)).toBe(-EBUSY);
    t.put(ioas);
    expect(t.remove(1)).toBe(0);
    expect(log).toEqual(['destroy IOAS']);
  });

  it('fails with ENOENT at the iommufd fault point', () => {
    const faults = new FaultRouter();
    const task = new FailNth();
    faults.current = task;
    const t = fresh({ faults });
    add(t, 'IOAS');
    task.arm(1);
    expect(t.get(1, 'IOAS')).toBe(-ENOENT);
    expect(task.lastFailed).toBe(FP_GET_OBJECT);
    expect(t.get(1, 'IOAS')).not.toBe(-ENOENT);
  });
});

describe('IOMMU_DESTROY (remove)', () => {
  it('ENOENT for free IDs, EBUSY while users > 1, then destroys and calls onRemove', () => {
    const removed: string[] = [];
    const t = fresh({ onRemove: (o) => removed.push(o.name) });
    const ioas = add(t, 'IOAS');
    const hwpt = add(t, 'HWPT_PAGING');
    t.incUsers(ioas); // the HWPT holds its IOAS
    expect(t.remove(0)).toBe(-ENOENT);
    expect(t.remove(99)).toBe(-ENOENT);
    expect(t.remove(1)).toBe(-EBUSY);
    expect(t.usersOf(ioas)).toBe(2);
    expect(log).toEqual([]);
    hwpt.onDestroy = () => t.decUsers(ioas);
    expect(t.remove(2)).toBe(0);
    expect(t.remove(2)).toBe(-ENOENT);
    expect(t.remove(1)).toBe(0);
    expect(log).toEqual(['destroy HWPT_PAGING', 'destroy IOAS']);
    expect(removed).toEqual(['HWPT_PAGING', 'IOAS']);
    expect(t.xaEmpty()).toBe(true);
  });

  it('a device bound by its driver can never be destroyed by ID', () => {
    const t = fresh();
    const dev = add(t, 'DEVICE');
    t.incUsers(dev);
    expect(t.remove(1)).toBe(-EBUSY);
    expect(t.destroyUser(dev)).toBe(0);
    expect(log).toEqual(['destroy DEVICE']);
    expect(t.slotState(1)).toBe('free');
  });

  it('putAndTryDestroy drops the reference and destroys only the last one (auto HWPT)', () => {
    const t = fresh();
    const hwpt = add(t, 'HWPT_PAGING');
    t.incUsers(hwpt); // device 1
    t.incUsers(hwpt); // device 2
    t.putAndTryDestroy(hwpt);
    expect(t.isLive(hwpt)).toBe(true);
    expect(t.usersOf(hwpt)).toBe(2);
    // user space holds it through a lookup: the automatic destroy silently fails
    expect(t.get(1)).toBe(hwpt);
    t.putAndTryDestroy(hwpt);
    expect(t.isLive(hwpt)).toBe(true);
    t.put(hwpt);
    expect(t.remove(1)).toBe(0);
    expect(log).toEqual(['destroy HWPT_PAGING']);
  });

  it('destroyUser gives EBUSY and WARNs when a temporary reference cannot be revoked', () => {
    const t = new ObjectTable<Obj>({ warn: new WarnSink() });
    log.length = 0;
    const dev = add(t, 'DEVICE');
    t.incUsers(dev);
    expect(t.get(1)).toBe(dev);
    expect(t.destroyUser(dev)).toBe(-EBUSY);
    expect(t.isLive(dev)).toBe(true);
    t.put(dev);
    expect(t.usersOf(dev)).toBe(1);
    expect(t.remove(1)).toBe(0);
  });

  it('preDestroy may revoke the temporary references destroyUser waits for', () => {
    const t = fresh();
    const dev = add(t, 'DEVICE') as Obj & { preDestroy?: () => void };
    t.incUsers(dev);
    expect(t.get(1)).toBe(dev);
    dev.preDestroy = () => t.put(dev);
    expect(t.destroyUser(dev)).toBe(0);
    expect(t.slotState(1)).toBe('free');
  });

  it('tombstones keep the ID until close', () => {
    const t = fresh();
    const vdev = add(t, 'VDEVICE');
    t.incUsers(vdev);
    expect(t.tombstoneUser(vdev)).toBe(0);
    expect(t.slotState(1)).toBe('tombstone');
    expect(t.remove(1)).toBe(-ENOENT);
    expect(t.get(1)).toBe(-ENOENT);
    expect(t.idOf(add(t, 'IOAS'))).toBe(2);
    expect(t.release()).toBe(2);
    expect(t.xaEmpty()).toBe(true);
  });
});

describe('release', () => {
  it('destroys leaves first, ascending ID, repeating sweeps; a parent freed later in the same sweep goes too', () => {
    const t = fresh();
    const ioas = add(t, 'IOAS', 'ioas1'); // 1
    const hwpt = add(t, 'HWPT_PAGING', 'hwpt2'); // 2, holds ioas1
    t.incUsers(ioas);
    hwpt.onDestroy = () => t.decUsers(ioas);
    const leaf = add(t, 'ACCESS', 'access3'); // 3, holds ioas4
    const parent = add(t, 'IOAS', 'ioas4'); // 4
    t.incUsers(parent);
    leaf.onDestroy = () => t.decUsers(parent);
    expect(t.release()).toBe(3);
    // sweep 1: ioas1 busy, hwpt2 destroyed (ioas1 -> 1), access3 destroyed (ioas4 -> 1), ioas4 destroyed
    // sweep 2: ioas1; sweep 3 sees nothing
    expect(log).toEqual(['destroy hwpt2', 'destroy access3', 'destroy ioas4', 'destroy ioas1']);
    expect(t.xaEmpty()).toBe(true);
    expect(t.live()).toEqual([]);
  });

  it('mock domain graph: SELFTEST cascades its DEVICE and auto HWPT, then the IOAS goes', () => {
    const t = fresh();
    const ioas = add(t, 'IOAS', 'ioas'); // 1
    const st = add(t, 'SELFTEST', 'stdev'); // 2
    const idev = add(t, 'DEVICE', 'idev'); // 3
    const hwpt = add(t, 'HWPT_PAGING', 'hwpt'); // 4
    t.incUsers(ioas); // hwpt on ioas
    t.incUsers(idev); // bound by the mock driver
    t.incUsers(idev); // attached
    t.incUsers(hwpt); // device attached
    hwpt.onDestroy = () => t.decUsers(ioas);
    st.onDestroy = () => {
      t.decUsers(idev); // detach
      t.putAndTryDestroy(hwpt); // auto domain goes with its last device
      t.destroyUser(idev); // unbind
    };
    expect(t.remove(3)).toBe(-EBUSY);
    expect(t.remove(4)).toBe(-EBUSY);
    expect(t.remove(1)).toBe(-EBUSY);
    expect(t.release()).toBe(3);
    expect(log).toEqual(['destroy stdev', 'destroy hwpt', 'destroy idev', 'destroy ioas']);
  });

  it('an empty table needs one sweep', () => {
    const t = fresh();
    expect(t.release()).toBe(1);
  });

  it('WARNs and stops on a refcount cycle', () => {
    const t = new ObjectTable<Obj>({ warn: new WarnSink() });
    log.length = 0;
    const a = add(t, 'IOAS', 'a');
    const b = add(t, 'IOAS', 'b');
    t.incUsers(a);
    t.incUsers(b);
    const w = new WarnSink({ panicOnWarn: true });
    const t2 = new ObjectTable<Obj>({ warn: w });
    const c = add(t2, 'IOAS', 'c');
    t2.incUsers(c);
    expect(() => t2.release()).toThrow(/iommufd_fops_release/);
    expect(t.release()).toBe(1);
    expect(log).toEqual([]);
  });
});
