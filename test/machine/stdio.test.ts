// SPDX-License-Identifier: GPL-2.0-only
// Descriptors 0-2 of a process with the exec layout (src/machine/stdio.ts): /dev/null
// read-only and the console twice, as the oracle guest's programs have them. Every
// answer below is what 7.2.13 and 6.12.95 gave in the VM (/tmp/stdio programs run with
// `iommufd-sim oracle` on both kernels, all calls agreeing).
import { describe, expect, it } from 'vitest';
import { EAGAIN, EBADF, EFAULT, ENODEV, ENOTTY, ESPIPE } from '../../src/base/errno.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../src/machine/device.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

const ALL = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

function exec(): ReturnType<Machine['spawn']> {
  return new Machine({ memory: '64M', panicOnWarn: true, profile: 'latest', processLayout: 'exec' }).spawn();
}

describe('stdin, stdout and stderr', () => {
  it('/dev/null on 0: reads nothing, is not open for writing, seeks to 0, always ready, no ioctl or mmap', () => {
    const p = exec();
    const buf = p.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(p.read(0, buf, 16)).toBe(0);
    expect(p.pread(0, buf, 16, 4096n)).toBe(0);
    // read_null() touches nothing: an unmapped buffer is no fault
    expect(p.read(0, 0n, 16)).toBe(0);
    expect(p.write(0, buf, 16)).toBe(-EBADF);
    expect(p.lseek(0, 5n, 0)).toBe(0n);
    expect(p.poll(0, ALL)).toBe(ALL);
    expect(p.ioctl(0, 0x3b81, 0n)).toBe(-ENOTTY);
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_PRIVATE, 0)).toBe(BigInt(-ENODEV));
    expect(p.fstat(0)).toMatchObject({ mode: 0o20666, rdevMajor: 1, rdevMinor: 3, size: 0n });
  });

  it('the console on 1 and 2: nonseekable, ENOTTY for iommufd ioctls, ready for writing, writes in whole 2048-byte chunks', () => {
    const p = exec();
    const buf = p.mmap(0n, 3n * 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(p.munmap(buf + 8192n, 4096n)).toBe(0);
    expect(p.lseek(1, 5n, 0)).toBe(BigInt(-ESPIPE));
    expect(p.pwrite(2, buf, 0, 0n)).toBe(-ESPIPE);
    expect(p.ioctl(1, 0x3b81, 0n)).toBe(-ENOTTY);
    // FIONREAD (TIOCINQ): no input waiting, 0 written; /dev/null is no regular file and has no ioctl
    expect(p.writeMemory(buf, new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0);
    expect(p.ioctl(2, 0x541b, buf)).toBe(0);
    const n = new Uint8Array(4);
    expect(p.readMemory(buf, n)).toBe(0);
    expect([...n]).toEqual([0, 0, 0, 0]);
    expect(p.ioctl(0, 0x541b, buf)).toBe(-ENOTTY);
    expect(p.poll(1, ALL)).toBe(POLLOUT | POLLWRNORM);
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, 1)).toBe(BigInt(-ENODEV));
    expect(p.fstat(2)).toMatchObject({ mode: 0o20600, rdevMajor: 5, rdevMinor: 1 });
    // iterate_tty_write(): a chunk that faults is dropped, the whole ones before it count
    expect(p.write(1, buf, 6)).toBe(6);
    expect(p.write(1, buf, 12288)).toBe(8192);
    expect(p.write(2, buf + 8092n, 3000)).toBe(-EFAULT);
    expect(p.write(2, buf + 4096n, 5000)).toBe(4096);
    expect(p.write(2, buf + 6000n, 2192)).toBe(2192);
    expect(p.write(2, buf + 6000n, 2193)).toBe(2048);
    // no input comes: the kernel sleeps, the model answers as for O_NONBLOCK
    expect(p.read(1, buf, 16)).toBe(-EAGAIN);
  });

  it('close frees them: the lowest free descriptor may be below 3; a child shares them', () => {
    const p = exec();
    expect(p.open('/dev/iommu', 2)).toBe(3);
    expect(p.close(0)).toBe(0);
    expect(p.open('/dev/iommu', 2)).toBe(0);
    const child = p.fork();
    expect(child.close(1)).toBe(0);
    expect(p.poll(1, ALL)).toBe(POLLOUT | POLLWRNORM);
    expect(child.open('/dev/iommu', 2)).toBe(1);
    expect(p.close(2)).toBe(0);
    expect(p.dup(3)).toBe(2);
    child.exit();
    p.exit();
  });

  it('a process without them (the bare layout, the bridge) still starts its descriptors at 3', () => {
    const p = new Machine({ memory: '64M', profile: 'latest' }).spawn();
    expect(p.close(0)).toBe(-EBADF);
    expect(p.poll(1, ALL)).toBe(0x20);
    expect(p.open('/dev/iommu', 2)).toBe(3);
    expect(p.dup(3)).toBe(4);
    const q = new Machine({ memory: '64M', profile: 'latest', processLayout: 'exec' }).spawn({ stdio: false });
    expect(q.fstat(0)).toBe(-EBADF);
  });
});
