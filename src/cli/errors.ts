// SPDX-License-Identifier: GPL-2.0-only
/** Errors of the command line. */

/** A user error: printed without a stack trace, exit status 2. */
export class UsageError extends Error {}
