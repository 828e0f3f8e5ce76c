// SPDX-License-Identifier: GPL-2.0-only
// open(2) of /proc/self/fd/N where N is a memfd (proc_fd_link(), do_open()): a new file on the same
// inode. The answers 6.12.95 and 7.2.13 give test/bridge/progs/reopen.c.
import { describe, expect, it } from 'vitest';
import { EBADF, EEXIST, EINVAL, ENOENT, ENOTDIR, EPERM } from '../../src/base/errno.js';
import { O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC } from '../../src/machine/device.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { F_ADD_SEALS, F_GET_SEALS, F_SEAL_GROW, F_SEAL_SHRINK, MFD_ALLOW_SEALING, PAGE_SIZE, SEEK_CUR, SEEK_SET } from '../../src/mm/constants.js';

const PG = PAGE_SIZE;

function session() {
  const machine = new Machine({ memory: '64M', panicOnWarn: true });
  registerIommufdNodes(machine);
  return { machine, proc: machine.spawn({ memlock: 'unlimited' }) };
}

describe('a memfd reopened through /proc/self/fd', () => {
  it('shares the inode (size, seals) and has its own access mode and position', () => {
    const { machine, proc } = session();
    const m = proc.memfdCreate('m', MFD_ALLOW_SEALING);
    expect(proc.ftruncate(m, 4 * PG)).toBe(0);
    const ro = proc.open(`/proc/self/fd/${m}`, O_RDONLY);
    const rw = proc.open(`/proc/${proc.pid}/fd/${m}`, O_RDWR);
    expect(ro).toBeGreaterThan(m);
    expect(rw).toBeGreaterThan(ro);
    expect(proc.fileOf(ro)!.memfile).toBe(proc.fileOf(m)!.memfile);
    expect(proc.fstat(ro)).toMatchObject({ size: BigInt(4 * PG) });
    // a read-only file: no truncate (EINVAL), no allocation (EBADF), no seal (EPERM)
    expect(proc.ftruncate(ro, PG)).toBe(-EINVAL);
    expect(proc.fallocate(ro, 0, 0, PG)).toBe(-EBADF);
    expect(proc.memfdFcntl(ro, F_ADD_SEALS, F_SEAL_GROW)).toBe(-EPERM);
    expect(proc.ftruncate(rw, 8 * PG)).toBe(0);
    expect(proc.fstat(m)).toMatchObject({ size: BigInt(8 * PG) });
    expect(proc.memfdFcntl(rw, F_ADD_SEALS, F_SEAL_SHRINK)).toBe(0);
    expect(proc.memfdFcntl(m, F_GET_SEALS, 0)).toBe(F_SEAL_SHRINK);
    expect(proc.lseek(m, 2n, SEEK_SET)).toBe(2n);
    expect(proc.lseek(ro, 0n, SEEK_CUR)).toBe(0n);
    // O_TRUNC truncates through handle_truncate(), so F_SEAL_SHRINK refuses the open
    expect(proc.open(`/proc/self/fd/${m}`, O_RDWR | O_TRUNC)).toBe(-EPERM);
    expect(proc.fstat(m)).toMatchObject({ size: BigInt(8 * PG) });
    expect(proc.open(`/proc/self/fd/${m}`, O_RDWR | O_CREAT | O_EXCL)).toBe(-EEXIST);
    expect(proc.open(`/proc/self/fd/${m}`, O_RDONLY | O_DIRECTORY)).toBe(-ENOTDIR);
    expect(proc.open('/proc/self/fd/99', O_RDWR)).toBe(-ENOENT);
    // the reopened files hold the inode after the first closes
    const file = proc.fileOf(m)!.memfile!;
    expect(proc.close(m)).toBe(0);
    expect(file.live).toBe(true);
    const t = proc.open(`/proc/thread-self/fd/${rw}`, O_RDWR);
    expect(proc.close(rw)).toBe(0);
    expect(proc.close(ro)).toBe(0);
    expect(file.live).toBe(true);
    expect(proc.close(t)).toBe(0);
    expect(file.live).toBe(false);
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });

  it('O_TRUNC of an unsealed memfd truncates it to 0', () => {
    const { proc } = session();
    const m = proc.memfdCreate('m', 0);
    expect(proc.ftruncate(m, 4 * PG)).toBe(0);
    const t = proc.open(`/proc/self/fd/${m}`, O_RDONLY | O_TRUNC);
    expect(t).toBeGreaterThan(0);
    expect(proc.fstat(m)).toMatchObject({ size: 0n });
    proc.exit();
  });
});
