// SPDX-License-Identifier: GPL-2.0-only
// read(2), write(2) and poll(2) on the machine's files: the VFS checks before a file's own method.
import { describe, expect, it } from 'vitest';
import { EBADF, EINVAL } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { DEFAULT_POLLMASK, Machine, POLLERR, POLLIN, POLLNVAL, POLLOUT } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

function session() {
  const machine = new Machine({ memory: '64M', panicOnWarn: true, profile: 'v6.12' });
  registerIommufdNodes(machine);
  const proc = machine.spawn({ memlock: 'unlimited' });
  const buf = proc.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  return { machine, proc, buf };
}

describe('file read, write and poll', () => {
  it('a file without read/write/poll: EINVAL, EINVAL, the default mask; unknown fds EBADF (poll: POLLNVAL, a negative fd skipped)', () => {
    const { proc, buf } = session();
    const c = IommufdClient.open(proc);
    expect(proc.read(c.fd, buf, 8)).toBe(-EINVAL);
    expect(proc.write(c.fd, buf, 8)).toBe(-EINVAL);
    expect(proc.poll(c.fd, POLLIN | POLLOUT)).toBe(DEFAULT_POLLMASK & (POLLIN | POLLOUT));
    expect(proc.read(99, buf, 8)).toBe(-EBADF);
    expect(proc.write(99, buf, 8)).toBe(-EBADF);
    // do_pollfd(): 6.12.95 answered poll() = 1 with revents POLLNVAL (oracle, generated v6.12 seeds 5066, 5101, 5142)
    expect(proc.poll(99, POLLIN)).toBe(POLLNVAL);
    expect(proc.poll(-1, POLLIN)).toBe(0);
    proc.exit();
  });

  it('the fault queue fd: read/write need whole records, poll is writable and readable only with a fault waiting', () => {
    const { proc, buf, machine } = session();
    const c = IommufdClient.open(proc);
    const { faultFd } = c.faultQueueAlloc();
    expect(proc.poll(faultFd, POLLIN | POLLOUT | POLLERR)).toBe(POLLOUT);
    expect(proc.read(faultFd, buf, 40)).toBe(0);
    expect(proc.read(faultFd, buf, 0)).toBe(0);
    expect(proc.write(faultFd, buf, 0)).toBe(0);
    expect(proc.write(faultFd, buf, 8)).toBe(-EINVAL);
    expect(proc.close(faultFd)).toBe(0);
    c.close();
    proc.exit();
    expect(machine.warnings).toEqual([]);
  });
});
