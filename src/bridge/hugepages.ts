// SPDX-License-Identifier: GPL-2.0-only
/**
 * The hugetlb pool's files under exec, answered from the model's pool
 * (mm/hugetlb.c hugetlb_report_meminfo(), nr_hugepages_show/store(),
 * free_hugepages_show(), resv_hugepages_show(), surplus_hugepages_show()):
 * exec emulates hugetlb, so the host's pool says nothing about the model's,
 * and a program that sizes the pool must not size the host's.
 *
 * The model's pool is a limit with pages in use and reserved (its pages come
 * from free blocks on demand, and nr_overcommit_hugepages is 0).
 */
import { EINVAL } from '../base/errno.js';
import { kstrtoull } from '../base/kstrtox.js';
import type { PhysicalMemory } from '../mm/physical-memory.js';
import { PMD_ORDER, PUD_ORDER } from '../mm/constants.js';

/** The sysfs directory name of each pool: hugepages-2048kB, hugepages-1048576kB. */
export const POOL_DIRS: ReadonlyArray<[string, number]> = [
  ['hugepages-2048kB', PMD_ORDER],
  ['hugepages-1048576kB', PUD_ORDER],
];

/**
 * A pool as hugetlb's counters say: the size asked for (max_huge_pages, the
 * model's limit), the pages there are (never fewer than those in use or
 * reserved: a shrink below them keeps the rest as surplus pages until they
 * go), free, reserved, surplus.
 */
function pool(phys: PhysicalMemory, order: number): { max: number; total: number; free: number; resv: number; surplus: number } {
  const s = phys.hugetlbStats(order);
  const max = Number.isFinite(s.limit) ? s.limit : s.inUse + s.reserved;
  const total = max + s.surplus;
  return { max, total, free: total - s.inUse, resv: s.reserved, surplus: s.surplus };
}

/**
 * The pool files a program may open for writing (0644 with a store). The
 * others are read-only (0444), and so is nr_overcommit_hugepages here: the
 * model allocates no surplus pages, so it stays 0.
 */
export const POOL_WRITABLE: ReadonlySet<string> = new Set(['nr_hugepages', 'sysctl_nr_hugepages']);

/** Whether the model has a pool of this order (1 GiB pages only with gbpages). */
export function hasPool(phys: PhysicalMemory, order: number): boolean {
  return order === PMD_ORDER || phys.gbpages;
}

/** An unsigned long counter that went below zero, as %lu prints it (resv_huge_pages while restores are pending). */
function ulong(n: number): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

/** A pool file's text: `file` of the pool of `order`. */
export function poolFileText(phys: PhysicalMemory, order: number, file: string): string | undefined {
  const p = pool(phys, order);
  switch (file) {
    case 'nr_hugepages':
      return `${p.total}\n`;
    // /proc/sys/vm/nr_hugepages: the size asked for (hugetlb_sysctl_handler_common() reads max_huge_pages)
    case 'sysctl_nr_hugepages':
      return `${p.max}\n`;
    case 'free_hugepages':
      return `${p.free}\n`;
    case 'resv_hugepages':
      return `${ulong(p.resv)}\n`;
    case 'surplus_hugepages':
      return `${p.surplus}\n`;
    case 'nr_overcommit_hugepages':
      return '0\n';
    default:
      return undefined;
  }
}

/**
 * A write of nr_hugepages: the bytes taken or -errno. Who may write was
 * decided when the file was opened (POOL_WRITABLE, root's 0644). The sysfs
 * file's store (__nr_hugepages_store_common()) parses kernfs's NUL-ended copy
 * with kstrtoul(buf, 10); /proc/sys/vm/nr_hugepages goes through
 * proc_doulongvec_minmax() (sysctlUlong()). Then set_max_huge_pages(): at
 * most what memory holds; the pages in use or reserved beyond the new size
 * stay, as surplus (pool() counts them).
 */
