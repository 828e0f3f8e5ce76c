// SPDX-License-Identifier: GPL-2.0-only
// read(2), write(2) and poll(2) on the machine's files: the VFS checks before a file's own method.
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENOENT, ENOMEM, ENOTTY, ENXIO, EOPNOTSUPP, EPERM, ESPIPE, EXDEV } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { DEFAULT_POLLMASK, type FileStat, Machine, O_APPEND, O_CLOEXEC, O_CREAT, O_NOCTTY, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, POLLERR, POLLIN, POLLNVAL, POLLOUT, S_IFCHR, S_IFREG, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET } from '../../src/machine/index.js';
import { O_DIRECT, O_NOATIME, O_PATH } from '../../src/machine/device.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MFD_HUGETLB, MFD_NOEXEC_SEAL, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

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
    // file_can_poll(): what epoll_ctl asks first (EPERM for /dev/iommu)
    expect([proc.pollable(faultFd), proc.pollable(c.fd), proc.pollable(99)]).toEqual([1, 0, -EBADF]);
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

describe('lseek, pread, pwrite and fstat (ksys_lseek, ksys_pread64, vfs_fstat)', () => {
  // Each answer below is what 6.12.95 and 7.2.13 gave (a probe run in both oracle VMs).
  it('/dev/iommu and /dev/vfio/vfio: no llseek (ESPIPE), positional but without read/write (EINVAL), misc character devices', () => {
    const { proc, buf } = session();
    const c = IommufdClient.open(proc);
    expect(proc.lseek(c.fd, 0n, SEEK_SET)).toBe(BigInt(-ESPIPE));
    expect(proc.lseek(c.fd, 0n, 5)).toBe(BigInt(-EINVAL));
    expect(proc.lseek(99, 0n, SEEK_SET)).toBe(BigInt(-EBADF));
    expect(proc.pread(c.fd, buf, 8, 0n)).toBe(-EINVAL);
    expect(proc.pread(c.fd, buf, 0, 0n)).toBe(-EINVAL);
    expect(proc.pwrite(c.fd, buf, 8, 0n)).toBe(-EINVAL);
    // a negative position before the descriptor: EINVAL even for a closed one
    expect(proc.pread(99, buf, 8, -1n)).toBe(-EINVAL);
    expect(proc.pread(99, buf, 8, 0n)).toBe(-EBADF);
    // each node its own inode number (Machine.nodeIno()), the descriptor's the one its path has
    const ino = (p: string) => proc.machine.nodeIno(p);
    expect(proc.fstat(c.fd)).toEqual({ mode: S_IFCHR | 0o660, rdevMajor: 10, rdevMinor: 258, size: 0n, blksize: 4096, ino: ino('/dev/iommu') });
    expect(proc.stat('/dev/iommu')).toEqual(proc.fstat(c.fd));
    expect(proc.stat('/dev/vfio/vfio')).toEqual({ mode: S_IFCHR | 0o666, rdevMajor: 10, rdevMinor: 196, size: 0n, blksize: 4096, ino: ino('/dev/vfio/vfio') });
    expect(ino('/dev/iommu')).not.toBe(ino('/dev/vfio/vfio'));
    expect(ino('/dev/nothing')).toBeUndefined();
    expect(proc.stat('/dev/nothing')).toBe(-ENOENT);
    expect(proc.fstat(99)).toBe(-EBADF);
    // read-only and write-only opens: vfs_read/vfs_write's FMODE checks come first
    const ro = proc.open('/dev/iommu', O_RDONLY);
    const wo = proc.open('/dev/iommu', O_WRONLY);
    expect(proc.pwrite(ro, buf, 8, 0n)).toBe(-EBADF);
    expect(proc.pread(wo, buf, 8, 0n)).toBe(-EBADF);
    // O_PATH: fstat takes it (fdget_raw), lseek does not (fdget_pos)
    const path = proc.open('/dev/iommu', O_PATH);
    expect(proc.fstat(path)).toEqual(proc.fstat(c.fd));
    expect(proc.lseek(path, 0n, SEEK_SET)).toBe(BigInt(-EBADF));
    proc.exit();
  });

  it('anon-inode files (access, fault queue): no FMODE_LSEEK/PREAD/PWRITE (ESPIPE), mode 0600 without a file type', () => {
    const { proc, buf, machine } = session();
    const c = IommufdClient.open(proc);
    const ioas = c.ioasAlloc();
    const afd = c.createAccess(ioas);
    const { faultFd } = c.faultQueueAlloc();
    for (const fd of [afd, faultFd]) {
      expect(proc.lseek(fd, 0n, SEEK_END)).toBe(BigInt(-ESPIPE));
      expect(proc.pread(fd, buf, 8, 0n)).toBe(-ESPIPE);
      expect(proc.pwrite(fd, buf, 8, 0n)).toBe(-ESPIPE);
      expect(proc.pread(fd, buf, 8, -1n)).toBe(-EINVAL);
      expect(proc.fstat(fd)).toEqual({ mode: 0o600, rdevMajor: 0, rdevMinor: 0, size: 0n, blksize: 4096 });
    }
    proc.exit();
    expect(machine.warnings).toEqual([]);
  });

  // The memfd answers are those of 7.2.13 in its oracle VM and of this machine's own kernel (the same C program).
  it('a memfd: a regular file (0777, 0666 with MFD_NOEXEC_SEAL) whose llseek is shmem_file_llseek; dup shares the position', () => {
    const { proc } = session();
    const fd = proc.memfdCreate('m');
    expect(proc.fstat(fd)).toEqual({ mode: S_IFREG | 0o777, rdevMajor: 0, rdevMinor: 0, size: 0n, blksize: 4096 });
    expect(proc.ftruncate(fd, 4n * 4096n)).toBe(0);
    expect((proc.fstat(fd) as FileStat).size).toBe(4n * 4096n);
    expect(proc.lseek(fd, 100n, SEEK_SET)).toBe(100n);
    expect(proc.lseek(fd, 50n, SEEK_CUR)).toBe(150n);
    const d = proc.dup(fd);
    expect(proc.lseek(d, 0n, SEEK_CUR)).toBe(150n);
    expect(proc.lseek(fd, -10n, SEEK_END)).toBe(4n * 4096n - 10n);
    expect(proc.lseek(fd, -1n, SEEK_SET)).toBe(BigInt(-EINVAL));
    expect(proc.lseek(fd, 0n, SEEK_CUR)).toBe(4n * 4096n - 10n);
    // no page in the cache yet: all hole; SEEK_DATA finds none, SEEK_HOLE stays where it is
    expect(proc.lseek(fd, 0n, SEEK_DATA)).toBe(BigInt(-ENXIO));
    expect(proc.lseek(fd, 5000n, SEEK_HOLE)).toBe(5000n);
    expect(proc.lseek(fd, 4n * 4096n, SEEK_HOLE)).toBe(BigInt(-ENXIO));
    // fault page 2 in through a shared mapping: data at [8192, 12288)
    const va = proc.mmap(0n, 4n * 4096n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    expect(proc.writeMemory(va + 2n * 4096n + 7n, new Uint8Array([1]))).toBe(0);
    expect(proc.lseek(fd, 0n, SEEK_DATA)).toBe(8192n);
    expect(proc.lseek(fd, 9000n, SEEK_DATA)).toBe(9000n);
    expect(proc.lseek(fd, 8192n, SEEK_HOLE)).toBe(12288n);
    expect(proc.lseek(fd, 13000n, SEEK_DATA)).toBe(BigInt(-ENXIO));
    // a negative position is EINVAL before anything else (ksys_pread64(), ksys_pwrite64())
    expect(proc.pread(fd, va, 8, -1n)).toBe(-EINVAL);
    expect(proc.pwrite(fd, va, 8, -4096n)).toBe(-EINVAL);
    const sealed = proc.memfdCreate('s', MFD_NOEXEC_SEAL);
    expect((proc.fstat(sealed) as FileStat).mode).toBe(S_IFREG | 0o666);
    // hugetlbfs: st_blksize is the huge page size, and its llseek (default_llseek) takes the whole size as data
    const huge = proc.memfdCreate('h', MFD_HUGETLB);
    expect(proc.fstat(huge)).toEqual({ mode: S_IFREG | 0o777, rdevMajor: 0, rdevMinor: 0, size: 0n, blksize: 2 << 20 });
    expect(proc.ftruncate(huge, 4n << 20n)).toBe(0);
    expect(proc.lseek(huge, 0n, SEEK_DATA)).toBe(0n);
    expect(proc.lseek(huge, 100n, SEEK_HOLE)).toBe(4n << 20n);
    // default_llseek() refuses only an offset at or past i_size: a negative one finds the hole at the end
    // (SEEK_HOLE) or stays negative (SEEK_DATA: EINVAL), where shmem_file_llseek() says ENXIO (7.2.13,
    // generated program of seed 77009: SEEK_HOLE at -1869 of an empty hugetlb memfd returned 0)
    expect(proc.lseek(huge, -1869n, SEEK_HOLE)).toBe(4n << 20n);
    expect(proc.lseek(huge, -1n, SEEK_DATA)).toBe(BigInt(-EINVAL));
    expect(proc.lseek(huge, 4n << 20n, SEEK_HOLE)).toBe(BigInt(-ENXIO));
    expect(proc.lseek(fd, -1n, SEEK_HOLE)).toBe(BigInt(-ENXIO));
    proc.exit();
  });
});

describe('memfd contents through read(2) and write(2) (shmem_file_read_iter, generic_perform_write)', () => {
  // The answers of a C probe on 6.12.95 and 7.2.13 (the same on both); test/regressions/memfd-read-write.yaml
  // holds the rest, run on both kernels by the oracle.
  it('O_APPEND writes at i_size, pwrite too, and only write(2) moves f_pos; FIONREAD is i_size - f_pos as an int', () => {
    const { proc, buf } = session();
    expect(proc.writeMemory(buf, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toBe(0);
    const fd = proc.memfdCreate('a');
    expect(proc.write(fd, buf, 3)).toBe(3);
    expect(proc.setfl(fd, O_APPEND)).toBe(0);
    expect(proc.pwrite(fd, buf, 4, 0n)).toBe(4);
    expect([(proc.fstat(fd) as FileStat).size, proc.lseek(fd, 0n, SEEK_CUR)]).toEqual([7n, 3n]);
    expect(proc.write(fd, buf, 2)).toBe(2);
    expect([(proc.fstat(fd) as FileStat).size, proc.lseek(fd, 0n, SEEK_CUR)]).toEqual([9n, 9n]);
    const out = new Uint8Array(9);
    const dst = buf + 100n;
    expect(proc.pread(fd, dst, 9, 0n)).toBe(9);
    expect(proc.readMemory(dst, out)).toBe(0);
    expect([...out]).toEqual([1, 2, 3, 1, 2, 3, 4, 1, 2]);
    expect(proc.lseek(fd, 100n, SEEK_SET)).toBe(100n);
    const n = new Uint8Array(4);
    expect(proc.ioctl(fd, 0x541b, dst)).toBe(0);
    expect(proc.readMemory(dst, n)).toBe(0);
    expect(new DataView(n.buffer).getInt32(0, true)).toBe(-91);
    expect(proc.read(fd, dst, 10)).toBe(0);
    expect(proc.write(fd, dst, 0)).toBe(0);
    expect((proc.fstat(fd) as FileStat).size).toBe(9n);
    proc.exit();
  });

  it('6.12: a write whose buffer cannot be read changes nothing (faulted in before write_begin); hugetlbfs reads but cannot be written', () => {
    const { proc, buf } = session();
    const fd = proc.memfdCreate('m');
    expect(proc.mprotect(buf, 4096n, 0)).toBe(0);
    expect(proc.write(fd, buf, 8)).toBe(-EFAULT);
    expect(proc.write(fd, buf - 4096n * 1000n, 8)).toBe(-EFAULT);
    expect(proc.lseek(fd, 0n, SEEK_CUR)).toBe(0n);
    expect((proc.fstat(fd) as FileStat).size).toBe(0n);
    expect(proc.ioctl(fd, 0x5460, buf + 4096n)).toBe(-EFAULT);
    const huge = proc.memfdCreate('h', MFD_HUGETLB);
    expect(proc.write(huge, buf, 8)).toBe(-EINVAL);
    expect(proc.read(huge, buf, 8)).toBe(0);
    proc.exit();
  });
});

describe('ioctl FIBMAP (file_ioctl(), regular files only)', () => {
  // test/oracle/handwritten/fibmap-ioctl*.yaml hold the same on 6.12.95 and 7.2.13
  it('EPERM without CAP_SYS_RAWIO; with it the block is read (EFAULT), negative EINVAL, else no bmap: EINVAL and 0 written back', () => {
    const { machine, proc, buf } = session();
    const m = proc.memfdCreate('m');
    const iommu = proc.open('/dev/iommu', O_RDWR);
    expect(proc.ioctl(m, 1, buf)).toBe(-EPERM);
    expect(proc.ioctl(iommu, 1, buf)).toBe(-ENOTTY);
    const raw = machine.spawn({ caps: ['CAP_SYS_RAWIO'] });
    const va = raw.mmap(0n, 4096n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const rm = raw.memfdCreate('r');
    expect(raw.ioctl(rm, 1, 0n)).toBe(-EFAULT);
    expect(raw.writeMemory(va, new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0);
    expect(raw.ioctl(rm, 1, va)).toBe(-EINVAL);
    const got = new Uint8Array(4);
    expect(raw.readMemory(va, got)).toBe(0);
    expect([...got]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(raw.writeMemory(va, new Uint8Array([5, 0, 0, 0]))).toBe(0);
    expect(raw.ioctl(rm, 1, va)).toBe(-EINVAL);
    expect(raw.readMemory(va, got)).toBe(0);
    expect([...got]).toEqual([0, 0, 0, 0]);
    proc.exit();
    raw.exit();
  });
});

describe('ioctl FIGETBSZ', () => {
  // test/oracle/handwritten/figetbsz-filesystems.yaml holds the same on 6.12.95 and 7.2.13
  it("the superblock's block size: 4096 on shmem and devtmpfs, the huge page size on hugetlbfs", () => {
    const { proc, buf } = session();
    const size = (fd: number): number => {
      expect(proc.ioctl(fd, 2, buf)).toBe(0);
      const b = new Uint8Array(4);
      expect(proc.readMemory(buf, b)).toBe(0);
      return new DataView(b.buffer).getInt32(0, true);
    };
    expect([size(proc.memfdCreate('m')), size(proc.memfdCreate('h', MFD_HUGETLB)), size(proc.open('/dev/iommu', O_RDWR))]).toEqual([4096, 2 << 20, 4096]);
    proc.exit();
  });
});

describe('fcntl F_GETFL / F_SETFL (the file status flags, f_flags)', () => {
  // 7.2.13 in its oracle VM: 0x8000, 0x8801, 0x8003, 0x109402, 0x8002, 0x200000, 0x8c00 after F_SETFL, 0x2 for anon-inode files
  it('open(2) keeps the access mode and status flags with O_LARGEFILE; creation flags and O_CLOEXEC go; anon-inode files are O_RDWR', () => {
    const { proc } = session();
    const flags = (f: number) => proc.getfl(proc.open('/dev/iommu', f));
    expect(flags(O_RDONLY)).toBe(0x8000);
    expect(flags(O_WRONLY | O_NONBLOCK)).toBe(0x8801);
    expect(flags(3)).toBe(0x8003);
    expect(flags(O_RDWR | O_APPEND | 0o4010000 | O_CLOEXEC)).toBe(0x109402); // O_SYNC is __O_SYNC | O_DSYNC
    expect(flags(O_RDWR | O_NOCTTY | O_TRUNC | O_CREAT)).toBe(0x8002);
    expect(flags(O_PATH)).toBe(0x200000);
    const c = IommufdClient.open(proc);
    expect(proc.getfl(c.createAccess(c.ioasAlloc()))).toBe(O_RDWR);
    expect(proc.getfl(c.faultQueueAlloc().faultFd)).toBe(O_RDWR);
    expect(proc.getfl(99)).toBe(-EBADF);
    proc.exit();
  });

  it('fchmod/fchown (notify_change): root or CAP_FOWNER may change a mode, CAP_CHOWN an owner; 7.x anon inodes refuse (EOPNOTSUPP)', () => {
    // 7.2.13 and 6.12.95 as root: 0 for /dev/iommu; a fault fd EOPNOTSUPP on 7.2.13, 0 on 6.12.95
    for (const profile of ['latest', 'v6.12'] as const) {
      const machine = new Machine({ memory: '64M', panicOnWarn: true, profile });
      registerIommufdNodes(machine);
      const root = machine.spawn({ uid: 0, caps: [] });
      const user = machine.spawn({ uid: 1000, caps: [] });
      const owner = machine.spawn({ uid: 1000, caps: ['CAP_FOWNER', 'CAP_CHOWN'] });
      for (const p of [root, user, owner]) {
        const c = IommufdClient.open(p);
        const fd = c.fd;
        const { faultFd } = c.faultQueueAlloc();
        const may = p !== user;
        expect([p.fsetattr(fd, 0o600), p.fsetattr(fd, -1, -1), p.fsetattr(fd, 0, 0), p.fsetattr(fd, 5, -1)]).toEqual([
          may ? 0 : -EPERM,
          0,
          may ? 0 : -EPERM,
          p === owner ? 0 : -EPERM,
        ]);
        expect(p.fsetattr(faultFd, 0o600)).toBe(profile === 'latest' ? -EOPNOTSUPP : may ? 0 : -EPERM);
        expect(p.fsetattr(99, 0o600)).toBe(-EBADF);
      }
    }
  });

  it('FIONBIO sets and clears O_NONBLOCK of the open file description (ioctl_fionbio); an unreadable int is EFAULT', () => {
    // 6.12.95 and 7.2.13: F_GETFL 0x8802 after FIONBIO(1) on /dev/iommu, 0x802 on a fault fd
    const { proc, buf } = session();
    const c = IommufdClient.open(proc);
    const { faultFd } = c.faultQueueAlloc();
    const dup = proc.dup(faultFd);
    const nbio = (fd: number, on: number): number => {
      proc.mm.writeUser(buf, new Uint8Array([on, 0, 0, 0]));
      return proc.ioctl(fd, 0x5421, buf);
    };
    expect(nbio(c.fd, 1)).toBe(0);
    expect(proc.getfl(c.fd)).toBe(0x8802);
    expect(nbio(faultFd, 1)).toBe(0);
    expect([proc.getfl(faultFd), proc.getfl(dup)]).toEqual([0x802, 0x802]);
    expect(nbio(c.fd, 0)).toBe(0);
    expect(proc.getfl(c.fd)).toBe(0x8002);
    expect(proc.ioctl(c.fd, 0x5421, 8n)).toBe(-EFAULT);
    proc.exit();
  });

  it('F_SETFL changes only O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME; O_DIRECT needs a file that can do it; O_NOATIME the owner or CAP_FOWNER', () => {
    const { machine } = session();
    const root = machine.spawn({ memlock: 'unlimited', uid: 0 });
    const fd = root.open('/dev/iommu', O_RDONLY);
    expect(root.setfl(fd, O_NONBLOCK | O_APPEND | O_RDWR | O_TRUNC)).toBe(0);
    expect(root.getfl(fd)).toBe(0x8c00);
    expect(root.setfl(fd, 0)).toBe(0);
    expect(root.getfl(fd)).toBe(0x8000);
    expect(root.setfl(fd, O_DIRECT)).toBe(-EINVAL);
    expect(root.setfl(fd, O_NOATIME)).toBe(0);
    expect(root.getfl(fd)).toBe(0x8000 | O_NOATIME);
    expect(root.setfl(root.open('/dev/iommu', O_PATH), O_NONBLOCK)).toBe(-EBADF);
    const user = machine.spawn({ memlock: 'unlimited', uid: 1000 });
    const ufd = user.open('/dev/iommu', O_RDWR);
    expect(user.setfl(ufd, O_NOATIME)).toBe(-EPERM);
    expect(user.getfl(ufd)).toBe(0x8002);
    const owner = machine.spawn({ memlock: 'unlimited', uid: 1000, caps: ['CAP_FOWNER'] });
    expect(owner.setfl(owner.open('/dev/iommu', O_RDWR), O_NOATIME)).toBe(0);
    owner.exit();
    root.exit();
    user.exit();
  });
});

describe("ioctl: do_vfs_ioctl()'s superblock and remap commands on device nodes and anonymous inodes", () => {
  // test/bridge/progs/vfsioctl.c holds the same on 6.12.95 and 7.2.13
  it('FIFREEZE EOPNOTSUPP and FITHAW EINVAL (EPERM first without CAP_SYS_ADMIN), FIEMAP EOPNOTSUPP, FICLONE EXDEV across filesystems and EINVAL within, FIDEDUPERANGE ENOMEM past a page, GETFSUUID only on devtmpfs', () => {
    const { machine, proc, buf } = session();
    const iommu = proc.open('/dev/iommu', O_RDWR);
    const c = new IommufdClient(proc, iommu);
    const { faultFd } = c.faultQueueAlloc();
    const vfio = proc.open('/dev/vfio/vfio', O_RDWR);
    const m = proc.memfdCreate('m');
    const admin = machine.spawn({ caps: ['CAP_SYS_ADMIN'] });
    const afd = admin.open('/dev/iommu', O_RDWR);
    for (const fd of [iommu, faultFd]) {
      expect(proc.ioctl(fd, 0xc0045877)).toBe(-EPERM);
      expect(proc.ioctl(fd, 0xc0045878)).toBe(-EPERM);
      expect(proc.ioctl(fd, 0xc020660b, 8n)).toBe(-EOPNOTSUPP);
      expect(proc.ioctl(fd, 0x40049409, BigInt(fd))).toBe(-EINVAL);
      expect(proc.ioctl(fd, 0x40049409, BigInt(m))).toBe(-EXDEV);
      expect(proc.ioctl(fd, 0x40049409, 999n)).toBe(-EBADF);
      expect(proc.ioctl(fd, 0x4020940d, 8n)).toBe(-EFAULT);
    }
    expect(admin.ioctl(afd, 0xc0045877)).toBe(-EOPNOTSUPP);
    expect(admin.ioctl(afd, 0xc0045878)).toBe(-EINVAL);
    // devtmpfs holds both device nodes; the fault queue is on anon_inodefs
    expect(proc.ioctl(iommu, 0x40049409, BigInt(vfio))).toBe(-EINVAL);
    expect(proc.ioctl(iommu, 0x40049409, BigInt(faultFd))).toBe(-EXDEV);
    // FIDEDUPERANGE: dest_count first (24 + 32 bytes each must fit a page), the reserved fields, then no regular file
    const dv = new DataView(new ArrayBuffer(24));
    dv.setUint16(16, 1000, true);
    expect(proc.writeMemory(buf, new Uint8Array(dv.buffer))).toBe(0);
    expect(proc.ioctl(iommu, 0xc0189436, buf)).toBe(-ENOMEM);
    dv.setUint16(16, 0, true);
    expect(proc.writeMemory(buf, new Uint8Array(dv.buffer))).toBe(0);
    expect(proc.ioctl(iommu, 0xc0189436, buf)).toBe(-EINVAL);
    // FS_IOC_GETFSUUID: devtmpfs's 16 bytes, none for anon_inodefs
    expect(proc.ioctl(iommu, 0x80111500, buf)).toBe(0);
    const u = new Uint8Array(17);
    expect(proc.readMemory(buf, u)).toBe(0);
    expect(u[0]).toBe(16);
    expect([...u.subarray(1)]).toEqual([...machine.devtmpfsUuid]);
    expect(proc.ioctl(faultFd, 0x80111500, buf)).toBe(-ENOTTY);
    expect(proc.ioctl(iommu, 0x80811501, buf)).toBe(-ENOTTY);
    // the attribute ioctls reach the driver (no fileattr_get): ENOTTY
    expect(proc.ioctl(iommu, 0x80086601, buf)).toBe(-ENOTTY);
    proc.exit();
    admin.exit();
  });
});

describe('the splice family: the f_mode bits of a model file (Process.spliceModes)', () => {
  // test/bridge/progs/splice.c: what 6.12.95 and 7.2.13 answer from them
  it('read, write and FMODE_PREAD for /dev/iommu; no FMODE_PREAD for a fault queue; read only for /dev/vfio and an O_RDONLY open; 8 for O_PATH; EBADF for none', () => {
    const { proc } = session();
    const iommu = proc.open('/dev/iommu', O_RDWR);
    const { faultFd } = new IommufdClient(proc, iommu).faultQueueAlloc();
    expect(proc.spliceModes(iommu)).toBe(7);
    expect(proc.spliceModes(faultFd)).toBe(3);
    expect(proc.spliceModes(proc.open('/dev/iommu', O_RDONLY))).toBe(5);
    expect(proc.spliceModes(proc.open('/dev/iommu', O_WRONLY))).toBe(6);
    expect(proc.spliceModes(proc.open('/dev/vfio', O_RDONLY))).toBe(5);
    expect(proc.spliceModes(proc.open('/dev/iommu', O_PATH))).toBe(8);
    expect(proc.spliceModes(999)).toBe(-EBADF);
    proc.exit();
  });
});
