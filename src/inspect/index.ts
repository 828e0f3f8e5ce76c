// SPDX-License-Identifier: GPL-2.0-only
/**
 * inspect/: read-only, typed, JSON-ready snapshots of a machine and their
 * diff. The report, the fuzzer's state signal and the explorer read model
 * state only through here.
 */
export * from './diff.js';
export * from './holders.js';
export * from './snapshot.js';
export * from './summary.js';
export type * from './types.js';
export type * from './page-data.js';
