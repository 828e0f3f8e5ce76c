// SPDX-License-Identifier: GPL-2.0-only
// open(2) of the model's device nodes: the order of do_sys_openat2() (flags, a free
// descriptor, the lookup, then do_open()'s checks), O_DIRECTORY on a device.
import { describe, expect, it } from 'vitest';
import { EACCES, EBADF, EEXIST, EFAULT, EINVAL, EMFILE, ENOENT, ENOTDIR, EPERM, ESPIPE } from '../../src/base/errno.js';
import { O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_NOATIME, O_PATH, O_RDWR, POLLIN, POLLNVAL } from '../../src/machine/device.js';
import { iommufdContexts, iommufdCtxOf } from '../../src/machine/iommufd-node.js';
import { MAP_SHARED, PROT_READ, TASK_SIZE_MAX } from '../../src/mm/constants.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { NR_OPEN_DEFAULT } from '../../src/machine/process.js';

function session(profile: string) {
  const machine = new Machine({ memory: '64M', panicOnWarn: true, profile });
  registerIommufdNodes(machine);
  return machine.spawn({ memlock: 'unlimited' });
}

describe('open', () => {
  it('O_DIRECTORY on /dev/iommu is ENOTDIR (a device, not a directory); O_DIRECTORY|O_CREAT is EINVAL from v6.4', () => {
    const p = session('latest');
    expect(p.open('/dev/iommu', O_RDWR | O_DIRECTORY)).toBe(-ENOTDIR);
    expect(p.open('/dev/iommu', O_RDWR | O_DIRECTORY | O_CREAT)).toBe(-EINVAL);
    // nothing was installed by the failed opens: the next descriptor is the first one
    const fd = p.open('/dev/iommu', O_RDWR);
    expect(fd).toBe(3);
    // v6.2 passes the flag pair on: the walk ends at the device with ENOTDIR
    const old = session('v6.2');
    expect(old.open('/dev/iommu', O_RDWR | O_DIRECTORY | O_CREAT)).toBe(-ENOTDIR);
    p.exit();
    old.exit();
  });

  it('a full table is EMFILE before the lookup (get_unused_fd_flags() comes first), the flags before both', () => {
    const p = session('v6.12');
    for (let i = 3; i < NR_OPEN_DEFAULT; i++) expect(p.open('/dev/iommu', O_RDWR)).toBe(i);
    expect(p.open('/dev/no-such-node', O_RDWR)).toBe(-EMFILE);
    expect(p.open('/dev/iommu', O_RDWR)).toBe(-EMFILE);
    expect(p.open('/dev/iommu', O_RDWR | O_DIRECTORY | O_CREAT)).toBe(-EINVAL);
    expect(p.close(3)).toBe(0);
    expect(p.open('/dev/no-such-node', O_RDWR)).toBe(-ENOENT);
    p.exit();
  });

  it('O_PATH gives a descriptor of the path alone: no context, fdget() refuses it, close and dup take it', () => {
    const p = session('latest');
    // do_o_path(): every flag but O_PATH_FLAGS dropped, the device never opened
    const fd = p.open('/dev/iommu', O_PATH | O_CLOEXEC | O_RDWR | O_CREAT | 0x800000);
    expect(fd).toBe(3);
    expect(iommufdCtxOf(p, fd)).toBeUndefined();
    expect(iommufdContexts(p.machine)).toHaveLength(0);
    expect(p.fileOf(fd)).toBeUndefined();
    expect(p.hasFd(fd)).toBe(true);
    expect(p.ioctl(fd, 0x3b81, 0n)).toBe(-EBADF);
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, fd)).toBe(BigInt(-EBADF));
    expect(p.read(fd, 0x10000n, 8)).toBe(-EBADF);
    expect(p.write(fd, 0x10000n, 8)).toBe(-EBADF);
    expect(p.poll(fd, POLLIN)).toBe(POLLNVAL);
    const d = p.dup(fd);
    expect(d).toBe(4);
    expect(p.ioctl(d, 0x3b81, 0n)).toBe(-EBADF);
    expect(p.close(fd)).toBe(0);
    expect(p.close(d)).toBe(0);
    expect(p.close(fd)).toBe(-EBADF);
    // O_PATH | O_DIRECTORY: the directory check still applies to the node
    expect(p.open('/dev/iommu', O_PATH | O_DIRECTORY)).toBe(-ENOTDIR);
    // an ordinary open makes a context
    const real = p.open('/dev/iommu', O_RDWR);
    expect(iommufdCtxOf(p, real)).toBeDefined();
    p.exit();
  });

  it('read and write check the whole buffer (access_ok) before the file, then cut the count to MAX_RW_COUNT', () => {
    const p = session('latest');
    const c = IommufdClient.open(p);
    const q = c.faultQueueAlloc();
    const buf = 0x10000n;
    // vfs_read(): the range must end at or below TASK_SIZE_MAX, else EFAULT before the queue's ESPIPE
    expect(p.read(q.faultFd, TASK_SIZE_MAX - 40n, 41)).toBe(-EFAULT);
    expect(p.read(q.faultFd, TASK_SIZE_MAX - 80n, 80)).toBe(0);
    expect(p.read(q.faultFd, buf, 41)).toBe(-ESPIPE);
    // 2^31 + 32 bytes (whole 40-byte records) fit below TASK_SIZE_MAX from here, but the queue sees
    // 0x7ffff000 (MAX_RW_COUNT), which is not a whole number of records
    expect((2 ** 31 + 32) % 40).toBe(0);
    expect(p.read(q.faultFd, buf, 2 ** 31 + 32)).toBe(-ESPIPE);
    expect(p.read(q.faultFd, buf, 40)).toBe(0);
    expect(p.write(q.faultFd, TASK_SIZE_MAX - 7n, 8)).toBe(-EFAULT);
    expect(p.write(q.faultFd, buf, 9)).toBe(-ESPIPE);
    p.exit();
  });

  it('O_DIRECT on a device is EINVAL after the driver opened (the context is released); O_ACCMODE 3 is ioctl only', () => {
    const p = session('latest');
    // do_dentry_open(): no FMODE_CAN_ODIRECT
    expect(p.open('/dev/iommu', O_RDWR | O_DIRECT)).toBe(-EINVAL);
    expect(iommufdContexts(p.machine)).toHaveLength(0);
    expect(p.openFds()).toEqual([]);
    // OPEN_FMODE(3): neither FMODE_READ nor FMODE_WRITE
    const fd = p.open('/dev/iommu', 3);
    expect(fd).toBe(3);
    expect(iommufdCtxOf(p, fd)).toBeDefined();
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, fd)).toBe(BigInt(-EACCES));
    expect(p.read(fd, 0x10000n, 8)).toBe(-EBADF);
    expect(p.write(fd, 0x10000n, 8)).toBe(-EBADF);
    // do_open(): O_CREAT | O_EXCL of an existing node is EEXIST, before the driver and before O_DIRECTORY (v6.2:
    // no EINVAL for O_DIRECTORY | O_CREAT first)
    expect(p.open('/dev/iommu', O_RDWR | O_CREAT | O_EXCL | O_DIRECT)).toBe(-EEXIST);
    expect(session('v6.2').open('/dev/iommu', O_RDWR | O_CREAT | O_EXCL | O_DIRECTORY)).toBe(-EEXIST);
    expect(p.open('/dev/iommu', O_RDWR | O_CREAT)).toBeGreaterThan(fd);
    p.exit();
  });

  // 6.12.95, the oracle's uid 1000 (differential run, seed 424242): open(0x4a0c4f6b) EPERM where the model said EINVAL
  it('O_NOATIME is EPERM for a process that neither owns the node (root) nor has CAP_FOWNER, after EEXIST and before the driver (may_open)', () => {
    const p = session('v6.12');
    expect(p.open('/dev/iommu', O_RDWR | O_NOATIME)).toBe(-EPERM);
    expect(iommufdContexts(p.machine)).toHaveLength(0);
    // before O_DIRECT's EINVAL (the driver is never opened), after O_CREAT | O_EXCL's EEXIST
    expect(p.open('/dev/iommu', 0x4a0c4f6b)).toBe(-EPERM);
    expect(p.open('/dev/iommu', O_RDWR | O_NOATIME | O_CREAT | O_EXCL)).toBe(-EEXIST);
    // O_PATH drops O_NOATIME before any check
    expect(p.open('/dev/iommu', O_PATH | O_NOATIME)).toBeGreaterThanOrEqual(3);
    const owner = p.machine.spawn({ memlock: 'unlimited', uid: 0 });
    expect(owner.open('/dev/iommu', O_RDWR | O_NOATIME)).toBe(3);
    const fowner = p.machine.spawn({ memlock: 'unlimited', caps: ['CAP_FOWNER'] });
    expect(fowner.open('/dev/iommu', O_RDWR | O_NOATIME)).toBe(3);
    p.exit();
    owner.exit();
    fowner.exit();
  });
});
