// SPDX-License-Identifier: GPL-2.0-only
// pidfd_getfd(2) (Process.pidfdGetfd()): another process's open file description at a new descriptor.
import { describe, expect, it } from 'vitest';
import { EBADF, ESRCH } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { PAGE_SIZE } from '../../src/mm/constants.js';

describe('pidfd_getfd', () => {
  it('installs the same open file: an iommufd context shared, released with the last descriptor', () => {
    const machine = new Machine({ memory: '64M', panicOnWarn: true });
    registerIommufdNodes(machine);
    const a = machine.spawn({ memlock: 'unlimited' });
    const b = machine.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(a);
    expect(c.ioasAlloc()).toBe(1);
    expect(b.pidfdGetfd(a, c.fd, 7)).toBe(7);
    expect(b.fileOf(7)).toBe(a.fileOf(c.fd));
    expect(new IommufdClient(b, 7).ioasAlloc()).toBe(2);
    const m = a.memfdCreate('m', 0);
    expect(a.ftruncate(m, BigInt(PAGE_SIZE))).toBe(0);
    expect(b.pidfdGetfd(a, m, 8)).toBe(8);
    expect(b.fstat(8)).toMatchObject({ size: BigInt(PAGE_SIZE) });
    expect(b.pidfdGetfd(a, 99, 9)).toBe(-EBADF);
    expect(b.fileOf(9)).toBeUndefined();
    // the context lives while either process holds it
    const ctxFile = a.fileOf(c.fd)!;
    a.exit();
    expect(b.fileOf(7)).toBe(ctxFile);
    expect(new IommufdClient(b, 7).ioasAlloc()).toBe(3);
    expect(b.pidfdGetfd(a, m, 10)).toBe(-ESRCH);
    b.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });
});
