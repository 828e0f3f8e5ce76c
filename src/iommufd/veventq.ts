// SPDX-License-Identifier: GPL-2.0-only
/**
 * vEVENTQs (eventq.c, 7.2: the vIOMMU half of the event queues the fault
 * queue shares): IOMMU_VEVENTQ_ALLOC makes a VEVENTQ object of one type on a
 * vIOMMU (one per type: -EEXIST) with a depth in [1, 2^19], and its file
 * ("[iommufd-viommu-event]"). The queue holds a user of its vIOMMU, so the
 * vIOMMU cannot be destroyed while it lives.
 *
 * - The driver reports an event (iommufd_viommu_report_event) to the queue of
 *   its type (-EOPNOTSUPP without one). Every report, delivered or lost,
 *   takes the next sequence number (31 bits, wrapping to 0). A report while
 *   `depth` events wait, or whose allocation fails (-ENOMEM to the driver),
 *   queues the LOST_EVENTS header instead: one header, always last, carrying
 *   the latest lost sequence; a later event takes its place at the tail.
 * - read(2) needs room for a header (8 bytes: flags, sequence; -EINVAL) and
 *   hands out whole records (header + event data) while they fit; a first
 *   event that does not fit is -EINVAL. The LOST_EVENTS header is read as a
 *   copy (a failed GFP_ATOMIC copy is -ENOMEM when nothing was read); a
 *   faulting copy puts the record back (-EFAULT when nothing was read).
 * - poll: readable while a record waits; never writable (no write op).
 *
 * The file holds a user of the object and a context reference, as the fault
 * file does (fault.ts).
 */
