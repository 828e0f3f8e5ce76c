// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { type HugetlbInodes, modelSmaps, modelSmapsRollup, rewriteMaps, rewriteSmaps, statusRss, vmFlagsText } from '../../src/bridge/smaps.js';
import { SightKeys } from '../../src/base/sight-keys.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, VM_ACCOUNT, VM_HUGETLB, VM_MAYREAD, VM_READ } from '../../src/mm/constants.js';

function block(start: bigint, end: bigint, rss: number): string {
  const h = (v: bigint) => v.toString(16).padStart(12, '0');
  return [
    `${h(start)}-${h(end)} rw-p 00000000 00:00 0 `,
    `Size:               ${(Number(end - start) / 1024).toString().padStart(4)} kB`,
    'KernelPageSize:        4 kB',
    'MMUPageSize:           4 kB',
    `Rss:                 ${String(rss).padStart(5)} kB`,
    `Anonymous:           ${String(rss).padStart(5)} kB`,
    'Shared_Hugetlb:        0 kB',
    'Private_Hugetlb:       0 kB',
    'Locked:                0 kB',
    'THPeligible:           1',
    'VmFlags: rd wr mr mw me ac ',
  ].join('\n');
}

describe('smaps under exec (the model rewrites its hugetlb and private anonymous VMAs)', () => {
  it("a hugetlb VMA's block: the huge page size, its folio private, nothing in Rss; an anonymous one: the model's counts; a shared one: the real text", () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn({ memlock: 'unlimited' });
    const h = p.mmap(0n, 2n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    p.writeMemory(h, new Uint8Array([1]));
    const a = p.mmap(0n, 8192n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.writeMemory(a + 4096n, new Uint8Array([1]));
    const sh = p.mmap(0n, 8192n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    const real = `${block(h, h + (2n << 20n), 4)}\n${block(a, a + 8192n, 8)}\n${block(sh, sh + 8192n, 8)}\n`;
    const out = modelSmaps(real, p.mm).split('\n');
    expect(out.slice(0, 11)).toEqual([
      real.split('\n')[0],
      'Size:               2048 kB',
      'KernelPageSize:     2048 kB',
      'MMUPageSize:        2048 kB',
      'Rss:                     0 kB',
      'Anonymous:               0 kB',
      'Shared_Hugetlb:        0 kB',
      'Private_Hugetlb:    2048 kB',
      'Locked:                0 kB',
      'THPeligible:           0',
      'VmFlags: rd wr mr mw me de ht ',
    ]);
    // the private anonymous VMA: the real block but for the model's counts (the one page it has written,
    // no THP fits in 8 KiB)
    const changed = out.slice(11, 22).filter((l, i) => l !== real.split('\n')[11 + i]);
    expect(changed).toEqual(['Rss:                     4 kB', 'Anonymous:               4 kB', 'THPeligible:           0']);
    // the shared one is the real text
    expect(out.slice(22).join('\n')).toBe(real.split('\n').slice(22).join('\n'));
  });

  it("the rewrite's changes move smaps_rollup's sums and status's resident counts: the model's blocks replace the real ones", () => {
    const m = new Machine({ memory: '64M', thp: 'always' });
    const p = m.spawn({ memlock: 'unlimited' });
    const M2 = 2n << 20n;
    const a = p.mmap(0x40000000n, M2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.writeMemory(a, new Uint8Array([1]));
    const h = p.mmap(0n, M2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    p.writeMemory(h, new Uint8Array([1]));
    // the host saw one 4 KiB page in each
    const real = `${block(a, a + M2, 4)}\nPss:                   4 kB\n${block(h, h + M2, 4)}\nPss:                   4 kB\n`;
    const { delta } = rewriteSmaps(real, p.mm);
    // +2044 kB in the anonymous block (2048 for the host's 4), -4 in the hugetlb one (which counts no Rss)
    expect(Object.fromEntries(delta)).toMatchObject({ Rss: 2040, Anonymous: 2040, Pss: 2040, Pss_Anon: 2040, Private_Hugetlb: 2048 });
    const rollup = ['00400000-7ffff7fff000 ---p 00000000 00:00 0                  [rollup]', 'Rss:                 900 kB', 'Pss_Anon:            500 kB', 'Pss_File:            400 kB', 'Private_Hugetlb:       0 kB', ''].join('\n');
    expect(modelSmapsRollup(rollup, delta).split('\n').slice(1, 5)).toEqual(['Rss:                2940 kB', 'Pss_Anon:           2540 kB', 'Pss_File:            400 kB', 'Private_Hugetlb:    2048 kB']);
    const status = 'VmLck:\t       0 kB\nVmRSS:\t     900 kB\nRssAnon:\t     500 kB\nRssFile:\t     400 kB\nRssShmem:\t       0 kB\n';
    expect(statusRss(status, delta)).toBe('VmLck:\t       0 kB\nVmRSS:\t    2940 kB\nRssAnon:\t    2540 kB\nRssFile:\t     400 kB\nRssShmem:\t       0 kB\n');
  });

  it("a tmpfs file's mapping whose real file is on another filesystem: its file pages move from the real file sums to shmem's, the rest of its block stays", () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn({ memlock: 'unlimited' });
    const fd = p.openTmpfs('8:1', '/tmp/g', 2 /* O_RDWR */, { size: 1n << 20n, perm: 0o600, uid: 0 });
    const sh = p.mmap(0n, 1n << 20n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    const pv = p.mmap(0n, 1n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0n);
    const file = p.fileOf(fd)!.memfile!;
    const x = (v: bigint) => v.toString(16);
    const lines = (start: bigint, perm: string, rss: number, pss: number, anon: number, flags: string) => [
      `${x(start)}-${x(start + (1n << 20n))} ${perm} 00000000 fe:00 77                 /tmp/g`,
      'Size:               1024 kB',
      `Rss:                 ${String(rss).padStart(3)} kB`,
      `Pss:                 ${String(pss).padStart(3)} kB`,
      `Anonymous:           ${String(anon).padStart(3)} kB`,
      `VmFlags: ${flags}`,
    ];
    // the shared one with 512 kB mapped, the private one with 64 kB, 16 of them its own copies
    const real = [...lines(sh, 'rw-s', 512, 512, 0, 'rd wr sh mr mw me ms rr '), ...lines(pv, 'rw-p', 64, 40, 16, 'rd wr mr mw me rr '), ''].join('\n');
    const rw = rewriteSmaps(real, p.mm, [p.mm], undefined, new Set([file]));
    // only the bridge's MADV_RANDOM of the real mappings leaves the text
    expect(rw.text).toBe(real.replace(/ rr /g, ' '));
    expect(Object.fromEntries(rw.delta)).toEqual({ FileAsShmem: 512 + 48, Pss_File: -(512 + 24), Pss_Shmem: 512 + 24 });
    const status = 'VmRSS:\t     900 kB\nRssAnon:\t     100 kB\nRssFile:\t     800 kB\nRssShmem:\t       0 kB\n';
    expect(statusRss(status, rw.delta)).toBe('VmRSS:\t     900 kB\nRssAnon:\t     100 kB\nRssFile:\t     240 kB\nRssShmem:\t     560 kB\n');
    const rollup = ['0-1 ---p 00000000 00:00 0  [rollup]', 'Pss_File:            600 kB', 'Pss_Shmem:             0 kB', ''].join('\n');
    expect(modelSmapsRollup(rollup, rw.delta).split('\n').slice(1, 3)).toEqual(['Pss_File:             64 kB', 'Pss_Shmem:           536 kB']);
    // a file the real kernel counts as shmem already: its block is the real one, nothing moves
    const same = rewriteSmaps(real, p.mm, [p.mm], undefined, new Set());
    expect([same.text, same.delta.size]).toEqual([real, 0]);
  });

  it('VmFlags mnemonics in bit order', () => {
    expect(vmFlagsText(VM_READ | VM_MAYREAD | VM_ACCOUNT | VM_HUGETLB)).toBe('rd mr ac ht ');
  });
});

describe('maps under exec (show_map_vma() of the model\'s hugetlb VMAs)', () => {
  it('a MAP_HUGETLB and a hugetlb memfd mapping get their hugetlbfs file, device, inode and offset; other lines stay as they are', () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn({ memlock: 'unlimited' });
    const h = p.mmap(0n, 2n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    const fd = p.memfdCreate('vm-ram', 4 /* MFD_HUGETLB */);
    expect(p.ftruncate(fd, 4n << 20n)).toBe(0);
    const f1 = p.mmap(0n, 2n << 20n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2n << 20n);
    const f2 = p.mmap(0n, 2n << 20n, PROT_READ, MAP_SHARED, fd, 2n << 20n);
    const a = p.mmap(0n, 8192n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const x = (v: bigint) => v.toString(16);
    const plain = `${x(a)}-${x(a + 8192n)} rw-p 00000000 00:00 0 `;
    // what the host shows for the emulating memory: anonymous, and a shmem memfd
    const real = [
      `${x(h)}-${x(h + (2n << 20n))} rw-p 00000000 00:00 0 `,
      `${x(f1)}-${x(f1 + (2n << 20n))} rw-s 00200000 00:01 4242                       /memfd:vm-ram (deleted)`,
      `${x(f2)}-${x(f2 + (2n << 20n))} r--s 00200000 00:01 4242                       /memfd:vm-ram (deleted)`,
      plain,
      '',
    ].join('\n');
    const inodes: HugetlbInodes = new SightKeys(1);
    const out = rewriteMaps(real, p.mm, 'latest', inodes).split('\n');
    const col = (l: string) => l.indexOf('/');
    // the path padded to column 73
    const line = (head: string, path: string) => `${head.padEnd(73)}${path}`;
    expect(out[0]).toBe(line(`${x(h)}-${x(h + (2n << 20n))} rw-p 00000000 00:0c 1`, '/anon_hugepage (deleted)'));
    expect(out[1]).toBe(line(`${x(f1)}-${x(f1 + (2n << 20n))} rw-s 00200000 00:0c 2`, '/memfd:vm-ram (deleted)'));
    expect(out[2]).toBe(line(`${x(f2)}-${x(f2 + (2n << 20n))} r--s 00200000 00:0c 2`, '/memfd:vm-ram (deleted)'));
    expect([col(out[0]), out[3], out[4]]).toEqual([73, plain, '']);
    // the same numbering again, and the 6.12 kernel's device; smaps's headers are the maps lines
    expect(rewriteMaps(real, p.mm, 'v6.12', inodes).split('\n')[0]).toContain(' 00:0a 1 ');
    const sm = rewriteSmaps(`${real.split('\n')[0]}\nSize:               2048 kB\n`, p.mm, [p.mm], { profile: 'latest', inodes }).text;
    expect(sm.split('\n')[0]).toBe(out[0]);
    // without the header option the smaps header is the real one
    expect(modelSmaps(`${real.split('\n')[0]}\n`, p.mm).split('\n')[0]).toBe(real.split('\n')[0]);
  });
});
