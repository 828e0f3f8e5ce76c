// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommufd-sim: an executable model of Linux iommufd on a simulated machine.
 *
 *   import { Machine, IommufdClient } from 'iommufd-sim';
 *   const m = new Machine({ memory: '1G' });
 *   const p = m.spawn({ memlock: '64M' });
 *   const c = IommufdClient.open(p);
 *   const ioas = c.ioasAlloc();
 *
 * The machine and its syscall surface, the mm uAPI constants, errno names and
 * the error type, kernel profiles, the typed clients, every uAPI constant and
 * struct layout (also as the `uapi` namespace), and scenario programs: parse,
 * run, format and export to C.
 *
 * Deeper entry points, exported on purpose: `iommufd-sim/program` (the
 * program format: OPS, values, validation), `iommufd-sim/executor`,
 * `iommufd-sim/export-c`, `iommufd-sim/fuzz` (campaigns), `iommufd-sim/inspect`
 * (read-only, JSON-ready snapshots of a machine and their diffs) and
 * `iommufd-sim/cli` (`main(argv)` of the command).
 */
export * from './machine/index.js';
export { DEV_IOMMU, DEV_VFIO, iommufdCtxOf, iommufdEnvOf } from './machine/iommufd-node.js';
export * from './base/errno.js';
export { KernelWarning, type WarningRecord } from './base/warn.js';
export { PROFILE_NAMES, type Profile, type ProfileName, profileByName } from './base/profile.js';
export * from './client/index.js';
export * from './iommufd/uapi.js';
export * as uapi from './iommufd/uapi.js';
export { type Call, type ParseResult, type Program, formatProgram, parseProgram, validateProgram } from './fuzz/program.js';
export { type CallResult, type RunOptions, type RunResult, runProgram } from './fuzz/executor.js';
export { exportC } from './fuzz/export-c.js';
