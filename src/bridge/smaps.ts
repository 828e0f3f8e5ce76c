// SPDX-License-Identifier: GPL-2.0-only
/**
 * /proc/PID/smaps under exec: the real process's text, with the blocks of
 * the model's hugetlb VMAs and private anonymous VMAs rewritten from the
 * model (fs/proc/task_mmu.c show_smap(), smaps_hugetlb_range(),
 * smaps_pte_range()). The program's memory is real memory at the same
 * addresses, faulted by its own CPU, but the real kernel here has its own THP
 * mode and its own page sizes: a hugetlb mapping is emulated with ordinary
 * memory, which it shows as 4 KiB anonymous or shmem pages, and anonymous
 * memory the model backs with a THP (the oracle VMs boot THP `always`) it
 * shows as 4 KiB pages. In the model's kernel a hugetlb VMA's page size is
 * the huge page's, its folios count in Private_Hugetlb or Shared_Hugetlb
 * (shared when mapped more than once), never in Rss, Pss, the clean and
 * dirty counts, Anonymous or Locked (mlock skips hugetlb VMAs); an anonymous
 * VMA's counts are the model's page tables' (src/mm/task-mmu.ts). Shared and
 * file mappings keep the real counts (the pages the model's GUP takes from a
 * shared one are faulted into the real page tables after the reply:
 * OP.POPULATE).
 */
import type { SightKeys } from '../base/sight-keys.js';
import type { MmStruct, Vma } from '../mm/address-space.js';
import { PAGE_SIZE, VM_HUGETLB, VM_MAYSHARE } from '../mm/constants.js';
import { isPrivateAnon, type SmapCounts, smapAnonCounts } from '../mm/task-mmu.js';
import type { MemFile } from '../mm/memfile.js';

/** show_smap_vma_flags()'s mnemonics by bit (x86-64; the bits the model keeps). */
const MNEMONICS: ReadonlyArray<[number, string]> = [
  [0, 'rd'],
  [1, 'wr'],
  [2, 'ex'],
  [3, 'sh'],
  [4, 'mr'],
  [5, 'mw'],
  [6, 'me'],
  [7, 'ms'],
  [8, 'gd'],
  [10, 'pf'],
  [11, 'gu'],
  [13, 'lo'],
  [14, 'io'],
  [15, 'sr'],
  [16, 'rr'],
  [17, 'dc'],
  [18, 'de'],
  [19, 'lf'],
  [20, 'ac'],
  [21, 'nr'],
  [22, 'ht'],
  [23, 'sf'],
  [25, 'wf'],
  [26, 'dd'],
  [28, 'mm'],
  [29, 'hg'],
  [30, 'nh'],
  [31, 'mg'],
  // VM_SEALED, bit 63 in the kernel (the model's bit 24): listed last
  [24, 'sl'],
];

/** The VmFlags line's list for VMA flags `f`. */
export function vmFlagsText(f: number): string {
  return MNEMONICS.filter(([bit]) => Math.floor(f / 2 ** bit) % 2 === 1)
    .map(([, m]) => `${m} `)
    .join('');
}

/**
 * The device a hugetlb file of the model shows in /proc/PID/maps: the
 * internal hugetlbfs mount's anonymous superblock (get_anon_bdev(): MAJOR 0,
 * a minor taken in mount order at boot), as the oracle VMs' kernels number
 * it (Linux 6.12.95: 00:0a, 7.2.13: 00:0c).
 */
const HUGETLBFS_DEV: Readonly<Record<string, string>> = { 'v6.12': '00:0a' };
const HUGETLBFS_DEV_LATEST = '00:0c';

/**
 * Inode numbers of the model's hugetlb files as the maps lines show them. The
 * model keeps none (get_next_ino() hands them out machine-wide, pseudo files
 * of every kind taking their turn): each file is numbered from 1 when first
 * shown.
 */
export type HugetlbInodes = SightKeys<object>;

