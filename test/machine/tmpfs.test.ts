// SPDX-License-Identifier: GPL-2.0-only
// Regular files of the tmpfs on /tmp (Machine.tmpfs, Process.openTmpfs()): shmem inodes held by their
// name, the page cache a memfd has. What 6.12.95 and 7.2.13 answer test/bridge/progs/tmpfs.c.
import { describe, expect, it } from 'vitest';
import { EINVAL, EPERM } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { O_DIRECTORY, O_PATH, O_RDONLY, O_RDWR, O_TRUNC } from '../../src/machine/device.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { F_ADD_SEALS, F_GET_SEALS, F_SEAL_GROW, F_SEAL_SEAL, PAGE_SIZE, SEEK_CUR, SEEK_SET } from '../../src/mm/constants.js';
import type { MemFile } from '../../src/mm/memfile.js';
import { mapFile } from '../iommufd/map-file-sim.js';

const PG = PAGE_SIZE;
const ATTRS = { size: 0n, perm: 0o600, uid: 0 };

function session() {
  const machine = new Machine({ memory: '64M', panicOnWarn: true });
  registerIommufdNodes(machine);
  return { machine, proc: machine.spawn({ memlock: 'unlimited' }) };
}

describe('a tmpfs file', () => {
  it('is one inode per key: files of their own (access mode, position) on the same size and pages', () => {
    const { proc } = session();
    const a = proc.openTmpfs('8:1', '/tmp/g', O_RDWR, ATTRS);
    const b = proc.openTmpfs('8:1', '/tmp/g', O_RDONLY, { size: 99n, perm: 0o777, uid: 5 });
    const other = proc.openTmpfs('8:2', '/tmp/h', O_RDWR, ATTRS);
    expect(proc.fileOf(b)!.memfile).toBe(proc.fileOf(a)!.memfile);
    expect(proc.fileOf(other)!.memfile).not.toBe(proc.fileOf(a)!.memfile);
    // the attributes count only when the inode is new: the model's own stand for a known one
    expect(proc.fstat(b)).toMatchObject({ size: 0n, mode: 0o100600 });
    expect(proc.ftruncate(a, 4 * PG)).toBe(0);
    expect(proc.fstat(b)).toMatchObject({ size: BigInt(4 * PG) });
    expect(proc.ftruncate(b, PG)).toBe(-EINVAL);
    expect(proc.lseek(a, 3n, SEEK_SET)).toBe(3n);
    expect(proc.lseek(b, 0n, SEEK_CUR)).toBe(0n);
    expect(proc.fdPath(a)).toBe('/tmp/g');
    // shmem_get_inode(): F_SEAL_SEAL, so no seal is ever added
    expect(proc.memfdFcntl(a, F_GET_SEALS, 0)).toBe(F_SEAL_SEAL);
    expect(proc.memfdFcntl(a, F_ADD_SEALS, F_SEAL_GROW)).toBe(-EPERM);
    // the caller refuses what the walk decides; the model refuses a bad size
    expect(proc.openTmpfs('8:1', '/tmp/g', O_PATH, ATTRS)).toBe(-EINVAL);
    expect(proc.openTmpfs('8:1', '/tmp/g', O_RDONLY | O_DIRECTORY, ATTRS)).toBe(-EINVAL);
    expect(proc.openTmpfs('8:9', '/tmp/x', O_RDWR, { ...ATTRS, size: -1n })).toBe(-EINVAL);
    proc.exit();
  });

  it('keeps its pages while linked with nothing open, gives them back at unlink once the last file closes', () => {
    const { machine, proc } = session();
    const f = proc.openTmpfs('8:1', '/tmp/g', O_RDWR, ATTRS);
    const file = proc.fileOf(f)!.memfile!;
    expect(proc.ftruncate(f, 8 * PG)).toBe(0);
    expect(proc.fallocate(f, 0, 0, 8 * PG)).toBe(0);
    expect(machine.phys.framesInUse()).toBeGreaterThanOrEqual(8);
    expect(proc.close(f)).toBe(0);
    expect(file.live).toBe(true);
    expect(file.allocatedBytes()).toBe(BigInt(8 * PG));
    // the audits see a linked file nothing reaches
    const seen = new Set<typeof file>();
    machine.reachablePageCaches(seen);
    expect(seen.has(file)).toBe(true);
    // O_TRUNC of a known inode truncates it (handle_truncate())
    const t = proc.openTmpfs('8:1', '/tmp/g', O_RDWR | O_TRUNC, ATTRS);
    expect(proc.fileOf(t)!.memfile).toBe(file);
    expect(proc.fstat(t)).toMatchObject({ size: 0n });
    expect(file.allocatedBytes()).toBe(0n);
    expect(proc.ftruncate(t, 2 * PG)).toBe(0);
    expect(machine.tmpfs.unlink('8:1')).toBe(true);
    expect(machine.tmpfs.unlink('8:1')).toBe(false);
    expect(proc.fdPath(t)).toBe('/tmp/g (deleted)');
    expect(file.live).toBe(true);
    // a new file by the same numbers is a new inode
    const n = proc.openTmpfs('8:1', '/tmp/g', O_RDWR, ATTRS);
    expect(proc.fileOf(n)!.memfile).not.toBe(file);
    expect(proc.close(t)).toBe(0);
    expect(file.live).toBe(false);
    expect(proc.close(n)).toBe(0);
    expect(machine.tmpfs.unlink('8:1')).toBe(true);
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });

  it('the page caches the audits check follow what is open, mapped and linked', () => {
    const { machine, proc } = session();
    const seen = new Set<MemFile>();
    machine.reachablePageCaches(seen);
    expect(seen.size).toBe(0);
    const m = proc.memfdCreate('m', 0);
    const mf = proc.fileOf(m)!.memfile!;
    machine.reachablePageCaches(seen);
    expect([...seen]).toEqual([mf]);
    machine.reachablePageCaches(seen);
    expect([...seen]).toEqual([mf]);
    // a file the set holds that nothing reaches goes, even when everything found is there
    const stale = proc.memfdCreate('stale', 0);
    const sf = proc.fileOf(stale)!.memfile!;
    seen.add(sf);
    expect(proc.close(stale)).toBe(0);
    machine.reachablePageCaches(seen);
    expect([...seen]).toEqual([mf]);
    const t = proc.openTmpfs('8:1', '/tmp/g', O_RDWR, ATTRS);
    const tf = proc.fileOf(t)!.memfile!;
    expect(proc.close(m)).toBe(0);
    expect(proc.close(t)).toBe(0);
    // the memfd went with its descriptor; the tmpfs file stays, held by its name
    machine.reachablePageCaches(seen);
    expect([...seen]).toEqual([tf]);
    expect(machine.tmpfs.unlink('8:1')).toBe(true);
    machine.reachablePageCaches(seen);
    expect(seen.size).toBe(0);
    proc.exit();
  });

  it('an unnamed one (O_TMPFILE) goes with its last file', () => {
    const { machine, proc } = session();
    const f = proc.openTmpfs(undefined, '/tmp/#12', O_RDWR, ATTRS);
    const file = proc.fileOf(f)!.memfile!;
    expect(proc.fdPath(f)).toBe('/tmp/#12 (deleted)');
    expect(proc.fallocate(f, 0, 0, 2 * PG)).toBe(0);
    expect(proc.close(f)).toBe(0);
    expect(file.live).toBe(false);
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });

  it('is pinned by IOAS_MAP_FILE (a shmem_file()), and the pins outlive close and unlink', () => {
    const { machine, proc } = session();
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const f = proc.openTmpfs('8:1', '/tmp/g', O_RDWR, ATTRS);
    expect(proc.ftruncate(f, 16 * PG)).toBe(0);
    expect(mapFile(c, { ioas, fd: f, start: 0, length: 16 * PG, iova: 1n << 30n, flags: 7 }).rc).toBe(0);
    expect(proc.mm.pinnedVm).toBe(16);
    const file = proc.fileOf(f)!.memfile!;
    expect(proc.close(f)).toBe(0);
    expect(machine.tmpfs.unlink('8:1')).toBe(true);
    // the IOAS's pages hold the file (iopt_pages takes a reference to it)
    expect(file.live).toBe(true);
    expect(machine.audit()).toBe(0);
    c.ioasUnmap({ ioas, iova: 1n << 30n, length: 16n * BigInt(PG) });
    expect(proc.mm.pinnedVm).toBe(0);
    c.close();
    expect(file.live).toBe(false);
    proc.exit();
    expect(machine.phys.framesInUse()).toBe(0);
  });
});
