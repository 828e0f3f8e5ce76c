// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault injection in the manner of the kernel's fault_attr + fail_nth.
 *
 * Every place the kernel can be made to fail (an `iommufd_should_fail()` call,
 * a kmalloc/xa allocation under failslab, a GUP) is a named FaultPoint. Each
 * task has a FailNth: writing N to /proc/self/task/<tid>/fail-nth arms it so
 * that the Nth fault point the task passes fails; reading it back gives the
 * count still to go (0 once it fired or when disarmed). `passed` counts every
 * point reached, armed or not, so a sweep can tell when a call stopped
 * reaching new points.
 *
 * Points belong to a class like the kernel's separate fault attributes:
 * 'iommufd' (fail_iommufd, iommufd_should_fail), 'slab' (failslab: kmalloc,
 * kzalloc, xa_store allocations), 'page' (fail_page_alloc), 'atomic'
 * (failslab's allocations that cannot wait, GFP_NOWAIT / GFP_ATOMIC, which
 * ignore-gfp-wait does not exempt). Selftests enable all of them for the
 * fail_nth task.
 */

export type FaultClass = 'iommufd' | 'slab' | 'page' | 'atomic';

export interface FaultPoint {
  readonly name: string;
  readonly cls: FaultClass;
}

const registry = new Map<string, FaultPoint>();

/** Declare a fault point once at module load; the returned handle is passed to shouldFail. */
export function faultPoint(name: string, cls: FaultClass): FaultPoint {
  const existing = registry.get(name);
  if (existing) return existing;
  const p: FaultPoint = Object.freeze({ name, cls });
  registry.set(name, p);
  return p;
}

/** Every fault point declared so far (for sweeps and docs). */
export function allFaultPoints(): FaultPoint[] {
  return [...registry.values()];
}

/** Per-task fail-nth state. */
export class FailNth {
  /** Remaining points until the failing one; 0 = disarmed or already fired. */
  private remaining = 0;
  /** Every fault point passed since the task was created (or reset). */
  passed = 0;
  /** The point that failed most recently. */
  lastFailed: FaultPoint | undefined;
  /** Classes that may fail for this task; all by default. */
  enabled: Set<FaultClass> = new Set(['iommufd', 'slab', 'page', 'atomic']);

  /** Write N to fail-nth: fail the Nth point from now (N >= 1), 0 disarms. */
  arm(n: number): void {
    this.remaining = Math.max(0, Math.floor(n));
    this.lastFailed = undefined;
  }

  /** Read fail-nth: how many points are still to go (0 after it fired). */
  read(): number {
    return this.remaining;
  }

  /**
   * Pass `n` points at once, as n shouldFail() calls would, when none of them
   * can fail (nothing armed): true. False, passing nothing, when armed.
   */
  passMany(n: number): boolean {
    if (this.remaining !== 0) return false;
    this.passed += n;
    return true;
  }

  /** Called at each fault point reached by this task. */
  shouldFail(point: FaultPoint): boolean {
    this.passed++;
    if (this.remaining === 0 || !this.enabled.has(point.cls)) return false;
    if (--this.remaining === 0) {
      this.lastFailed = point;
      return true;
    }
    return false;
  }
}

/** Told of every fault point passed through shouldFail() and whether it failed (the fuzzer's signal). */
export type FaultHook = (point: FaultPoint, failed: boolean) => void;

let faultHook: FaultHook | undefined;

/** Set (or clear, with undefined) the hook every FaultRouter reports to; returns the previous one. */
export function setFaultHook(h: FaultHook | undefined): FaultHook | undefined {
  const prev = faultHook;
  faultHook = h;
  return prev;
}

/**
 * The machine-wide switch that routes fault points to the current task.
 * Code deep in the model calls `faults.shouldFail(P)`; the machine sets
 * `current` on syscall entry.
 */
export class FaultRouter {
  current: FailNth | undefined;
  /**
   * fail_page_alloc's min-order: page allocations of a lower order are not
   * its to fail (the default 1 leaves single pages alone: should_fail_alloc_page()).
   */
  pageMinOrder = 1;

  /**
   * No point can fail for the current task (nothing armed). Batched fast
   * paths test this once and count their points with passQuiet(); an armed
   * task goes point by point.
   */
  quiet(): boolean {
    const c = this.current;
    return c === undefined || c.read() === 0;
  }

  /** Count `n` passes of points that could not fail (after quiet() said so). */
  passQuiet(n: number): void {
    this.current?.passMany(n);
  }

  /** A page allocation of `order` at `point`: a fault point only from pageMinOrder up. */
  shouldFailPages(point: FaultPoint, order: number): boolean {
    return order >= this.pageMinOrder && this.shouldFail(point);
  }

  shouldFail(point: FaultPoint): boolean {
    const c = this.current;
    const failed = c?.shouldFail(point) === true;
    if (faultHook !== undefined) faultHook(point, failed);
    return failed;
  }
}
