// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EINVAL, ERANGE } from '../../src/base/errno.js';
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
    const w = (t: string | Uint8Array, file = 'nr_hugepages'): number => poolWrite(m.phys, PMD_ORDER, typeof t === 'string' ? Buffer.from(t) : t, file);
    expect(w('2\n')).toBe(2);
    expect([read('nr_hugepages'), read('sysctl_nr_hugepages'), read('surplus_hugepages')]).toEqual(['4\n', '2\n', '2\n']);
    expect(w('x')).toBe(-EINVAL);
    // never more than memory holds (64 MiB: 32 huge pages)
    expect(w('1000')).toBe(4);
    expect(read('sysctl_nr_hugepages')).toBe('32\n');
    // the pool's sysfs file: kstrtoul() of kernfs's NUL-ended copy (a '+', no blanks, one newline); the whole write taken
    expect([w(' 5'), w('5 '), w('0x5'), w('5\n\n'), w('99999999999999999999')]).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -ERANGE]);
    expect([w('+6'), w(new Uint8Array([0x36, 0, 0x78]))]).toEqual([2, 3]);
    expect(read('sysctl_nr_hugepages')).toBe('6\n');
    // /proc/sys/vm/nr_hugepages: proc_doulongvec_minmax() (blanks around, base from the prefix, then a blank or the end;
    // what follows the blanks after the value is not taken)
    const ws = (t: string | Uint8Array): number => w(t, 'sysctl_nr_hugepages');
    expect([ws(' 7\n'), ws('0x8 '), ws('011'), ws('5 x'), ws('5\tzz')]).toEqual([3, 4, 3, 2, 2]);
    expect(read('sysctl_nr_hugepages')).toBe('5\n');
    expect(w('1000')).toBe(4);
    expect([ws('-1'), ws('5x'), ws('0x'), ws(''), ws('   '), ws(new Uint8Array([0x35, 0])), ws('123456789012345678901')]).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
    const real = 'MemTotal:       16000000 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:               0 kB\n';
    expect(meminfoText(real, m.phys)).toBe('MemTotal:       16000000 kB\nHugePages_Total:      32\nHugePages_Free:       31\nHugePages_Rsvd:        3\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:           65536 kB\n');
    // AnonHugePages is the model's when given (the real line's width kept)
    expect(meminfoText('AnonHugePages:    614400 kB\n', m.phys, 4 << 20)).toBe('AnonHugePages:      4096 kB\n');
  });
});
