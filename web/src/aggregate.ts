// SPDX-License-Identifier: GPL-2.0-only
/**
 * Domain runs on a pixel axis: when more runs are visible than there are
 * pixels to draw them, runs are gathered per pixel column (covered bytes and
 * the IOPTE size covering most of it) and neighbouring columns of one kind
 * merge into one bar. A 1 GiB mapping of 260k scattered 4 KiB runs draws as
 * at most `px` bars.
 */
import type { FlatRuns } from './data.js';

export interface Bar {
  /** IOVA span [x0, x1) drawn. */
  x0: number;
  x1: number;
  pgsize: number;
  /** Fraction of the span mapped (1 when drawn run by run). */
  fill: number;
  /** Runs behind the bar. */
  runs: number;
  dirty: boolean;
}

/** Index of the first run ending after `x`. */
export function firstRunAfter(r: FlatRuns, x: number): number {
  let lo = 0;
  let hi = r.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (r.flat[5 * mid] + r.flat[5 * mid + 1] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The bars for IOVA [v0, v1) on `px` pixels; runs one by one while at most `px / 2` are visible. */
export function aggregateRuns(r: FlatRuns, v0: number, v1: number, px: number): Bar[] {
  const a = r.flat;
  const start = firstRunAfter(r, v0);
  let end = start;
  while (end < r.count && a[5 * end] < v1) end++;
  const out: Bar[] = [];
  if (end - start <= px / 2) {
    for (let k = start; k < end; k++) out.push({ x0: a[5 * k], x1: a[5 * k] + a[5 * k + 1], pgsize: a[5 * k + 3], fill: 1, runs: 1, dirty: a[5 * k + 4] === 1 });
    return out;
  }
  const w = (v1 - v0) / px;
  const cover = new Float64Array(px);
  const big = new Float64Array(px);
  const count = new Uint32Array(px);
  const dirty = new Uint8Array(px);
  const sizes: number[] = [];
  for (let k = start; k < end; k++) {
    const s = Math.max(a[5 * k], v0);
    const e = Math.min(a[5 * k] + a[5 * k + 1], v1);
    const ps = a[5 * k + 3];
    if (!sizes.includes(ps)) sizes.push(ps);
    const smallest = Math.min(...sizes);
    const c0 = Math.floor((s - v0) / w);
    // A run counts once, in the column where it starts; it covers every column it reaches.
    if (c0 < px) count[c0]++;
    for (let c = c0; c < px && v0 + c * w < e; c++) {
      const cs = Math.max(s, v0 + c * w);
      const ce = Math.min(e, v0 + (c + 1) * w);
      if (ce <= cs) continue;
      cover[c] += ce - cs;
      if (ps > smallest) big[c] += ce - cs;
      if (a[5 * k + 4] === 1) dirty[c] = 1;
    }
  }
  const smallest = sizes.length ? Math.min(...sizes) : 0;
  const largest = sizes.length ? Math.max(...sizes) : 0;
  let cur: Bar | undefined;
  for (let c = 0; c < px; c++) {
    if (cover[c] === 0) {
      cur = undefined;
      continue;
    }
    const pg = big[c] * 2 > cover[c] ? largest : smallest;
    const fill = Math.round((cover[c] / w) * 4) / 4;
    if (cur && cur.pgsize === pg && cur.fill === fill && cur.dirty === (dirty[c] === 1)) {
      cur.x1 = v0 + (c + 1) * w;
      cur.runs += count[c];
    } else {
      cur = { x0: v0 + c * w, x1: v0 + (c + 1) * w, pgsize: pg, fill, runs: count[c], dirty: dirty[c] === 1 };
      out.push(cur);
    }
  }
  return out;
}
