// SPDX-License-Identifier: GPL-2.0-only
// dup(2), dup2(2), dup3(2) and F_DUPFD on the model's descriptor table: one open file description, released with its last descriptor.
import { describe, expect, it } from 'vitest';
import { EBADF, EINVAL, EMFILE, ENOENT } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { NR_OPEN_DEFAULT } from '../../src/machine/process.js';
import * as U from '../../src/iommufd/uapi.js';

const destroy = (c: IommufdClient, id: number) => c.raw(U.IOMMU_DESTROY, U.iommu_destroy, { id }).rc;

function session() {
  const machine = new Machine({ memory: '64M', panicOnWarn: true, profile: 'v6.12' });
  registerIommufdNodes(machine);
  const proc = machine.spawn({ memlock: 'unlimited' });
  return { machine, proc };
}

describe('dup of model descriptors', () => {
  it('dup shares the context: objects made through one fd are seen through the other, release waits for the last close', () => {
    const { proc } = session();
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    const d = proc.dup(c.fd);
    expect(d).toBe(c.fd + 1);
    expect(proc.close(c.fd)).toBe(0);
    const c2 = new IommufdClient(proc, d);
    // the object still exists: the context was not released by the first close
    expect(destroy(c2, ioas)).toBe(0);
    expect(destroy(c2, ioas)).toBe(-ENOENT);
    expect(proc.close(d)).toBe(0);
    expect(proc.close(d)).toBe(-EBADF);
    proc.exit();
  });

  it('F_DUPFD takes the lowest free slot at or above min; bad fd EBADF, min outside the table EINVAL, full table EMFILE', () => {
    const { proc } = session();
    const c = IommufdClient.open(proc);
    expect(proc.dup(c.fd, 10)).toBe(10);
    expect(proc.dup(c.fd, 10)).toBe(11);
    expect(proc.dup(99)).toBe(-EBADF);
    expect(proc.dup(c.fd, NR_OPEN_DEFAULT)).toBe(-EINVAL);
    expect(proc.dup(c.fd, NR_OPEN_DEFAULT - 1)).toBe(NR_OPEN_DEFAULT - 1);
    expect(proc.dup(c.fd, NR_OPEN_DEFAULT - 1)).toBe(-EMFILE);
    proc.exit();
  });

  it('dup2/dup3: replace the target, same-fd rules, range and bad-fd errno in ksys_dup3 order', () => {
    const { proc } = session();
    const a = IommufdClient.open(proc);
    const b = IommufdClient.open(proc);
    const ioasB = b.ioasAlloc();
    expect(proc.dup3(a.fd, a.fd)).toBe(-EINVAL);
    expect(proc.dup3(a.fd, a.fd, true)).toBe(a.fd);
    expect(proc.dup3(77, 77, true)).toBe(-EBADF);
    expect(proc.dup3(a.fd, NR_OPEN_DEFAULT)).toBe(-EBADF);
    expect(proc.dup3(77, 20)).toBe(-EBADF);
    // b's only descriptor is replaced: its context is released, b.fd now names a's context
    expect(proc.dup3(a.fd, b.fd)).toBe(b.fd);
    expect(destroy(b, ioasB)).toBe(-ENOENT);
    const ioasA = a.ioasAlloc();
    expect(destroy(b, ioasA)).toBe(0);
    proc.exit();
  });
});
