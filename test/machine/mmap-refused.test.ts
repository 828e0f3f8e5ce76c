// SPDX-License-Identifier: GPL-2.0-only
// mmap(2) of a file the model does not know whose own checks refuse the mapping
// (Process.mmapRefusedFile, what exec asks for a host file): do_mmap() checks the
// address first, then the file, and a refused MAP_FIXED leaves the range it named.
import { describe, expect, it } from 'vitest';
import { EACCES, EEXIST, EINVAL, ENODEV, ENOMEM } from '../../src/base/errno.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, TASK_SIZE } from '../../src/mm/constants.js';

describe('mmap of a file that refuses the mapping', () => {
  it('address errors first (EINVAL, ENOMEM, EEXIST), then the file\'s errno; the fixed range keeps its mapping and bytes', () => {
    const machine = new Machine({ memory: '64M', panicOnWarn: true, profile: 'latest' });
    const p = machine.spawn({ memlock: 'unlimited' });
    const buf = p.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(buf > 0n).toBe(true);
    expect(p.writeMemory(buf, new Uint8Array(4 * 4096).fill(0x5a))).toBe(0);
    const vmas = (): string[] => p.mm.vmas.map((v) => `${v.start}-${v.end}:${v.flags}`);
    const before = vmas();
    // the file's answer once the address passes
    expect(p.mmapRefusedFile(buf, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0n, ENODEV)).toBe(BigInt(-ENODEV));
    expect(p.mmapRefusedFile(buf + 4096n, 4096n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0n, EACCES)).toBe(BigInt(-EACCES));
    expect(p.mmapRefusedFile(0n, 4096n, PROT_READ, MAP_PRIVATE, 0n, ENODEV)).toBe(BigInt(-ENODEV));
    // the address's own errors come first
    expect(p.mmapRefusedFile(buf, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 0n, ENODEV)).toBe(BigInt(-EEXIST));
    expect(p.mmapRefusedFile(buf + 1n, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0n, ENODEV)).toBe(BigInt(-EINVAL));
    expect(p.mmapRefusedFile(TASK_SIZE, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0n, ENODEV)).toBe(BigInt(-ENOMEM));
    // an offset not page-aligned before anything
    expect(p.mmapRefusedFile(buf, 4096n, PROT_READ, MAP_PRIVATE | MAP_FIXED, 100n, ENODEV)).toBe(BigInt(-EINVAL));
    // nothing changed
    expect(vmas()).toEqual(before);
    expect(before).toHaveLength(1);
    const back = new Uint8Array(4 * 4096);
    expect(p.readMemory(buf, back)).toBe(0);
    expect(back.every((b) => b === 0x5a)).toBe(true);
    p.exit();
  });
});
