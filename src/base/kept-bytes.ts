// SPDX-License-Identifier: GPL-2.0-only
/**
 * A byte buffer kept from call to call, for work that writes every byte it
 * later reads (a bounce buffer filled by a copy before anything reads it):
 * a fresh zeroed buffer of up to 16 MiB per call costs more than the copy.
 */
export class KeptBytes {
  private buf: Uint8Array;

  /** Kept up to `max` bytes; a longer request gets a buffer of its own. */
  constructor(private readonly max: number) {
    this.buf = new Uint8Array(Math.min(max, 64 * 1024));
  }

  /** `n` bytes holding whatever an earlier user left: write them before reading them. */
  get(n: number): Uint8Array {
    if (n > this.max) return new Uint8Array(n);
    if (n > this.buf.length) this.buf = new Uint8Array(Math.min(this.max, 2 * n));
    return this.buf.subarray(0, n);
  }
}
