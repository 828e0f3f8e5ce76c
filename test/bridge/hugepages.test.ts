// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../src/base/errno.js';
import { meminfoText, poolFileText, poolWrite } from '../../src/bridge/hugepages.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, PMD_ORDER, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

describe("the hugetlb pool's files under exec", () => {
  it('reservations, a page in use, a shrink below them (surplus), meminfo lines rewritten in place', () => {
    const m = new Machine({ memory: '64M', hugetlbPages: { '2M': 8 } });
    const p = m.spawn({ memlock: 'unlimited' });
    const read = (f: string) => poolFileText(m.phys, PMD_ORDER, f);
    expect([read('nr_hugepages'), read('free_hugepages'), read('resv_hugepages'), read('surplus_hugepages')]).toEqual(['8\n', '8\n', '0\n', '0\n']);
    const h = p.mmap(0n, 8n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
    p.writeMemory(h, new Uint8Array([1]));
    expect([read('free_hugepages'), read('resv_hugepages')]).toEqual(['7\n', '3\n']);
    expect(poolWrite(m.phys, PMD_ORDER, '2\n')).toBe(2);
    expect([read('nr_hugepages'), read('sysctl_nr_hugepages'), read('surplus_hugepages')]).toEqual(['4\n', '2\n', '2\n']);
    expect(poolWrite(m.phys, PMD_ORDER, 'x')).toBe(-EINVAL);
    // never more than memory holds (64 MiB: 32 huge pages)
    expect(poolWrite(m.phys, PMD_ORDER, '1000')).toBe(4);
    expect(read('sysctl_nr_hugepages')).toBe('32\n');
    const real = 'MemTotal:       16000000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:               0 kB\n';
    expect(meminfoText(real, m.phys)).toBe('MemTotal:       16000000 kB\nHugePages_Total:      32\nHugePages_Free:       31\nHugePages_Rsvd:        3\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:           65536 kB\n');
    // AnonHugePages is the model's when given (the real line's width kept)
    expect(meminfoText('AnonHugePages:    614400 kB\n', m.phys, 4 << 20)).toBe('AnonHugePages:      4096 kB\n');
  });
});
