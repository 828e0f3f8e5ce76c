// SPDX-License-Identifier: GPL-2.0-only
/**
 * The per-context object table (main.c: ictx->objects and the
 * iommufd_object_* helpers).
 *
 * IDs: an allocating xarray starting at 1; each allocation takes the lowest
 * free index and freed IDs are reused at once. An allocated object first holds
 * a reserved slot (XA_ZERO_ENTRY): it owns its ID but lookups and DESTROY see
 * nothing there until it is finalized; aborting frees the ID. A tombstone
 * (newer kernels, for a vDEVICE destroyed under its owner) is a reserved slot
 * that stays until close.
 *
 * Refcounts: `users` starts at 1, the table's own reference. Long-term holders
 * add to it (an HWPT on its IOAS, a device on its HWPT, …); a lookup adds a
 * temporary reference to both `users` and `waitCnt` (shortterm_users), which
 * the matching put() drops. DESTROY succeeds only when `users` is exactly 1.
 *
 * Release (fd close) sweeps the table in ascending ID order, destroying every
 * object nobody but the table holds; destroying a leaf lowers its parents'
 * counts, so sweeps repeat until a sweep finds nothing left. A sweep that
 * destroys nothing while objects remain is a refcount bug (WARN, stop).
 *
 * This module is the xarray half of _iommufd_object_alloc: the caller makes
 * the TypeScript object (the kzalloc, with its failslab point and memcg
 * charge) and then reserves its ID here.
 */
import { xaNodesNeeded } from '../base/xarray.js';
import { EBUSY, ENOENT } from '../base/errno.js';
import { type FaultRouter, faultPoint } from '../base/fault.js';
import type { WarnSink } from '../base/warn.js';
import type { Ucmd } from './ucmd.js';
import { cover, coverSites } from '../base/coverage.js';

/** enum iommufd_object_type, in kernel order (IOMMUFD_OBJ_NONE/ANY excluded). */
export const OBJ_TYPES = [
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
] as const;

/** IOMMUFD_OBJ_*; HWPT_PAGING was HW_PAGETABLE before v6.7 (same object). */
export type ObjType = (typeof OBJ_TYPES)[number];

/** IOMMUFD_OBJ_ANY */
export const OBJ_ANY = 'ANY';
export type ObjTypeOrAny = ObjType | typeof OBJ_ANY;

/** What an object type provides (iommufd_object_ops). */
export interface IommufdObject {
  readonly type: ObjType;
  /** Tear down after removal from the table (ops->destroy). */
  destroy(): void;
  /** Undo a fully initialised but never finalized object (ops->abort); destroy() when absent. */
  abort?(): void;
  /** Revoke long-held temporary references before waiting for them (ops->pre_destroy, newer kernels). */
  preDestroy?(): void;
}

/** iommufd_should_fail() in iommufd_get_object. */
export const FP_GET_OBJECT = faultPoint('iommufd_get_object', 'iommufd');

const RESERVED = 0;
const LIVE = 1;
const TOMBSTONE = 2;

interface Entry<T extends IommufdObject> {
  readonly obj: T | undefined;
  readonly id: number;
  users: number;
  waitCnt: number;
  state: typeof RESERVED | typeof LIVE | typeof TOMBSTONE;
}

export interface ObjectTableOptions<T extends IommufdObject> {
  readonly warn?: WarnSink;
  readonly faults?: FaultRouter;
  /** Highest ID: INT_MAX (xa_limit_31b) upstream; U32_MAX in the first releases. */
  readonly maxId?: number;
  /** Called when iommufd_object_remove takes an object out (clears ictx->vfio_ioas). */
  readonly onRemove?: (obj: T) => void;
}

export interface RemoveOptions {
  /** REMOVE_WAIT(_SHORTTERM): the caller holds a users reference and waits out temporary ones. */
  readonly wait?: boolean;
  /** REMOVE_OBJ_TOMBSTONE: keep the ID reserved until close. */
  readonly tombstone?: boolean;
}

/** Coverage sites of ObjectTable's methods (base/coverage.ts). */
const COV_ObjectTable = coverSites('ObjectTable', ['alloc', 'finalize', 'abort', 'abortAndDestroy', 'allocUcmd', 'get', 'put', 'incUsers', 'decUsers', 'remove', 'removeObject', 'destroyUser', 'tombstoneUser', 'putAndTryDestroy', 'removeEntry', 'decWait', 'release', 'xaEmpty', 'entryOf', 'freeSlot', 'warnOn']);