import { EEXIST, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../base/errno.js';
import { faultPoint } from '../base/fault.js';
import { type KernelAllocation, allocPseudoFile, kernelAlloc, kernelFree } from './env.js';
import { POLLIN, POLLRDNORM } from './fault.js';
import type { IommufdCtx, IommufdFile } from './main.js';
import type { IommufdObject } from './object-table.js';
import type { Ucmd, UserMemory } from './ucmd.js';
import { type ViommuObject, getViommu } from './viommu.js';

/** kzalloc of struct iommufd_veventq (__iommufd_object_alloc). */
export const FP_VEVENTQ_ALLOC = faultPoint('kzalloc.iommufd_veventq', 'slab');
/** anon_inode_getfile() of the vEVENTQ file. */
export const FP_VEVENTQ_FILE = faultPoint('alloc_file_pseudo.iommufd_viommu_event', 'slab');
/** ... and its dentry, allocated first (d_alloc_pseudo()). */
export const FP_VEVENTQ_DENTRY = faultPoint('d_alloc_pseudo.iommufd_viommu_event', 'slab');
/** kzalloc(GFP_NOWAIT) of one event in iommufd_viommu_report_event (a failure logs LOST_EVENTS). */
export const FP_VEVENT_ALLOC = faultPoint('kzalloc.iommufd_vevent', 'atomic');
/** kzalloc(GFP_ATOMIC) of the LOST_EVENTS header's copy in read. */
export const FP_VEVENT_LOST_COPY = faultPoint('kzalloc.iommufd_vevent_lost', 'slab');

/** IOMMU_VEVENTQ_TYPE_DEFAULT: reserved. */
export const IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
/** IOMMU_VEVENTQ_FLAG_LOST_EVENTS */
export const IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1 << 0;
/** VEVENTQ_MAX_DEPTH */
export const VEVENTQ_MAX_DEPTH = 1 << 19;
/** sizeof(struct iommufd_vevent_header) */
export const VEVENT_HEADER_SIZE = 8;
/** The file kind of a vEVENTQ fd. */
export const VEVENTQ_FILE_KIND = 'iommufd-viommu-event';

const SIZEOF_VEVENTQ = 176;
/** sizeof(struct iommufd_vevent) before its data */
const SIZEOF_VEVENT = 40;
const INT_MAX = 0x7fff_ffff;

/** struct iommufd_vevent: one record (or the LOST_EVENTS header). */
interface Vevent {
  readonly lost: boolean;
  sequence: number;
  readonly data: Uint8Array;
  readonly alloc: KernelAllocation | undefined;
}

/** struct iommufd_veventq */
export class VeventqObject implements IommufdObject {
  readonly type = 'VEVENTQ' as const;
  /** Records not read yet, oldest first; the LOST_EVENTS header, when present, is last. */
  readonly deliver: Vevent[] = [];
  /** wake_up_interruptible() calls of the wait queue (one per record or LOST_EVENTS update queued). */
  wakeups = 0;
  /** Events (not the header) waiting. */
  numEvents = 0;
  /** The sequence number of the next report. */
  sequence = 0;
  readonly lostHeader: Vevent = { lost: true, sequence: 0, data: new Uint8Array(0), alloc: undefined };
  file: VeventqFile | undefined;
  private gone = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly viommu: ViommuObject,
    readonly eventType: number,
    readonly depth: number,
    private readonly alloc: KernelAllocation,
  ) {}

  get id(): number {
    return this.ctx.objects.idOf(this);
  }

  /** iommufd_veventq_abort() / _destroy(): free the records, leave the vIOMMU. */
  destroy(): void {
    if (this.ctx.env.warn.on(this.gone, 'iommufd_veventq_destroy.twice')) return;
    this.gone = true;
    for (const v of this.deliver.splice(0)) kernelFree(v.alloc);
    this.numEvents = 0;
    const list = this.viommu.veventqs;
    const k = list.indexOf(this);
    if (k >= 0) list.splice(k, 1);
    this.ctx.objects.decUsers(this.viommu);
    kernelFree(this.alloc);
  }

  abort(): void {
    this.destroy();
  }

  /** iommufd_vevent_handler(): the LOST_EVENTS header leaves the tail as the record joins it; the record takes a sequence number. */
  private handle(v: Vevent): void {
    if (this.deliver.length && this.deliver[this.deliver.length - 1] === this.lostHeader) this.deliver.pop();
    this.deliver.push(v);
    v.sequence = this.sequence;
    this.sequence = (this.sequence + 1) & INT_MAX;
    this.wakeups++;
  }

  /** The event half of iommufd_viommu_report_event(): 0, or -ENOMEM when the event was lost to a failed allocation. */
  report(data: Uint8Array): number {
    const a = kernelAlloc(this.ctx.env, FP_VEVENT_ALLOC, SIZEOF_VEVENT + data.length, false);
    if (!a) {
      this.handle(this.lostHeader);
      return -ENOMEM;
    }
    if (this.numEvents === this.depth) {
      kernelFree(a);
      this.handle(this.lostHeader);
      return 0;
    }
    this.numEvents++;
    this.handle({ lost: false, sequence: 0, data: data.slice(), alloc: a });
    return 0;
  }

  /** iommufd_veventq_deliver_restore(): a record goes back to the head; the header's copy only to an empty list. */
  private restore(v: Vevent): void {
    if (v.lost) {
      kernelFree(v.alloc);
      if (!this.deliver.length) this.deliver.push(this.lostHeader);
      return;
    }
    this.deliver.unshift(v);
  }

  /** iommufd_veventq_fops_read() */
  read(mem: UserMemory, buf: bigint, count: number): number {
    if (count < VEVENT_HEADER_SIZE) return -EINVAL;
    let done = 0;
    let rc = 0;
    const hdr = new Uint8Array(VEVENT_HEADER_SIZE);
    const dv = new DataView(hdr.buffer);
    while (this.deliver.length) {
      // iommufd_veventq_deliver_fetch(): the header is handed out as a copy.
      let cur = this.deliver[0];
      if (cur === this.lostHeader) {
        const a = kernelAlloc(this.ctx.env, FP_VEVENT_LOST_COPY, SIZEOF_VEVENT, false);
        if (!a) {
          if (done === 0) rc = -ENOMEM;
          break;
        }
        cur = { lost: true, sequence: cur.sequence, data: cur.data, alloc: a };
      }
      this.deliver.shift();
      if (done >= count || VEVENT_HEADER_SIZE > count - done) {
        this.restore(cur);
        break;
      }
      if (!cur.lost && VEVENT_HEADER_SIZE + cur.data.length > count - done) {
        this.restore(cur);
        if (done === 0) rc = -EINVAL;
        break;
      }
      dv.setUint32(0, cur.lost ? IOMMU_VEVENTQ_FLAG_LOST_EVENTS : 0, true);
      dv.setUint32(4, cur.sequence, true);
      if (mem.write(buf + BigInt(done), hdr) !== 0) {
        this.restore(cur);
        rc = -EFAULT;
        break;
      }
      if (cur.data.length && mem.write(buf + BigInt(done + VEVENT_HEADER_SIZE), cur.data) !== 0) {
        this.restore(cur);
        rc = -EFAULT;
        break;
      }
      if (!cur.lost) this.numEvents--;
      done += VEVENT_HEADER_SIZE + cur.data.length;
      kernelFree(cur.alloc);
    }
    return done === 0 ? rc : done;
  }

  /** iommufd_eventq_fops_poll() of a vEVENTQ: never writable. */
  poll(): number {
    return this.deliver.length ? POLLIN | POLLRDNORM : 0;
  }
}

