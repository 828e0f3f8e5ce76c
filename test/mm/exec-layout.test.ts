// SPDX-License-Identifier: GPL-2.0-only
/**
 * The address space of a freshly exec'd process (Machine.spawn, layout
 * 'exec'): [stack], [vvar], [vvar_vclock] (7.2) and [vdso] where x86-64
 * Linux puts them with randomization off, and what mmap, GUP and user
 * access do with them. Every address below was read from /proc/self/maps
 * and mmap's answers of a static program on the oracle kernels (6.12.95 and
 * 7.2.13, randomize_va_space = 0).
 */
import { describe, expect, it } from 'vitest';
import { EACCES, EFAULT, EINVAL, ENOMEM } from '../../src/base/errno.js';
import { Machine, type SpawnOptions } from '../../src/machine/index.js';
import {
  FOLL_LONGTERM,
  FOLL_WRITE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_REMOVE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_STACK,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  VM_GROWSDOWN,
  VM_IO,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
} from '../../src/mm/constants.js';
import { pinUserPages, unpinUserPages } from '../../src/mm/gup.js';

const RW = PROT_READ | PROT_WRITE;
const PA = MAP_PRIVATE | MAP_ANONYMOUS;
const PG = 4096n;

function spawn(profile: string, s: SpawnOptions = {}) {
  const m = new Machine({ memory: '64M', seed: 3, panicOnWarn: true, profile, processLayout: 'exec' });
  return { m, p: m.spawn(s) };
}

function layout(p: ReturnType<typeof spawn>['p']): string[] {
  return p.mm.vmas.map((v) => `${v.startAddr.toString(16)}-${v.endAddr.toString(16)} ${v.name ?? ''}`);
}

/** Above the program image (EXEC_IMAGE): what exec maps near the top. */
function high(p: ReturnType<typeof spawn>['p']): string[] {
  return layout(p).filter((l) => !/^4[0-9a-f]{5}-/.test(l));
}

/** The static image as a one-program oracle binary showed it in /proc/self/maps (6.12.95 and 7.2.13 alike). */
const IMAGE = [
  '400000-401000 r-- /bin/oracle-progs@0',
  '401000-47e000 r-x /bin/oracle-progs@1000',
  '47e000-4a7000 r-- /bin/oracle-progs@7e000',
  '4a7000-4ab000 r-- /bin/oracle-progs@a7000',
  '4ab000-4ae000 rw- /bin/oracle-progs@ab000',
  '4ae000-4b8000 rw- ',
  '4b8000-4da000 rw- [heap]',
];

function maps(p: ReturnType<typeof spawn>['p']): string[] {
  return p.mm.vmas.map((v) => {
    const prot = `${v.flags & 1 ? 'r' : '-'}${v.flags & 2 ? 'w' : '-'}${v.flags & 4 ? 'x' : '-'}`;
    const what = v.file ? `${v.file.name}@${(BigInt(v.pgoff) * PG).toString(16)}` : (v.name ?? '');
    return `${v.startAddr.toString(16)}-${v.endAddr.toString(16)} ${prot} ${what}`;
  });
}

function hex(v: bigint): string {
  return v < 0n ? String(v) : v.toString(16);
}

