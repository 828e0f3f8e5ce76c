// SPDX-License-Identifier: GPL-2.0-only
/**
 * WARN_ON for the model. A broken invariant or a kernel assertion is recorded
 * on the machine's WarnSink (assertion name, message, the syscall that hit it)
 * and, with `panicOnWarn`, thrown as a KernelWarning: the only exception a
 * syscall may raise.
 *
 * `checks` is CONFIG_IOMMUFD_TEST: assertions marked test-only in the kernel
 * (IS_ENABLED(CONFIG_IOMMUFD_TEST) && WARN_ON(...)) run only while it is on.
 * Unconditional WARN_ONs always run.
 *
 * Every WARN_ON site reached is reported to the warn hook when one is set
 * (setWarnHook; the fuzzer's coverage signal: a site passed is like a PC
 * reached, whether or not it fired). No hook: one test of a variable.
 */

/** Told of every WARN_ON site reached (`warned` false) and every warning raised (`warned` true). */
export type WarnHook = (assertion: string, warned: boolean) => void;

let warnHook: WarnHook | undefined;

/** Set (or clear, with undefined) the hook every WarnSink reports to; returns the previous one. */
export function setWarnHook(h: WarnHook | undefined): WarnHook | undefined {
  const prev = warnHook;
  warnHook = h;
  return prev;
}

export interface WarningRecord {
  /** Short stable name of the assertion, e.g. 'batch_clear_carry.keep'. */
  readonly assertion: string;
  readonly message: string;
  /** The syscall being executed when it fired ('' outside syscalls). */
  readonly syscall: string;
}

export class KernelWarning extends Error {
  readonly assertion: string;
  readonly syscall: string;
  constructor(rec: WarningRecord) {
    super(`WARNING: ${rec.assertion}: ${rec.message}${rec.syscall ? ` (in ${rec.syscall})` : ''}`);
    this.name = 'KernelWarning';
    this.assertion = rec.assertion;
    this.syscall = rec.syscall;
  }
}

export class WarnSink {
  readonly warnings: WarningRecord[] = [];
  /** Throw a KernelWarning out of the syscall on every warning. */
  panicOnWarn: boolean;
  /** CONFIG_IOMMUFD_TEST-only assertions enabled. */
  checks: boolean;
  /** Name of the syscall in progress, for the record. */
  syscall = '';

  constructor(opts: { panicOnWarn?: boolean; checks?: boolean } = {}) {
    this.panicOnWarn = opts.panicOnWarn ?? false;
    this.checks = opts.checks ?? true;
  }

  /** Record a warning (and throw when panicking). Always returns true, like WARN_ON(1). */
  warn(assertion: string, message = ''): true {
    if (warnHook !== undefined) warnHook(assertion, true);
    const rec: WarningRecord = { assertion, message, syscall: this.syscall };
    this.warnings.push(rec);
    if (this.panicOnWarn) throw new KernelWarning(rec);
    return true;
  }

  /** WARN_ON(cond): records when cond is true, returns cond. */
  on(cond: boolean, assertion: string, message = ''): boolean {
    if (warnHook !== undefined) warnHook(assertion, false);
    if (cond) this.warn(assertion, message);
    return cond;
  }

  /** IS_ENABLED(CONFIG_IOMMUFD_TEST) && WARN_ON(cond). */
  testOn(cond: boolean, assertion: string, message = ''): boolean {
    if (warnHook !== undefined) warnHook(assertion, false);
    if (!this.checks) return false;
    if (cond) this.warn(assertion, message);
    return cond;
  }
}