/** The vEVENTQ fd. */
export class VeventqFile implements IommufdFile {
  readonly kind = VEVENTQ_FILE_KIND;
  private released = false;
  constructor(
    readonly veventq: VeventqObject,
    private readonly alloc: KernelAllocation,
  ) {}

  get heldCtx(): IommufdCtx {
    return this.veventq.ctx;
  }

  read(mem: UserMemory, buf: bigint, count: number): number {
    return this.veventq.read(mem, buf, count);
  }

  poll(): number {
    return this.veventq.poll();
  }

  wakeups(): number {
    return this.veventq.wakeups;
  }

  /** iommufd_eventq_fops_release(): drop the object and context references. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const ctx = this.veventq.ctx;
    if (this.veventq.file === this) this.veventq.file = undefined;
    if (ctx.objects.usersOf(this.veventq) > 0) ctx.objects.decUsers(this.veventq);
    kernelFree(this.alloc);
    ctx.ctxPut();
  }
}

/** iommufd_viommu_find_veventq() */
export function findVeventq(viommu: ViommuObject, type: number): VeventqObject | undefined {
  return viommu.veventqs.find((q) => q.eventType === type);
}

/**
 * iommufd_viommu_report_event(): queue `data` on the vIOMMU's vEVENTQ of
 * `type`: 0, -EOPNOTSUPP without such a queue, -ENOMEM when the event was
 * lost to a failed allocation.
 */
export function viommuReportEvent(viommu: ViommuObject, type: number, data: Uint8Array): number {
  if (viommu.ctx.env.warn.on(data.length === 0, 'iommufd_viommu_report_event.empty')) return -EINVAL;
  const q = findVeventq(viommu, type);
  if (!q) return -EOPNOTSUPP;
  return q.report(data);
}

/** IOMMU_VEVENTQ_ALLOC (iommufd_veventq_alloc) */
export function veventqAllocIoctl(ucmd: Ucmd<IommufdCtx>): number {
  const ctx = ucmd.ctx;
  const type = ucmd.num('type');
  if (ucmd.num('flags') || ucmd.num('__reserved') || type === IOMMU_VEVENTQ_TYPE_DEFAULT) return -EOPNOTSUPP;
  const depth = ucmd.num('veventq_depth');
  if (!depth || depth > VEVENTQ_MAX_DEPTH) return -EINVAL;
  const viommu = getViommu(ctx, ucmd.num('viommu_id'));
  if (typeof viommu === 'number') return viommu;
  const rc = veventqAlloc(ucmd, viommu, type, depth);
  ctx.objects.put(viommu);
  return rc;
}

function veventqAlloc(ucmd: Ucmd<IommufdCtx>, viommu: ViommuObject, type: number, depth: number): number {
  const ctx = ucmd.ctx;
  const env = ctx.env;
  const objects = ctx.objects;
  if (findVeventq(viommu, type)) return -EEXIST;
  const a = kernelAlloc(env, FP_VEVENTQ_ALLOC, SIZEOF_VEVENTQ, true);
  if (!a) return -ENOMEM;
  const q = new VeventqObject(ctx, viommu, type, depth, a);
  const id = ctx.allocId(q);
  if (id < 0) {
    kernelFree(a);
    return id;
  }
  objects.incUsers(viommu);
  viommu.veventqs.push(q);
  // iommufd_eventq_init(): the file (holding the object and the context), then an fd number.
  const fa = allocPseudoFile(env, FP_VEVENTQ_DENTRY, FP_VEVENTQ_FILE);
  if (!fa) {
    objects.abortAndDestroy(q);
    return -ENOMEM;
  }
  const file = new VeventqFile(q, fa);
  objects.incUsers(q);
  ctx.ctxGet();
  q.file = file;
  const abort = (rc: number): number => {
    // The abort frees the object with the file's reference counted; the file goes by fput.
    objects.decUsers(q);
    objects.abortAndDestroy(q);
    kernelFree(fa);
    ctx.ctxPut();
    return rc;
  };
  // The fd is reserved before the write-back and installed after it (as faultAllocIoctl).
  ucmd.set('out_veventq_id', id);
  ucmd.set('out_veventq_fd', 0);
  let rc = ucmd.respond();
  if (rc) return abort(rc);
  const fd = ctx.files.install(file);
  if (fd < 0) return abort(fd);
  objects.finalize(q);
  ucmd.set('out_veventq_fd', fd);
  rc = ucmd.respond();
  env.warn.on(rc !== 0, 'iommufd_veventq_alloc.respond', 'write-back faulted after a successful one');
  return 0;
}
