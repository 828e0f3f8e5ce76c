// SPDX-License-Identifier: GPL-2.0-only
// openat2(2) of the model's nodes: build_open_flags()'s checks of every open_how field in the kernel's
// order, build_open_how()'s dropping of unknown open() flags (what F_GETFL keeps), 7.x's O_EMPTYPATH and
// OPENAT2_REGULAR against 6.12's __FMODE_NONOTIFY bit, and the directory of the VFIO nodes. The numbers are
// what Linux 6.12.95 and 7.2.13 answer test/bridge/progs/paths.c.
import { describe, expect, it } from 'vitest';
import { EAGAIN, EEXIST, EFTYPE, EINVAL, EISDIR, ENOENT, ENOTDIR, ENXIO, EXDEV } from '../../src/base/errno.js';
import { O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EMPTYPATH, O_EXCL, O_PATH, O_RDONLY, O_RDWR, O_TMPFILE_BIT, O_TRUNC, O_WRONLY, OPENAT2_REGULAR } from '../../src/machine/device.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { IommufdClient } from '../../src/client/index.js';

function session(profile: string) {
  const machine = new Machine({ memory: '64M', panicOnWarn: true, profile });
  registerIommufdNodes(machine);
  return machine.spawn({ memlock: 'unlimited' });
}

const how = (flags: number | bigint, mode = 0n, resolve = 0n) => ({ flags: BigInt(flags), mode, resolve });