export class ObjectTable<T extends IommufdObject = IommufdObject> {
  private readonly slots = new Map<number, Entry<T>>();
  private readonly entries = new Map<T, Entry<T>>();
  /** Every ID below this is occupied. */
  private lowestFree = 1;
  private readonly warn: WarnSink | undefined;
  private readonly faults: FaultRouter | undefined;
  private readonly maxId: number;
  private readonly onRemove: ((obj: T) => void) | undefined;
  /**
   * Bumped whenever what the table shows changes (an object published or
   * gone, an ID tombstoned, a long-term users reference taken or dropped):
   * the fuzzer's state fingerprint reads it to know the objects changed.
   */
  changes = 0;

  constructor(opts: ObjectTableOptions<T> = {}) {
    this.warn = opts.warn;
    this.faults = opts.faults;
    this.maxId = opts.maxId ?? 0x7fff_ffff;
    this.onRemove = opts.onRemove;
  }

  // --- allocation -------------------------------------------------------

  /**
   * Reserve the lowest free ID for `obj` (users = 1, invisible until
   * finalize). Returns the ID, or -EBUSY when the ID space is full.
   */
  /** The xarray nodes the next alloc() makes (xa_alloc() of the lowest free ID in an ALLOC1 xarray). */
  nextIdNodes(): number {
    let id = this.lowestFree;
    while (this.slots.has(id)) id++;
    // (a non-empty table always has the leaf of IDs 0..63: the zero entry at 0 is in it)
    if (id < 64) return this.slots.size === 0 ? 1 : 0;
    return xaNodesNeeded(this.slots.keys(), id, true);
  }

  alloc(obj: T): number {
    cover(COV_ObjectTable.alloc);
    if (this.entries.has(obj)) throw new Error('object already in the table');
    let id = this.lowestFree;
    while (this.slots.has(id)) id++;
    if (id > this.maxId) return -EBUSY;
    const e: Entry<T> = { obj, id, users: 1, waitCnt: 1, state: RESERVED };
    this.slots.set(id, e);
    this.entries.set(obj, e);
    this.lowestFree = id + 1;
    return id;
  }

  /** Publish a reserved object: lookups and DESTROY see it from now on. */
  finalize(obj: T): void {
    cover(COV_ObjectTable.finalize);
    const e = this.entries.get(obj);
    if (this.warnOn(e?.state !== RESERVED, 'iommufd_object_finalize', 'object is not a reserved entry') || !e) return;
    e.state = LIVE;
    this.changes++;
  }

  /** Drop a reserved, never finalized object and free its ID (no destroy callback). */
  abort(obj: T): void {
    cover(COV_ObjectTable.abort);
    const e = this.entries.get(obj);
    if (this.warnOn(e?.state !== RESERVED, 'iommufd_object_abort', 'object is not a reserved entry') || !e) return;
    this.freeSlot(e);
    this.entries.delete(obj);
    this.warnOn(e.users !== 1, 'iommufd_object_abort.users', `users ${e.users} at abort`);
  }

  /** Abort an object whose type-specific state is set up: ops->abort (or destroy), then abort(). */
  abortAndDestroy(obj: T): void {
    cover(COV_ObjectTable.abortAndDestroy);
    if (obj.abort) obj.abort();
    else obj.destroy();
    this.abort(obj);
  }

  /**
   * iommufd_object_alloc_ucmd: reserve the ID and let the ioctl's return value
   * decide (0 finalizes, an error aborts and destroys). -EBUSY if the command
   * already allocated one, or the alloc() error.
   */
  allocUcmd<C>(ucmd: Ucmd<C>, obj: T): number {
    cover(COV_ObjectTable.allocUcmd);
    const id = this.alloc(obj);
    if (id < 0) return id;
    const rc = ucmd.onComplete((ret) => {
      if (ret) this.abortAndDestroy(obj);
      else this.finalize(obj);
    });
    if (rc) {
      this.warnOn(true, 'iommufd_object_alloc_ucmd', 'second object allocated in one command');
      this.abort(obj);
      return rc;
    }
    return id;
  }

  // --- lookup and references ---------------------------------------------

  /**
   * iommufd_get_object: the finalized object with this ID and type (or any
   * type), with a temporary reference taken; -ENOENT otherwise.
   */
  get(id: number, type: ObjTypeOrAny = OBJ_ANY): T | number {
    cover(COV_ObjectTable.get);
    if (this.faults?.shouldFail(FP_GET_OBJECT)) return -ENOENT;
    const e = this.slots.get(id);
    if (!e || e.state !== LIVE || !e.obj) return -ENOENT;
    if (type !== OBJ_ANY && e.obj.type !== type) return -ENOENT;
    if (e.users === 0) return -ENOENT;
    if (e.waitCnt === 0) return -ENOENT;
    e.users++;
    e.waitCnt++;
    return e.obj;
  }