/**
 * A maps header line of the real process for a range the model maps with
 * hugetlb VMA `v`, as the model's kernel prints it (show_map_vma()): the
 * range and flags as they are, the file offset (vm_pgoff), the hugetlbfs
 * device and inode, and the path after padding to column 73, "/anon_hugepage
 * (deleted)" for MAP_HUGETLB memory (hugetlb_file_setup() makes an unlinked
 * file on the internal mount), "/memfd:NAME (deleted)" for a memfd.
 */
export function hugetlbMapsHeader(line: string, v: Vma, profile: string, inodes: HugetlbInodes): string {
  const m = /^([0-9a-f]+-[0-9a-f]+ [-rwxsp]{4}) /.exec(line);
  if (m === null || v.file === null) return line;
  const file = v.file;
  const off = (v.pgoff * PAGE_SIZE).toString(16).padStart(8, '0');
  const dev = HUGETLBFS_DEV[profile] ?? HUGETLBFS_DEV_LATEST;
  const head = `${m[1]} ${off} ${dev} ${inodes.of(file)} `;
  // (the model's memfd names carry their "memfd:" prefix, as the dentry's d_name does)
  const path = `/${file.name} (deleted)`;
  return `${head.padEnd(73)}${path}`;
}

/**
 * /proc/PID/maps under exec: the real text with the header of every range the
 * model maps with a hugetlb VMA rewritten (the real process maps ordinary
 * memory there).
 */
export function rewriteMaps(real: string, mm: MmStruct, profile: string, inodes: HugetlbInodes): string {
  const lines = real.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const v = hugetlbVmaOf(lines[i], mm);
    if (v !== undefined) lines[i] = hugetlbMapsHeader(lines[i], v, profile, inodes);
  }
  return lines.join('\n');
}

/** The model's hugetlb VMA covering the range a maps header line names, if any. */
function hugetlbVmaOf(line: string, mm: MmStruct): Vma | undefined {
  const h = headerVma(line, mm);
  return h?.vma !== undefined && h.vma.flags & VM_HUGETLB ? h.vma : undefined;
}

/**
 * A maps (or smaps) header line's range in pages and the model's VMA covering
 * all of it (undefined when none does); undefined for a line that is no header.
 */
function headerVma(line: string, mm: MmStruct): { start: number; end: number; vma: Vma | undefined } | undefined {
  const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
  if (!head) return undefined;
  const start = Number.parseInt(head[1], 16) / PAGE_SIZE;
  const end = Number.parseInt(head[2], 16) / PAGE_SIZE;
  const m = mm.findVma(start);
  return { start, end, vma: m !== undefined && m.start <= start && m.end >= end ? m : undefined };
}