describe('openat2', () => {
  it('checks each open_how field in build_open_flags() order before the lookup, on both kernels', () => {
    for (const profile of ['latest', 'v6.12']) {
      const p = session(profile);
      expect(p.openat2('/dev/no-such-node', how(O_RDWR | (1 << 30)), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR | (1 << 30)), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(BigInt(O_RDWR) | (1n << 40n)), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR, 0n, 0x40n), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR, 0n, 0x18n), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR, 0o600n), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR | O_CREAT, 0o10000n), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR | O_DIRECTORY | O_CREAT), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDONLY | O_TMPFILE_BIT | O_DIRECTORY, 0o600n), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_PATH | O_RDWR), 0)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR | O_TRUNC, 0n, 0x20n), 0)).toBe(-EAGAIN);
      // the flags come before the name and the walk's own failure
      expect(p.openat2('', how(O_RDWR | (1 << 30)), 0)).toBe(-EINVAL);
      expect(p.openat2('', how(O_RDWR), 0)).toBe(-ENOENT);
      expect(p.openat2('/dev/iommu', how(O_RDWR | (1 << 30)), -EXDEV)).toBe(-EINVAL);
      expect(p.openat2('/dev/iommu', how(O_RDWR), -EXDEV)).toBe(-EXDEV);
      // then do_open(): O_EXCL of what exists, O_DIRECTORY of a device
      expect(p.openat2('/dev/iommu', how(O_RDWR | O_CREAT | O_EXCL, 0o600n), 0)).toBe(-EEXIST);
      expect(p.openat2('/dev/iommu', how(O_RDONLY | O_DIRECTORY), 0)).toBe(-ENOTDIR);
      expect(p.checkOpenHow(how(O_RDWR | O_CREAT, 0o600n))).toBe(0);
      expect(p.checkOpenHow(how(O_RDWR, 1n))).toBe(-EINVAL);
      // nothing was installed meanwhile: the first descriptor is 3; O_CLOEXEC is no f_flag
      const fd = p.openat2('/dev/iommu', how(O_RDWR | O_CLOEXEC | O_CREAT, 0o600n), 0);
      expect(fd).toBe(3);
      expect(p.getfl(fd)).toBe(0x8002);
      p.exit();
    }
  });

  it("7.x: O_EMPTYPATH is an open flag and OPENAT2_REGULAR refuses a device (EFTYPE); 6.12 strips 1 << 26 and knows no bit 32", () => {
    const now = session('latest');
    const old = session('v6.12');
    // open() keeps only VALID_OPEN_FLAGS: 7.x's includes O_EMPTYPATH (F_GETFL 0x4008002), 6.12's does not
    expect(now.getfl(now.open('/dev/iommu', O_RDWR | O_EMPTYPATH))).toBe(0x4008002);
    expect(old.getfl(old.open('/dev/iommu', O_RDWR | O_EMPTYPATH))).toBe(0x8002);
    for (const junk of [1 << 27, 1 << 28, 1 << 29, 1 << 30, 1 << 31]) {
      expect(now.getfl(now.open('/dev/iommu', O_RDWR | junk))).toBe(0x8002);
      expect(old.getfl(old.open('/dev/iommu', O_RDWR | junk))).toBe(0x8002);
    }
    // openat2 takes the bit on both (6.12 strips it unchecked as __FMODE_NONOTIFY)
    expect(now.openat2('/dev/iommu', how(O_RDWR | O_EMPTYPATH), 0)).toBeGreaterThan(0);
    expect(old.openat2('/dev/iommu', how(O_RDWR | O_EMPTYPATH), 0)).toBeGreaterThan(0);
    expect(now.openat2('/dev/iommu', how(BigInt(O_RDWR) | OPENAT2_REGULAR), 0)).toBe(-EFTYPE);
    expect(now.openat2('/dev/iommu', how(BigInt(O_RDONLY | O_DIRECTORY) | OPENAT2_REGULAR), 0)).toBe(-EINVAL);
    expect(old.openat2('/dev/iommu', how(BigInt(O_RDWR) | OPENAT2_REGULAR), 0)).toBe(-EINVAL);
    now.exit();
    old.exit();
  });

  it("7.x: an empty path with O_EMPTYPATH opens the descriptor's own file again: a new iommufd context, ENXIO for an anonymous inode unless O_PATH", () => {
    const p = session('latest');
    const fd = p.open('/dev/iommu', O_RDWR);
    const c = new IommufdClient(p, fd);
    expect(c.ioasAlloc()).toBe(1);
    const again = p.open('', O_RDWR | O_EMPTYPATH, fd);
    expect(again).toBeGreaterThan(fd);
    expect(new IommufdClient(p, again).ioasAlloc()).toBe(1);
    expect(c.ioasAlloc()).toBe(2);
    const q = c.faultQueueAlloc();
    expect(p.open('', O_RDWR | O_EMPTYPATH, q.faultFd)).toBe(-ENXIO);
    expect(p.open('', O_PATH | O_EMPTYPATH, q.faultFd)).toBeGreaterThan(0);
    const vfio = p.open('/dev/vfio/vfio', O_RDWR);
    expect(p.open('', O_RDWR | O_EMPTYPATH, vfio)).toBeGreaterThan(0);
    // 6.12: the bit is dropped, an empty name is ENOENT
    const old = session('v6.12');
    const ofd = old.open('/dev/iommu', O_RDWR);
    expect(old.open('', O_RDWR | O_EMPTYPATH, ofd)).toBe(-ENOENT);
    p.exit();
    old.exit();
  });

  it('/dev/vfio is a directory: stat 040755, write access and creation EISDIR, O_EXCL EEXIST, a read-only open reads EISDIR', () => {
    const p = session('latest');
    expect(p.stat('/dev/vfio')).toMatchObject({ mode: 0o40755, size: 60n });
    expect(p.open('/dev/vfio', O_WRONLY)).toBe(-EISDIR);
    expect(p.open('/dev/vfio', O_RDONLY | O_TRUNC)).toBe(-EISDIR);
    expect(p.open('/dev/vfio', O_RDONLY | O_CREAT)).toBe(-EISDIR);
    expect(p.open('/dev/vfio', O_RDONLY | O_CREAT | O_EXCL)).toBe(-EEXIST);
    expect(p.openat2('/dev/vfio', how(BigInt(O_RDONLY) | OPENAT2_REGULAR), 0)).toBe(-EFTYPE);
    const d = p.open('/dev/vfio', O_RDONLY | O_DIRECTORY);
    expect(d).toBe(3);
    expect(p.fstat(d)).toMatchObject({ mode: 0o40755 });
    expect(p.read(d, 0n, 8)).toBe(-EISDIR);
    expect(p.open('/dev/vfio', O_PATH)).toBe(4);
    // only under /dev, and only a directory that holds nodes
    expect(p.stat('/dev/vfio/devices')).toBe(-ENOENT);
    expect(p.stat('/dev')).toBe(-ENOENT);
    p.exit();
  });
});