  /** iommufd_put_object: drop the temporary reference from get(). */
  put(obj: T): void {
    cover(COV_ObjectTable.put);
    const e = this.entryOf(obj);
    if (!e) return;
    this.warnOn(e.users <= 0 || e.waitCnt <= 0, 'iommufd_put_object', 'refcount underflow');
    e.users--;
    e.waitCnt--;
  }

  /** refcount_inc(&obj->users): a long-term reference. */
  incUsers(obj: T): void {
    cover(COV_ObjectTable.incUsers);
    const e = this.entryOf(obj);
    if (!e) return;
    this.warnOn(e.users === 0, 'refcount_inc', 'increment on 0; use-after-free');
    e.users++;
    this.changes++;
  }

  /** refcount_dec(&obj->users): drop a long-term reference (never frees). */
  decUsers(obj: T): void {
    cover(COV_ObjectTable.decUsers);
    const e = this.entryOf(obj);
    if (!e) return;
    e.users--;
    this.changes++;
    this.warnOn(e.users <= 0, 'refcount_dec', 'decrement hit 0; leaking memory');
  }

  /** The object's ID (0 once it has left the table). */
  idOf(obj: T): number {
    return this.entries.get(obj)?.id ?? 0;
  }

  /** The object's `users` count (0 once it has left the table). */
  usersOf(obj: T): number {
    return this.entries.get(obj)?.users ?? 0;
  }

  /** Whether the object is finalized and still in the table. */
  isLive(obj: T): boolean {
    return this.entries.get(obj)?.state === LIVE;
  }

  // --- removal ------------------------------------------------------------

  /**
   * IOMMU_DESTROY (iommufd_object_remove with no object and no flags):
   * ENOENT for a free, reserved or tombstoned ID; EBUSY unless the table holds
   * the only reference; otherwise the object leaves the table and is destroyed.
   */
  remove(id: number): number {
    cover(COV_ObjectTable.remove);
    return this.removeEntry(undefined, id, false, false);
  }

  /**
   * iommufd_object_remove on an object the caller holds a users reference on:
   * that reference is dropped, then the object is destroyed if nothing else
   * holds it (-EBUSY otherwise, the object stays).
   */
  removeObject(obj: T, opts: RemoveOptions = {}): number {
    cover(COV_ObjectTable.removeObject);
    const e = this.entryOf(obj);
    if (!e) {
      this.warnOn(true, 'iommufd_object_remove', 'object not in the table');
      return -ENOENT;
    }
    return this.removeEntry(e, e.id, opts.wait === true, opts.tombstone === true);
  }

  /** iommufd_object_destroy_user: driver-side destroy of an object it holds; WARNs if it cannot. */
  destroyUser(obj: T): number {
    cover(COV_ObjectTable.destroyUser);
    const rc = this.removeObject(obj, { wait: true });
    this.warnOn(rc !== 0, 'iommufd_object_destroy_user', `remove failed: ${rc}`);
    return rc;
  }

  /** iommufd_object_tombstone_user: like destroyUser, leaving the ID unusable until close. */
  tombstoneUser(obj: T): number {
    cover(COV_ObjectTable.tombstoneUser);
    const rc = this.removeObject(obj, { wait: true, tombstone: true });
    this.warnOn(rc !== 0, 'iommufd_object_tombstone_user', `remove failed: ${rc}`);
    return rc;
  }

  /** iommufd_object_put_and_try_destroy: drop the caller's reference, destroy if it was the last user. */
  putAndTryDestroy(obj: T): void {
    cover(COV_ObjectTable.putAndTryDestroy);
    this.removeObject(obj);
  }