/** The fields a hugetlb VMA's block zeroes: its pages are counted only as hugetlb. */
const ZEROED = new Set(['Rss', 'Pss', 'Pss_Dirty', 'Pss_Anon', 'Pss_File', 'Pss_Shmem', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped', 'Locked']);

/** smaps_hugetlb_range() over a hugetlb VMA: [private, shared] bytes. */
function hugetlbBytes(mm: MmStruct, v: Vma): [number, number] {
  const step = 2 ** v.hugeOrder;
  let priv = 0;
  let shared = 0;
  for (let vpn = v.start; vpn < v.end; vpn += step) {
    const e = mm.lookupEntry(vpn);
    if (e === 0) continue;
    // folio_maybe_mapped_shared(): more than one mapping of the folio
    if (mm.phys.hugeMapcount(e - 1) > 1) shared += step * PAGE_SIZE;
    else priv += step * PAGE_SIZE;
  }
  return [priv, shared];
}

/** mm->hugetlb_usage (status's HugetlbPages): pages of the huge folios the mm's hugetlb VMAs map. */
export function hugetlbUsage(mm: MmStruct): number {
  let pages = 0;
  for (const v of mm.vmas) {
    if (!(v.flags & VM_HUGETLB)) continue;
    const [priv, shared] = hugetlbBytes(mm, v);
    pages += (priv + shared) / PAGE_SIZE;
  }
  return pages;
}

/** The count lines smapAnonCounts() gives, by smaps key. */
const ANON_LINES: ReadonlyArray<[string, keyof SmapCounts]> = [
  ['Rss', 'rss'],
  ['Pss', 'pss'],
  ['Pss_Dirty', 'pssDirty'],
  ['Shared_Clean', 'sharedClean'],
  ['Shared_Dirty', 'sharedDirty'],
  ['Private_Clean', 'privateClean'],
  ['Private_Dirty', 'privateDirty'],
  ['Referenced', 'referenced'],
  ['Anonymous', 'anonymous'],
  ['AnonHugePages', 'anonHugePages'],
  ['Locked', 'locked'],
];
const ANON_KEYS = new Map(ANON_LINES);

/** The real smaps text rewritten from the model, and what the rewrite changed. */
export interface SmapsRewrite {
  text: string;
  /**
   * Per smaps key, kB the rewritten blocks gained over the real ones (negative: lost); also
   * Pss_Anon and Pss_Shmem (smaps_rollup's split of Pss: an anonymous block's, a hugetlb
   * block's by whether the real kernel held it as anonymous or shmem memory).
   */
  delta: Map<string, number>;
}

/**
 * The real smaps text with each block the model holds as a hugetlb VMA or as
 * private anonymous memory rewritten from the model (`mms`: every live
 * address space, for the mapcount of pages fork shares). The real kernel
 * under exec has its own THP mode and never sees the model's faults; the
 * model's page tables are what the program's kernel would count.
 */
export function modelSmaps(real: string, mm: MmStruct, mms: Iterable<MmStruct> = [mm]): string {
  return rewriteSmaps(real, mm, mms).text;
}

/**
 * modelSmaps() with the changes it made per key (for smaps_rollup and status). The blocks of a
 * file in `asShmem` (a tmpfs file of the model's whose real file is on another filesystem) keep
 * their lines, but their file pages move from the real kernel's file sums to shmem's: Pss_File to
 * Pss_Shmem, and `FileAsShmem` (not an smaps key) the kB that statusRss() moves from RssFile to
 * RssShmem.
 */
export function rewriteSmaps(
  real: string,
  mm: MmStruct,
  mms: Iterable<MmStruct> = [mm],
  header?: { profile: string; inodes: HugetlbInodes },
  asShmem?: { has(f: MemFile): boolean },
): SmapsRewrite {
  const lines = real.split('\n');
  const all = [...mms];
  const delta = new Map<string, number>();
  const add = (key: string, kb: number): void => {
    delta.set(key, (delta.get(key) ?? 0) + kb);
  };
  let v: Vma | undefined;
  let anon: SmapCounts | undefined;
  let hugetlb: [number, number] = [0, 0];
  // a block whose file pages the model counts as shmem: its Rss and Pss so far
  let shmemFile: { rss: number; pss: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const head = headerVma(l, mm);
    if (head) {
      const m = head.vma;
      v = m !== undefined && m.flags & VM_HUGETLB ? m : undefined;
      anon = m !== undefined && !v && isPrivateAnon(m) ? smapAnonCounts(mm, m, head.start, head.end, all) : undefined;
      shmemFile = m !== undefined && !v && m.file !== null && asShmem?.has(m.file) ? { rss: 0, pss: 0 } : undefined;
      if (v) hugetlb = hugetlbBytes(mm, v);
      // the header as /proc/PID/maps shows it (rewriteMaps())
      if (v && header) lines[i] = hugetlbMapsHeader(l, v, header.profile, header.inodes);
      continue;
    }
    if (shmemFile !== undefined) {
      const f = /^(Rss|Pss|Anonymous):\s*(\d+)/.exec(l);
      if (f?.[1] === 'Rss') shmemFile.rss = Number(f[2]);
      else if (f?.[1] === 'Pss') shmemFile.pss = Number(f[2]);
      else if (f?.[1] === 'Anonymous') {
        // (Anonymous follows Rss and Pss: the COW copies of a private mapping stay anonymous)
        const anonKb = Number(f[2]);
        const pss = Math.max(0, shmemFile.pss - anonKb);
        add('FileAsShmem', shmemFile.rss - anonKb);
        add('Pss_File', -pss);
        add('Pss_Shmem', pss);
      } else if (l.startsWith('VmFlags:')) lines[i] = l.replace(/ rr(?= |$)/, ''); // the bridge's MADV_RANDOM (the shim's foreign_tmpfs)
      continue;
    }
    if (v === undefined && anon === undefined) continue;
    const f = /^([^:]+:)(\s*)(\d+)(.*)$/.exec(l);
    const key = f?.[1].slice(0, -1) ?? l.slice(0, Math.max(0, l.indexOf(':')));
    const was = f ? Number(f[3]) : 0;
    // the real line's layout, another number: right-aligned in the same width; the change counted for the key
    const put = (value: number): string => {
      if (!f) return l;
      add(key, value - was);
      // Pss as the rollup splits it: the real block's and the model's by the kind of memory each holds
      if (key === 'Pss') {
        if (anon !== undefined) add('Pss_Anon', value - was);
        else if (v !== undefined && v.flags & VM_MAYSHARE) add('Pss_Shmem', -was);
        else add('Pss_Anon', -was);
      }
      return f[1] + String(value).padStart(f[2].length + f[3].length) + f[4];
    };
    if (anon !== undefined) {
      const k = ANON_KEYS.get(key);
      // SEQ_PUT_DEC(): kB rounded down
      if (k !== undefined) lines[i] = put(Math.floor(anon[k] / 1024));
      else if (key === 'LazyFree') lines[i] = put(0);
      else if (key === 'THPeligible') lines[i] = put(anon.thpEligible);
      continue;
    }
    if (v === undefined) continue;
    if (key === 'KernelPageSize' || key === 'MMUPageSize') lines[i] = put((PAGE_SIZE * 2 ** v.hugeOrder) / 1024);
    else if (ZEROED.has(key)) lines[i] = put(0);
    else if (key === 'Private_Hugetlb') lines[i] = put(hugetlb[0] / 1024);
    else if (key === 'Shared_Hugetlb') lines[i] = put(hugetlb[1] / 1024);
    else if (key === 'THPeligible') lines[i] = put(0);
    else if (key === 'VmFlags') lines[i] = `VmFlags: ${vmFlagsText(v.flags)}`;
  }
  return { text: lines.join('\n'), delta };
}

/**
 * /proc/PID/smaps_rollup (show_smaps_rollup(): the sums over every VMA, Pss
 * split into Pss_Anon, Pss_File and Pss_Shmem): the real text with each sum
 * moved by what rewriteSmaps() changed in the blocks it rewrote.
 */
export function modelSmapsRollup(real: string, delta: ReadonlyMap<string, number>): string {
  return real
    .split('\n')
    .map((l) => {
      const f = /^([^:]+:)(\s*)(\d+)( kB.*)$/.exec(l);
      const d = f ? delta.get(f[1].slice(0, -1)) : undefined;
      return f && d ? f[1] + String(Math.max(0, Number(f[3]) + d)).padStart(f[2].length + f[3].length) + f[4] : l;
    })
    .join('\n');
}

/**
 * /proc/PID/status's resident counts (VmRSS, RssAnon, RssShmem) moved by
 * what rewriteSmaps() changed: the model's blocks replace the real ones in
 * the sums (get_mm_rss(): MM_ANONPAGES, MM_SHMEMPAGES; hugetlb pages count
 * in neither).
 */
export function statusRss(text: string, delta: ReadonlyMap<string, number>): string {
  const rss = delta.get('Rss') ?? 0;
  const anon = delta.get('Anonymous') ?? 0;
  const asShmem = delta.get('FileAsShmem') ?? 0;
  const moved: Record<string, number> = { VmRSS: rss, RssAnon: anon, RssFile: -asShmem, RssShmem: rss - anon + asShmem };
  // "VmRSS:\t%8lu kB": the tab kept, the number right-aligned in the rest
  return text.replace(/^(VmRSS|RssAnon|RssFile|RssShmem):(\t?)( *)(\d+)( kB)$/gm, (_m, k: string, tab: string, sp: string, n: string, unit: string) => {
    const v = Math.max(0, Number(n) + moved[k]);
    return `${k}:${tab}${String(v).padStart(sp.length + n.length)}${unit}`;
  });
}
