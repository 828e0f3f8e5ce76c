// SPDX-License-Identifier: GPL-2.0-only
// lib/kstrtox.c's strict parsing, as proc_fail_nth_write() applies it (kstrtouint_from_user(), base 0):
// one '+', no blanks, the base from the prefix, one '\n', 34 bytes up to a NUL, ERANGE past the type.
import { describe, expect, it } from 'vitest';
import { EINVAL, ERANGE } from '../../src/base/errno.js';
import { kstrtoull, kstrtouintFromUser } from '../../src/base/kstrtox.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('kstrtox', () => {
  it('takes the base from the prefix when asked for base 0, one leading + and one trailing newline', () => {
    const cases: Array<[string, number]> = [
      ['5', 5], ['5\n', 5], ['+4', 4], ['+0x10', 16], ['0X1f', 31], ['017', 15], ['0', 0], ['00', 0], ['4294967295', 4294967295],
      [' 5', -EINVAL], ['\t3', -EINVAL], ['++4', -EINVAL], ['-1', -EINVAL], ['', -EINVAL], ['0x', -EINVAL], ['019', -EINVAL],
      ['6\n\n', -EINVAL], ['5 ', -EINVAL], ['4294967296', -ERANGE],
    ];
    for (const [s, want] of cases) expect([s, kstrtouintFromUser(b(s), 0)]).toEqual([s, want]);
  });

  it('reads 34 bytes at most and stops at a NUL among them, as kstrto_from_user() copies them', () => {
    expect(kstrtouintFromUser(b(`${'0'.repeat(34)}5`), 0)).toBe(0);
    expect(kstrtouintFromUser(b(`${'0'.repeat(33)}7`), 0)).toBe(7);
    expect(kstrtouintFromUser(b('1\0x'), 0)).toBe(1);
    expect(kstrtouintFromUser(b('6\n\0junk'), 0)).toBe(6);
  });

  it('says ERANGE past 64 bits and parses a given base without a prefix', () => {
    expect(kstrtoull(b('18446744073709551615'), 10)).toBe(0xffffffffffffffffn);
    expect(kstrtoull(b('18446744073709551616'), 10)).toBe(-ERANGE);
    expect(kstrtoull(b('ff'), 16)).toBe(255n);
    expect(kstrtoull(b('0xff'), 16)).toBe(255n);
    expect(kstrtoull(b('12'), 8)).toBe(10n);
    expect(kstrtoull(b('8'), 8)).toBe(-EINVAL);
  });
});
