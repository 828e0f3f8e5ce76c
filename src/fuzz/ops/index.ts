// SPDX-License-Identifier: GPL-2.0-only
/**
 * The op registry: every op module of the program format, in the order the
 * `ops` listing, the schema and the generator's op table use. Adding an op
 * is adding its module to a family file and the family here.
 */
import type { Profile } from '../../base/profile.js';
import { FAULT_OPS } from './fault.js';
import { FILE_IO_OPS } from './file-io.js';
import { HWPT_OPS } from './hwpt.js';
import { IOAS_OPS } from './ioas.js';
import { META_OPS, RAW_OPS } from './meta.js';
import { MM_OPS } from './mm.js';
import { FILE_OPS, PROCESS_OPS } from './process.js';
import { SELFTEST_OPS } from './selftest.js';
import { SELFTEST_HWPT_OPS } from './selftest-hwpt.js';
import type { OpModule, OpSpec } from './types.js';
import { VFIO_OPS } from './vfio.js';
import { V7_OPS } from './v7.js';
import { VIOMMU_OPS } from './viommu.js';

export const OP_MODULES: readonly OpModule[] = [
  ...MM_OPS,
  ...PROCESS_OPS,
  ...FILE_OPS,
  ...FILE_IO_OPS,
  ...IOAS_OPS,
  ...SELFTEST_OPS,
  ...VFIO_OPS,
  ...META_OPS,
  ...RAW_OPS,
  // 6.6-6.12: HWPTs, dirty tracking, nesting, fault queues
  ...HWPT_OPS,
  ...SELFTEST_HWPT_OPS,
  ...FAULT_OPS,
  // 7.x
  ...VIOMMU_OPS,
  ...V7_OPS,
];

/** Op modules by name. */
export const OP_REGISTRY: ReadonlyMap<string, OpModule> = new Map(OP_MODULES.map((m) => [m.name, m]));

/** Every op's spec by name (the program format). */
export const OPS: Readonly<Record<string, OpSpec>> = Object.freeze(Object.fromEntries(OP_MODULES.map((m) => [m.name, m.spec])));

/** The module of op `name`, if there is one. */
export function opModule(name: string): OpModule | undefined {
  return OP_REGISTRY.get(name);
}

/** The profile's kernel has op `name` (ops without a capability test exist everywhere). */
export function opAvailable(name: string, p: Profile | undefined): boolean {
  const m = OP_REGISTRY.get(name);
  if (!m) return false;
  return p === undefined || m.available === undefined || m.available(p);
}