describe('the exec layout (ASLR off) of each kernel', () => {
  it('6.12: [vvar] 4 pages and [vdso] 2 right below mmap_base, [stack] below STACK_TOP', () => {
    const { p } = spawn('v6.12');
    expect(high(p)).toEqual(['7ffff7ff9000-7ffff7ffd000 [vvar]', '7ffff7ffd000-7ffff7fff000 [vdso]', '7ffffffde000-7ffffffff000 [stack]']);
  });

  it.each(['v6.12', 'latest'])('%s: the static program image at 0x400000, file-backed but its bss and [heap]', (profile) => {
    const { m, p } = spawn(profile);
    expect(maps(p).slice(0, IMAGE.length)).toEqual(IMAGE);
    const b = new Uint8Array(4);
    expect(p.readMemory(0x400000n, b)).toBe(0);
    expect([...b]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    // MADV_WIPEONFORK of a file-backed VMA is EINVAL (madvise_vma_behavior()), before the unmapped start counts
    expect(p.madvise(0x1000n, 0x400000n, MADV_WIPEONFORK)).toBe(-EINVAL);
    expect(p.madvise(0x400000n, PG, MADV_WIPEONFORK)).toBe(-EINVAL);
    expect(p.madvise(0x4ae000n, PG, MADV_WIPEONFORK)).toBe(0);
    // MADV_REMOVE of a private file mapping: EACCES (madvise_remove(): a file with a host, not shared maywrite)
    expect(p.madvise(0x400000n, PG, MADV_REMOVE)).toBe(-EACCES);
    expect(p.madvise(0x1000n, 0x8000000000000000n, MADV_REMOVE)).toBe(-EACCES);
    // do_mprotect_pkey(): PROT_GROWSDOWN|PROT_GROWSUP is EINVAL before the alignment, a zero length, the end's overflow
    expect(p.mprotect(0x400001n, 0n, 0x3000000)).toBe(-EINVAL);
    expect(p.mprotect(0x400000n, 0xfffffffffffff000n, 0x3000000 | PROT_READ)).toBe(-EINVAL);
    expect(p.mprotect(0x400000n, 0xfffffffffffff000n, PROT_READ)).toBe(-ENOMEM);
    expect(p.mprotect(0x400000n, 0n, 0x1000000)).toBe(0);
    // the data segment is a private writable file mapping: a write goes to an anonymous copy
    expect(p.writeMemory(0x4ab000n, new Uint8Array([7]))).toBe(0);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it("layout 'exec' with image: false leaves the low addresses free", () => {
    const m = new Machine({ memory: '16M', processLayout: 'bare' });
    const p = m.spawn();
    expect(p.mm.setupExec({ stackRlimit: 8n << 20n, stackPages: 33, vdso: null, vvarPages: 4, vclockPages: 0, vvarPfn: 0, image: false })).toBe(0);
    expect(layout(p)).toEqual(['7ffffffde000-7ffffffff000 [stack]']);
  });

  it('7.2: [vvar] 4 pages, [vvar_vclock] 2 and [vdso] 2', () => {
    const { p } = spawn('latest');
    expect(high(p)).toEqual([
      '7ffff7ff7000-7ffff7ffb000 [vvar]',
      '7ffff7ffb000-7ffff7ffd000 [vvar_vclock]',
      '7ffff7ffd000-7ffff7fff000 [vdso]',
      '7ffffffde000-7ffffffff000 [stack]',
    ]);
  });

  it.each([
    // profile, 4 KiB, 2 MiB (THP-aligned), 64 KiB, hint in the stack's guard gap, hint just below it, hint above mmap_base
    ['v6.12', ['7ffff7ff8000', '7ffff7c00000', '7ffff7fe8000', '7ffff7fe7000', '7ffff7fe6000', '7ffff8000000']],
    ['latest', ['7ffff7ff6000', '7ffff7c00000', '7ffff7fe6000', '7ffff7fe5000', '7ffff7fe4000', '7ffff8000000']],
  ])('%s: mmap(NULL) and hints answer what the kernel answered', (profile, want) => {
    const { p } = spawn(profile);
    const got = [
      p.mmap(0n, PG, RW, PA),
      p.mmap(0n, 2n << 20n, RW, PA),
      p.mmap(0n, 64n << 10n, RW, PA),
      p.mmap(0x7ffffff00000n, PG, PROT_READ, PA),
      p.mmap(0x7ffffffd0000n, PG, PROT_READ, PA),
      p.mmap(0x7ffff8000000n, PG, PROT_READ, PA),
    ].map(hex);
    expect(got).toEqual(want);
  });

  it.each([
    // RLIMIT_STACK, profile, [vvar] start, first 4 KiB mmap
    ['1G', 'v6.12', '7fffbfef9000', '7fffbfef8000'],
    ['1G', 'latest', '7fffbfef7000', '7fffbfef6000'],
    ['unlimited', 'v6.12', '155555550000', '15555554f000'],
    ['unlimited', 'latest', '15555554e000', '15555554d000'],
    ['64M', 'latest', '7ffff7ff7000', '7ffff7ff6000'],
  ])('RLIMIT_STACK %s on %s moves mmap_base (gap + 1 MiB guard, 128 MiB .. 5/6 of TASK_SIZE)', (stack, profile, vvar, first) => {
    const { p } = spawn(profile, { stack });
    const v = p.mm.vmas.find((x) => x.name === '[vvar]')!;
    expect(hex(v.startAddr)).toBe(vvar);
    expect(hex(p.mmap(0n, PG, RW, PA))).toBe(first);
    expect(layout(p).at(-1)).toBe('7ffffffde000-7ffffffff000 [stack]');
  });

  it("'bare' is an empty address space with the same mmap_base (the exec bridge mirrors a real one)", () => {
    const m = new Machine({ memory: '16M', processLayout: 'bare' });
    const p = m.spawn();
    expect(p.mm.vmas).toHaveLength(0);
    expect(hex(p.mmap(0n, PG, RW, PA))).toBe('7ffff7ffe000');
    const q = new Machine({ memory: '16M' }).spawn({ layout: 'bare', stack: '1G' });
    expect(hex(q.mmap(0n, PG, RW, PA))).toBe('7fffbfefe000');
    expect(() => new Machine({ memory: '16M', processLayout: 'x' as 'bare' })).toThrow(RangeError);
  });
});

describe('the special mappings under GUP and user access', () => {
  const VDSO = 0x7ffff7ffd000n;

  it('pin_user_pages(FOLL_LONGTERM): [vvar] and [vvar_vclock] are VM_IO (EFAULT), the vDSO text pins read-only as a private copy', () => {
    const { m, p } = spawn('latest');
    const out = new Uint32Array(2);
    for (const va of [0x7ffff7ff7000n, 0x7ffff7ffa000n, 0x7ffff7ffb000n]) {
      expect(pinUserPages(p.mm, va, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    }
    const vvar = p.mm.vmaAt(0x7ffff7ff7000n)!;
    expect(vvar.flags & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
    expect(pinUserPages(p.mm, VDSO, 2, FOLL_LONGTERM | FOLL_WRITE, out, 0)).toBe(-EFAULT);
    expect(pinUserPages(p.mm, VDSO, 2, FOLL_LONGTERM, out, 0)).toBe(2);
    // gup_must_unshare(): a long-term R/O pin of a file page in a COW mapping takes an anonymous copy
    const image = m.vdso;
    expect(image.lookup(0)).toBeGreaterThanOrEqual(0);
    expect(out[0]).not.toBe(image.lookup(0));
    expect(m.phys.folioPincount(out[0])).toBe(1);
    const head = new Uint8Array(4);
    m.phys.read(out[0], 0, head, 0, 4);
    expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    unpinUserPages(p.mm.phys, out, 0, 2, false);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('the stack pins; GUP does not grow it (below it and its guard gap: EFAULT)', () => {
    const { m, p } = spawn('v6.12');
    const out = new Uint32Array(2);
    expect(pinUserPages(p.mm, 0x7ffffffde000n, 2, FOLL_LONGTERM | FOLL_WRITE, out, 0)).toBe(2);
    unpinUserPages(p.mm.phys, out, 0, 2, true);
    expect(pinUserPages(p.mm, 0x7ffffffdd000n, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    expect(pinUserPages(p.mm, 0x7ffffffd0000n, 1, FOLL_LONGTERM, out, 0)).toBe(-EFAULT);
    const stack = p.mm.vmaAt(0x7ffffffff000n - PG)!;
    expect(stack.name).toBe('[stack]');
    expect(stack.flags & VM_GROWSDOWN).toBe(VM_GROWSDOWN);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  // 7.2.13 (differential mode, seed 8675309): a write 8 MiB under the top of the address space was ok, the stack grew to it
  it('a user access below the stack grows it (expand_downwards), up to RLIMIT_STACK and not under the guard gap of a mapping', () => {
    const { m, p } = spawn('latest', { stack: '8M' });
    const top = 0x7ffffffff000n;
    const stack = p.mm.vmaAt(top - PG)!;
    expect(p.writeMemory(top - (8n << 20n), new Uint8Array([1]))).toBe(0);
    expect(p.mm.vmaAt(top - (8n << 20n))).toBe(stack);
    expect(BigInt(stack.start) * PG).toBe(top - (8n << 20n));
    // one page more would make the stack larger than RLIMIT_STACK
    expect(p.writeMemory(top - (8n << 20n) - PG, new Uint8Array([1]))).toBe(-EFAULT);
    expect(BigInt(stack.start) * PG).toBe(top - (8n << 20n));
    // the grown pages are ordinary stack pages: they pin, the hole under them does not grow for GUP
    const out = new Uint32Array(1);
    expect(pinUserPages(p.mm, top - (8n << 20n), 1, FOLL_LONGTERM, out, 0)).toBe(1);
    unpinUserPages(p.mm.phys, out, 0, 1, false);
    // a MAP_GROWSDOWN mapping 512 KiB above an accessible one: the guard gap (256 pages) refuses, a forked child too
    const low = p.mmap(0x100000000000n, PG, RW, PA | MAP_FIXED);
    expect(low).toBe(0x100000000000n);
    const g = p.mmap(0x100000080000n, 16n * PG, RW, PA | MAP_FIXED | MAP_GROWSDOWN);
    expect(g).toBe(0x100000080000n);
    expect(p.writeMemory(g - PG, new Uint8Array([1]))).toBe(-EFAULT);
    expect(p.munmap(low, PG)).toBe(0);
    const child = p.fork();
    expect(child.writeMemory(g - PG, new Uint8Array([1]))).toBe(0);
    expect(p.readMemory(g - PG, new Uint8Array(1))).toBe(0);
    child.exit();
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it('reads: the vDSO starts with an ELF header, [vvar] reads; writes fault until mprotect, which copies on write', () => {
    const { m, p } = spawn('latest');
    const b = new Uint8Array(4);
    expect(p.readMemory(VDSO, b)).toBe(0);
    expect([...b]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    // [vvar] starts with the first clock's seq on 7.2 (even, non-zero while the kernel runs)
    expect(p.readMemory(0x7ffff7ff7000n, b)).toBe(0);
    expect([...b]).toEqual([0xa2, 0x02, 0, 0]);
    expect(p.writeMemory(VDSO, new Uint8Array([1]))).toBe(-EFAULT);
    expect(p.writeMemory(0x7ffff7ff7000n, new Uint8Array([1]))).toBe(-EFAULT);
    expect(p.mprotect(0x7ffff7ff7000n, PG, RW)).toBe(-EACCES);
    expect(p.mprotect(VDSO, PG, RW | PROT_EXEC)).toBe(-EINVAL);
    expect(p.mprotect(VDSO, 2n * PG, RW | PROT_EXEC)).toBe(0);
    expect(p.writeMemory(VDSO, new Uint8Array([0x11]))).toBe(0);
    expect(p.readMemory(VDSO, b)).toBe(0);
    expect([...b]).toEqual([0x11, 0x45, 0x4c, 0x46]);
    // the image itself is untouched: another process reads the header
    const q = m.spawn({ layout: 'exec' });
    expect(q.readMemory(VDSO, b)).toBe(0);
    expect([...b]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    p.exit();
    q.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it.each([
    // profile, [vvar] start, the pages a read finds (the guest's SIGBUS map under TCG)
    ['v6.12', 0x7ffff7ff9000n, [true, false, false, false]],
    ['latest', 0x7ffff7ff7000n, [true, false, true, false, false, false]],
  ])('%s: only the data pages vvar_fault() maps read; the pvclock/hvclock/timens pages SIGBUS (EFAULT)', (profile, vvar, want) => {
    const { p } = spawn(profile as string);
    const b = new Uint8Array(1);
    const got = (want as boolean[]).map((_, i) => p.readMemory((vvar as bigint) + BigInt(i) * PG, b) === 0);
    expect(got).toEqual(want);
    // a read across a present and a refused page fails as a whole
    expect(p.readMemory((vvar as bigint) + PG - 1n, new Uint8Array(2))).toBe(-EFAULT);
  });

  it.each(['v6.12', 'latest'])('%s: a special mapping is never split (munmap, mprotect, madvise of part: EINVAL); all of it unmaps', (profile) => {
    const { m, p } = spawn(profile);
    const vvar = p.mm.vmas.find((v) => v.name === '[vvar]')!;
    const s = vvar.startAddr;
    const before = layout(p);
    expect(p.munmap(s, PG)).toBe(-EINVAL);
    expect(p.munmap(s + PG, PG)).toBe(-EINVAL);
    expect(p.munmap(s - PG, 2n * PG)).toBe(-EINVAL);
    expect(p.mprotect(s, PG, 0)).toBe(-EINVAL);
    // the same protection changes nothing, so nothing is split
    expect(p.mprotect(s, PG, PROT_READ)).toBe(0);
    expect(p.madvise(s + PG, PG, MADV_DONTDUMP)).toBe(0);
    expect(p.munmap(VDSO, PG)).toBe(-EINVAL);
    expect(layout(p)).toEqual(before);
    expect(p.munmap(s, vvar.endAddr - s)).toBe(0);
    expect(layout(p).some((l) => l.endsWith('[vvar]'))).toBe(false);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });

  it("6.12's [vvar] has 128 zero bytes before struct vdso_data (its seq first)", () => {
    const { p } = spawn('v6.12');
    const b = new Uint8Array(132);
    expect(p.readMemory(0x7ffff7ff9000n, b)).toBe(0);
    expect([...b.subarray(0, 128)].every((x) => x === 0)).toBe(true);
    expect([...b.subarray(128)]).toEqual([0xa2, 0x02, 0, 0]);
  });

  it('fork keeps the layout; munmap of the vDSO frees its place for the next mmap', () => {
    const { m, p } = spawn('v6.12');
    const c = p.fork();
    expect(layout(c)).toEqual(layout(p));
    expect(c.munmap(0x7ffff7ff9000n, 6n * PG)).toBe(0);
    expect(hex(c.mmap(0n, PG, RW, PA))).toBe('7ffff7ffe000');
    expect(hex(p.mmap(0n, PG, RW, PA))).toBe('7ffff7ff8000');
    c.exit();
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });
});

describe('madvise of the special mappings (madvise_vma_behavior())', () => {
  // test/bridge/progs/madvise-flags.c with these checks (the exec bridge leaves the real [vdso] and [vvar]
  // out of the model) gave the same on 6.12.95 and 7.2.13
  it.each([
    ['v6.12', 0],
    ['latest', -EINVAL],
  ])('%s: DODUMP is EINVAL on [vdso] and [vvar], a DONTDUMP of a part cannot split [vdso]; DOFORK of [vdso] and hugetlb is %d', (profile, dofork) => {
    const { p } = spawn(profile);
    const at = (name: string): bigint => p.mm.vmas.find((v) => v.name === name)!.startAddr;
    const vdso = at('[vdso]');
    const vvar = at('[vvar]');
    const before = layout(p);
    expect(p.madvise(vdso, PG, MADV_DODUMP)).toBe(-EINVAL);
    expect(p.madvise(vvar, PG, MADV_DODUMP)).toBe(-EINVAL);
    expect(p.madvise(vdso, PG, MADV_DONTDUMP)).toBe(-EINVAL);
    // 6.12: VM_DONTCOPY is not set, the flags stay and nothing is split
    expect(p.madvise(vdso, PG, MADV_DOFORK)).toBe(dofork);
    expect(p.madvise(vvar, PG, MADV_DOFORK)).toBe(-EINVAL);
    expect(layout(p)).toEqual(before);
    const h = p.mmap(0n, 2n << 20n, RW, PA | MAP_HUGETLB);
    expect(h).toBeGreaterThan(0n);
    expect(p.madvise(h, 2n << 20n, MADV_DONTDUMP)).toBe(0);
    expect(p.madvise(h, 2n << 20n, MADV_DODUMP)).toBe(0);
    expect(p.madvise(h, 2n << 20n, MADV_DOFORK)).toBe(dofork);
  });
});

describe('MAP_GROWSDOWN and MAP_STACK (calc_vm_flag_bits)', () => {
  it('MAP_GROWSDOWN makes a growsdown VMA whose guard gap later placements keep free', () => {
    const m = new Machine({ memory: '16M', processLayout: 'bare' });
    const p = m.spawn();
    const g = p.mmap(0n, 16n * PG, RW, PA | MAP_GROWSDOWN);
    expect(hex(g)).toBe('7ffff7fef000');
    expect(p.mm.vmaAt(g)!.flags & VM_GROWSDOWN).toBe(VM_GROWSDOWN);
    // the next top-down placement ends stack_guard_gap (1 MiB) below it, and a hint inside the gap is not taken
    expect(hex(p.mmap(0n, PG, RW, PA))).toBe(hex(g - (1n << 20n) - PG));
    expect(hex(p.mmap(g - PG, PG, RW, PA))).toBe(hex(g - (1n << 20n) - 2n * PG));
  });

  it.each([
    // profile, growsdown start, next 4 KiB, hint one page below it, MAP_STACK 4 MiB, plain 4 MiB (the kernels' answers)
    ['v6.12', ['7ffff7fe9000', '7ffff7ee8000', '7ffff7ee7000', '7ffff7a00000', '7ffff7600000']],
    ['latest', ['7ffff7fe7000', '7ffff7ee6000', '7ffff7ee5000', '7ffff7a00000', '7ffff7600000']],
  ])('%s (exec layout, THP always): growsdown gap, MAP_STACK without THP, as on the kernel', (profile, want) => {
    const m = new Machine({ memory: '64M', profile, processLayout: 'exec', thp: 'always' });
    const p = m.spawn();
    const g = p.mmap(0n, 16n * PG, RW, PA | MAP_GROWSDOWN);
    const next = p.mmap(0n, PG, RW, PA);
    const hint = p.mmap(g - PG, PG, RW, PA);
    const st = p.mmap(0n, 4n << 20n, RW, PA | MAP_STACK);
    expect(p.writeMemory(st + (2n << 20n), new Uint8Array([1]))).toBe(0);
    const plain = p.mmap(0n, 4n << 20n, RW, PA);
    expect(p.writeMemory(plain + (2n << 20n), new Uint8Array([1]))).toBe(0);
    expect([g, next, hint, st, plain].map(hex)).toEqual(want);
    // smaps: AnonHugePages 0 kB under MAP_STACK (VmFlags nh), 2 MiB folios without it
    expect(m.phys.folioOrder(p.mm.lookupPfn(st + (2n << 20n)))).toBe(0);
    expect(m.phys.folioOrder(p.mm.lookupPfn(plain + (2n << 20n)))).toBe(9);
  });

  it('a shared or file mapping cannot grow down (EINVAL)', () => {
    const m = new Machine({ memory: '16M', processLayout: 'bare' });
    const p = m.spawn();
    expect(p.mmap(0n, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN)).toBe(BigInt(-EINVAL));
    const fd = p.memfdCreate('x');
    expect(p.ftruncate(fd, 4096)).toBe(0);
    expect(p.mmap(0n, PG, RW, MAP_SHARED | MAP_GROWSDOWN, fd)).toBe(BigInt(-EINVAL));
    expect(p.mmap(0n, PG, RW, MAP_PRIVATE | MAP_GROWSDOWN, fd)).toBe(BigInt(-EINVAL));
    expect(p.mm.vmas).toHaveLength(0);
  });

  it('MAP_STACK sets VM_NOHUGEPAGE: no THP even with THP always', () => {
    const m = new Machine({ memory: '16M', processLayout: 'bare', thp: 'always' });
    const p = m.spawn();
    const a = p.mmap(0n, 2n << 20n, RW, PA | MAP_STACK);
    expect(p.mm.vmaAt(a)!.flags & VM_NOHUGEPAGE).toBe(VM_NOHUGEPAGE);
    expect(p.writeMemory(a, new Uint8Array([1]))).toBe(0);
    expect(m.phys.folioOrder(p.mm.lookupPfn(a))).toBe(0);
  });
});
