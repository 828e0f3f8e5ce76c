// SPDX-License-Identifier: GPL-2.0-only
// open(2) of the model's device nodes: the order of do_sys_openat2() (flags, a free
// descriptor, the lookup, then do_open()'s checks), O_DIRECTORY on a device.
import { describe, expect, it } from 'vitest';
import { EINVAL, EMFILE, ENOENT, ENOTDIR } from '../../src/base/errno.js';
import { O_CREAT, O_DIRECTORY, O_RDWR } from '../../src/machine/device.js';
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
});