  private removeEntry(toDestroy: Entry<T> | undefined, id: number, wait: boolean, tombstone: boolean): number {
    cover(COV_ObjectTable.removeEntry);
    let zeroedWait = false;
    if (wait && toDestroy) {
      const rc = this.decWait(toDestroy);
      if (rc) {
        toDestroy.users--;
        return rc;
      }
      zeroedWait = true;
    }

    const e = this.slots.get(id);
    let rc = 0;
    if (toDestroy) {
      if (e?.state === LIVE) e.users--;
      const mismatch = e !== toDestroy || e.state !== LIVE;
      if (this.warnOn(mismatch, 'iommufd_object_remove.mismatch', `slot ${id} does not hold this live object`)) {
        rc = -ENOENT;
      }
    } else if (!e || e.state !== LIVE) {
      rc = -ENOENT;
    }
    if (!rc && e && e.users !== 1) rc = -EBUSY;
    if (rc || !e || !e.obj) {
      if (zeroedWait) toDestroy!.waitCnt = 1;
      return rc || -ENOENT;
    }

    e.users = 0;
    if (tombstone) {
      this.slots.set(id, { obj: undefined, id, users: 0, waitCnt: 0, state: TOMBSTONE });
      this.changes++;
    } else {
      this.freeSlot(e);
    }
    this.entries.delete(e.obj);
    this.onRemove?.(e.obj);

    if (!zeroedWait) {
      const w = this.decWait(e);
      if (this.warnOn(w !== 0, 'iommufd_object_remove.wait', 'temporary reference still held')) return w;
    }
    e.obj.destroy();
    return 0;
  }

  /**
   * iommufd_object_dec_wait: drop the table's waitCnt bias; any other holder
   * would be waited for, which a single thread cannot do: after pre_destroy
   * has had its chance, a remaining holder means the kernel's timeout (-EBUSY).
   */
  private decWait(e: Entry<T>): number {
    cover(COV_ObjectTable.decWait);
    if (--e.waitCnt === 0) return 0;
    e.obj?.preDestroy?.();
    if (e.waitCnt === 0) return 0;
    e.waitCnt++;
    return -EBUSY;
  }

  // --- close --------------------------------------------------------------

  /**
   * iommufd_fops_release: sweep in ascending ID order destroying every object
   * with users == 1, until a sweep sees no object. Tombstones and reserved
   * slots are skipped and dropped at the end. Returns the number of sweeps.
   */
  release(): number {
    cover(COV_ObjectTable.release);
    let sweeps = 0;
    for (;;) {
      sweeps++;
      let destroyed = 0;
      let seen = false;
      const ids = [...this.slots.keys()].sort((a, b) => a - b);
      for (const id of ids) {
        const e = this.slots.get(id);
        if (!e || e.state !== LIVE || !e.obj) continue;
        seen = true;
        if (e.users !== 1) continue;
        e.users = 0;
        destroyed++;
        this.freeSlot(e);
        this.entries.delete(e.obj);
        e.obj.destroy();
      }
      if (!seen) break;
      if (this.warnOn(destroyed === 0, 'iommufd_fops_release', 'objects left with users > 1')) break;
    }
    this.slots.clear();
    this.entries.clear();
    this.lowestFree = 1;
    return sweeps;
  }

  // --- inspection ---------------------------------------------------------

  /** xa_empty(&ictx->objects): no slot at all, counting reserved IDs and tombstones. */
  xaEmpty(): boolean {
    cover(COV_ObjectTable.xaEmpty);
    return this.slots.size === 0;
  }

  /** Finalized objects in ascending ID order. */
  live(): Array<{ id: number; obj: T; users: number }> {
    const out: Array<{ id: number; obj: T; users: number }> = [];
    let sorted = true;
    for (const e of this.slots.values()) {
      if (e.state === LIVE && e.obj) {
        if (out.length > 0 && out[out.length - 1].id > e.id) sorted = false;
        out.push({ id: e.id, obj: e.obj, users: e.users });
      }
    }
    // (usually in ID order already: no sort then)
    return sorted ? out : out.sort((a, b) => a.id - b.id);
  }

  /** What occupies an ID: 'free', 'reserved' (allocated, not finalized), 'live' or 'tombstone'. */
  slotState(id: number): 'free' | 'reserved' | 'live' | 'tombstone' {
    const e = this.slots.get(id);
    if (!e) return 'free';
    return e.state === LIVE ? 'live' : e.state === RESERVED ? 'reserved' : 'tombstone';
  }

  private entryOf(obj: T): Entry<T> | undefined {
    cover(COV_ObjectTable.entryOf);
    const e = this.entries.get(obj);
    this.warnOn(e === undefined, 'iommufd_object', 'object not in the table');
    return e;
  }

  private freeSlot(e: Entry<T>): void {
    cover(COV_ObjectTable.freeSlot);
    this.changes++;
    this.slots.delete(e.id);
    if (e.id < this.lowestFree) this.lowestFree = e.id;
  }

  private warnOn(cond: boolean, assertion: string, message: string): boolean {
    cover(COV_ObjectTable.warnOn);
    if (cond && this.warn) this.warn.warn(assertion, message);
    return cond;
  }
}
