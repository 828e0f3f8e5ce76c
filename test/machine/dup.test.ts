// SPDX-License-Identifier: GPL-2.0-only
// dup(2), dup2(2), dup3(2) and F_DUPFD on the model's descriptor table: one open file description, released with its last descriptor.
import { describe, expect, it } from 'vitest';
import { EBADF, EINVAL, EMFILE, ENOENT } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { NR_OPEN_DEFAULT } from '../../src/machine/process.js';
import * as U from '../../src/iommufd/uapi.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

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

describe('SCM_RIGHTS between processes (scmSend / scmReceive)', () => {
  it('the message holds the file while the sender closes; the receiver installs it at the number given; a dropped message releases it', () => {
    const { machine, proc } = session();
    const other = machine.spawn({ memlock: 'unlimited' });
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    const f = proc.scmSend(c.fd);
    expect(typeof f).toBe('object');
    expect(proc.scmSend(77)).toBe(-EBADF);
    expect(proc.close(c.fd)).toBe(0);
    if (typeof f === 'number') return;
    expect(other.scmReceive(f, 9)).toBe(9);
    // received once only
    expect(other.scmReceive(f, 10)).toBe(-EBADF);
    const c2 = new IommufdClient(other, 9);
    expect(destroy(c2, ioas)).toBe(0);
    // the receiver's pins are its own; a message never received: dropping it releases the last reference
    const ioas2 = c2.ioasAlloc();
    c2.mockDomain(ioas2);
    const va = other.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    c2.ioasMap({ ioas: ioas2, userVa: va, length: 4 * 4096, iova: 1 << 24 });
    expect([other.mm.pinnedVm, proc.mm.pinnedVm]).toEqual([4, 0]);
    const g = other.scmSend(9);
    expect(other.close(9)).toBe(0);
    if (typeof g === 'number') throw new Error('scmSend failed');
    expect(other.mm.pinnedVm).toBe(4);
    g.drop();
    expect(other.mm.pinnedVm).toBe(0);
    expect(other.scmReceive(g, 9)).toBe(-EBADF);
    expect(other.hasFd(9)).toBe(false);
    expect(machine.warnings).toEqual([]);
    proc.exit();
    other.exit();
  });
});

describe('/proc/PID/fd links (Process.fdPath)', () => {
  it('the node opened, a file of its own name, shared by dup; EBADF when closed', () => {
    const { proc } = session();
    const c = IommufdClient.open(proc);
    expect(proc.fdPath(c.fd)).toBe('/dev/iommu');
    const access = c.createAccess(c.ioasAlloc());
    expect(proc.fdPath(access)).toBe('anon_inode:[iommufd_test_staccess]');
    const m = proc.memfdCreate('guest');
    expect(proc.fdPath(m)).toBe('/memfd:guest (deleted)');
    const d = proc.dup(c.fd);
    expect(proc.fdPath(d)).toBe('/dev/iommu');
    expect(proc.close(c.fd)).toBe(0);
    expect(proc.fdPath(c.fd)).toBe(-EBADF);
    proc.exit();
  });
});