export function poolWrite(phys: PhysicalMemory, order: number, bytes: Uint8Array, file: string): number {
  let n: bigint | number;
  let taken = bytes.length;
  if (file === 'sysctl_nr_hugepages') {
    const r = sysctlUlong(bytes);
    if (typeof r === 'number') return r;
    [n, taken] = r;
  } else {
    const nul = bytes.indexOf(0);
    n = kstrtoull(nul >= 0 ? bytes.subarray(0, nul) : bytes, 10);
    if (typeof n === 'number') return n;
  }
  const fit = Math.floor(phys.totalFrames / 2 ** order);
  phys.setHugetlbLimit(order, n > BigInt(fit) ? fit : Number(n));
  return taken;
}

const isSpace = (c: number | undefined): boolean => c !== undefined && (c === 0x20 || (c >= 0x09 && c <= 0x0d));

/**
 * One unsigned long from a write to a sysctl (__do_proc_doulongvec_minmax()
 * of a one-value table): blanks skipped, proc_get_long() (at most 21
 * characters, a digit first, base from the prefix as simple_strtoul()'s, then a
 * blank, tab or newline or the end; a '-' is EINVAL), blanks skipped again;
 * the value and the bytes taken (what is left after that is not), or -EINVAL.
 */
function sysctlUlong(all: Uint8Array): [bigint, number] | number {
  // (the handler reads at most a page less one byte of the write)
  const b = all.subarray(0, 4095);
  let i = 0;
  while (i < b.length && isSpace(b[i])) i++;
  if (i === b.length || b[i] === 0x2d || b[i] < 0x30 || b[i] > 0x39) return -EINVAL;
  // proc_get_long() works on a copy of at most 21 characters; simple_strtoul() with base 0 reads as far as it can
  const tmp = b.subarray(i, i + 21);
  const digit = (c: number | undefined): number => (c === undefined ? 99 : c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : 99);
  let base = 10;
  let len = 0;
  if (tmp[0] === 0x30) {
    base = (tmp[1] | 0x20) === 0x78 && digit(tmp[2]) < 16 ? 16 : 8;
    if (base === 16) len = 2;
  }
  let v = 0n;
  for (; len < tmp.length && digit(tmp[len]) < base; len++) {
    v = v * BigInt(base) + BigInt(digit(tmp[len]));
    if (v > 0xffffffffffffffffn) return -EINVAL;
  }
  if (len === 21) return -EINVAL;
  i += len;
  if (i < b.length && b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== 0x0a) return -EINVAL;
  while (i < b.length && isSpace(b[i])) i++;
  return [v, all.length - (b.length - i)];
}

/**
 * /proc/meminfo: the real text with the hugetlb lines the model's (HugePages_* of the default size, Hugetlb of all),
 * and AnonHugePages the model's THPs (`anonThpBytes`, src/mm/task-mmu.ts) when given.
 */
export function meminfoText(real: string, phys: PhysicalMemory, anonThpBytes?: number): string {
  const p = pool(phys, PMD_ORDER);
  let hugetlbKb = p.total * 2048;
  if (phys.gbpages) hugetlbKb += pool(phys, PUD_ORDER).total * 1024 * 1024;
  const values: Record<string, number | bigint> = { HugePages_Total: p.total, HugePages_Free: p.free, HugePages_Rsvd: ulong(p.resv), HugePages_Surp: p.surplus, Hugetlb: hugetlbKb };
  if (anonThpBytes !== undefined) values.AnonHugePages = anonThpBytes / 1024;
  return real
    .split('\n')
    .map((l) => {
      const f = /^([^:]+:)(\s*)(\d+)(.*)$/.exec(l);
      const v = f ? values[f[1].slice(0, -1)] : undefined;
      if (!f || v === undefined) return l;
      const width = f[2].length + f[3].length;
      const text = String(v);
      // hugetlb_report_meminfo()'s "HugePages_*:" lines are fixed blanks then %5lu: a longer number keeps the blanks
      const blanks = f[1].startsWith('HugePages_') ? width - Math.max(5, f[3].length) : 0;
      return f[1] + (blanks > 0 && text.length > width - blanks ? ' '.repeat(blanks) + text : text.padStart(width)) + f[4];
    })
    .join('\n');
}
