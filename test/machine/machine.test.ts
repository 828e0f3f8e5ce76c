// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENODEV, ENOENT, ENOTTY, EPERM, ESRCH } from '../../src/base/errno.js';
import { faultPoint } from '../../src/base/fault.js';
import { KernelWarning } from '../../src/base/warn.js';
import {
  type DeviceNode,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  Machine,
  O_RDWR,
  type OpenFile,
  PROT_READ,
  PROT_WRITE,
  type Process,
  RLIM_INFINITY,
} from '../../src/machine/index.js';
import { MLOCK_LIMIT } from '../../src/mm/constants.js';

const FP = faultPoint('test.machine', 'iommufd');

/** A device that records its calls. */
function recorder(m: Machine) {
  const log: string[] = [];
  let released = 0;
  const node: DeviceNode = {
    open(proc, flags) {
      log.push(`open ${proc.pid} ${flags}`);
      const file: OpenFile = {
        ioctl(p: Process, cmd: number, arg: bigint) {
          log.push(`ioctl ${p.pid} ${cmd} ${arg}`);
          expect(m.faults.current).toBe(p.task.failNth);
          expect(m.warn.syscall).toBe('ioctl');
          expect(m.currentProcess).toBe(p);
          if (cmd === 1) return m.faults.shouldFail(FP) ? -EFAULT : 0;
          if (cmd === 4) m.warn.warn('test.warn', 'boom');
          if (cmd === 3) return p.installFd({ release: () => log.push('child file released') });
          return 7;
        },
        release(p: Process) {
          released++;
          log.push(`release ${p.pid}`);
        },
      };
      return file;
    },
  };
  return { node, log, released: () => released };
}

describe('Machine', () => {
  it('construction: sizes, profiles, warnings', () => {
    expect(new Machine().phys.bytes).toBe(16 * 2 ** 30);
    expect(new Machine({ memory: '1M' }).phys.totalFrames).toBe(256);
    expect(new Machine({ memory: 8n << 20n }).phys.totalFrames).toBe(2048);
    expect(new Machine({ memory: 4 << 20 }).phys.totalFrames).toBe(1024);
    expect(() => new Machine({ profile: 'v4.0' })).toThrow(RangeError);
    expect(() => new Machine({ memory: '3 bananas' })).toThrow(RangeError);
    const m = new Machine({ profile: 'v6.2' });
    expect(m.profile.name).toBe('v6.2');
    expect(m.profile.carryLeavesEndZero).toBe(true);
    expect(m.warnings).toBe(m.warn.warnings);
  });

  it('spawn defaults and options', () => {
    const m = new Machine({ memory: '16M' });
    const p = m.spawn();
    expect(p.pid).toBe(1);
    expect(p.task.uid).toBe(1000);
    expect(p.task.caps.size).toBe(0);
    expect(p.task.rlimitMemlock).toBe(MLOCK_LIMIT);
    const q = m.spawn({ memlock: 'unlimited', caps: ['CAP_IPC_LOCK'], uid: 0 });
    expect(q.pid).toBe(2);
    expect(q.task.rlimitMemlock).toBe(RLIM_INFINITY);
    expect(q.task.capable('CAP_IPC_LOCK')).toBe(true);
    expect(m.spawn({ memlock: '64K' }).task.rlimitMemlock).toBe(65536n);
    expect(m.spawn({ memlock: -1n }).task.rlimitMemlock).toBe(RLIM_INFINITY);
    expect(() => m.spawn({ caps: ['CAP_IPC_LUCK'] })).toThrow(RangeError);
    expect(m.processes.size).toBe(4);
  });
});

describe('file descriptors', () => {
  it('open/close/ioctl errors and the lowest free fd from 3', () => {
    const m = new Machine({ memory: '16M' });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const p = m.spawn();
    expect(p.open('/dev/nope', O_RDWR)).toBe(-ENOENT);
    expect(p.open('/dev/test', O_RDWR)).toBe(3);
    expect(p.open('/dev/test', O_RDWR)).toBe(4);
    expect(p.close(3)).toBe(0);
    expect(p.close(3)).toBe(-EBADF);
    expect(p.open('/dev/test', O_RDWR)).toBe(3);
    expect(p.ioctl(99, 0, 0n)).toBe(-EBADF);
    expect(p.ioctl(3, 5, 0x1234n)).toBe(7);
    expect(p.ioctl(3, 5, 1.5)).toBe(-EINVAL);
    expect(dev.log).toContain('ioctl 1 5 4660');
    m.registerFile('/file', new Uint8Array(10));
    const f = p.open('/file', 0);
    expect(p.ioctl(f, 5, 0n)).toBe(-ENOTTY);
    // cmd 1 is FIBMAP, which file_ioctl() answers for a regular file: CAP_SYS_RAWIO first
    expect(p.ioctl(f, 1, 0n)).toBe(-EPERM);
    expect(p.open('/file', O_RDWR)).toBe(-13);
    expect(p.openFds()).toEqual([3, 4, 5]);
    expect(m.faults.current).toBeUndefined();
    expect(m.warn.syscall).toBe('');
  });

  it('a device may refuse open with -errno', () => {
    const m = new Machine({ memory: '16M' });
    m.registerDevice('/dev/busy', { open: () => -16 });
    expect(m.spawn().open('/dev/busy', O_RDWR)).toBe(-16);
  });

  it('installFd hands out new descriptors for driver-created files', () => {
    const m = new Machine({ memory: '16M' });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const p = m.spawn();
    const fd = p.open('/dev/test', O_RDWR);
    expect(p.ioctl(fd, 3, 0n)).toBe(4);
    expect(p.fileOf(4)).toBeDefined();
    expect(p.close(4)).toBe(0);
    expect(dev.log).toContain('child file released');
  });

  it('fork shares open files; release happens on the last close; exit closes all', () => {
    const m = new Machine({ memory: '16M' });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const p = m.spawn();
    const fd = p.open('/dev/test', O_RDWR);
    const c = p.fork();
    expect(c.pid).toBe(2);
    expect(c.ppid).toBe(1);
    expect(c.openFds()).toEqual([fd]);
    expect(p.close(fd)).toBe(0);
    expect(dev.released()).toBe(0);
    expect(c.ioctl(fd, 0, 1n)).toBe(7);
    c.exit();
    expect(dev.released()).toBe(1);
    expect(dev.log.at(-1)).toBe('release 2');
    expect(c.exited).toBe(true);
    expect(c.open('/dev/test', O_RDWR)).toBe(-ESRCH);
    expect(c.mmap(0n, 4096n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(BigInt(-ESRCH));
    expect(m.processes.has(2)).toBe(false);
  });

  it('mmap of files: -EBADF, -ENODEV', () => {
    const m = new Machine({ memory: '16M' });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const p = m.spawn();
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, 42)).toBe(BigInt(-EBADF));
    const fd = p.open('/dev/test', O_RDWR);
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, fd)).toBe(BigInt(-ENODEV));
    expect(p.mmap(0n, 4096n, PROT_READ, MAP_SHARED, fd, 5n)).toBe(BigInt(-EINVAL));
    expect(p.mmap(0.5, 4096n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(BigInt(-EINVAL));
  });

  it('memfd_create flags and ftruncate checks', () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn();
    expect(p.memfdCreate('x', 0x1000)).toBe(-EINVAL);
    expect(p.memfdCreate('x', 21 << 26)).toBe(-EINVAL);
    // MFD_NOEXEC_SEAL (0x8) and MFD_EXEC (0x10) are flags since 6.3, but not both
    expect(p.memfdCreate('x', 0x8 | 0x10)).toBe(-EINVAL);
    for (const f of [0x8, 0x10, 0x8 | 0x2 | 0x1]) expect(p.memfdCreate('x', f)).toBeGreaterThanOrEqual(0);
    // a huge size with no hstate: hugetlb_file_setup()'s ENODEV (2 MiB | 1 GiB bits make 31, 2 GiB); checked on 7.2.13
    expect(p.memfdCreate('x', 0x4 | (21 << 26) | (30 << 26))).toBe(-ENODEV);
    expect(p.memfdCreate('x', 0x4 | (16 << 26))).toBe(-ENODEV);
    const h = p.memfdCreate('h', 0x4 | (21 << 26));
    expect(p.ftruncate(h, 4096)).toBe(-EINVAL);
    expect(p.ftruncate(h, 2 << 20)).toBe(0);
    const a = p.mmap(0n, 2n << 20n, PROT_READ | PROT_WRITE, MAP_SHARED, h);
    expect(a % (2n << 20n)).toBe(0n);
    expect(p.writeMemory(a, new Uint8Array([1]))).toBe(0);
    expect(m.phys.folioOrder(p.mm.lookupPfn(a))).toBe(9);
    expect(p.ftruncate(99, 0)).toBe(-EBADF);
    expect(p.ftruncate(h, -1)).toBe(-EINVAL);
    p.exit();
    expect(m.phys.framesInUse()).toBe(0);
  });
});

describe('syscall attribution', () => {
  it('fault points fire for the calling task only', () => {
    const m = new Machine({ memory: '16M' });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const a = m.spawn();
    const b = m.spawn();
    const fa = a.open('/dev/test', O_RDWR);
    const fb = b.open('/dev/test', O_RDWR);
    a.setFailNth(1);
    expect(b.ioctl(fb, 1, 0n)).toBe(0);
    expect(a.getFailNth()).toBe(1);
    expect(a.ioctl(fa, 1, 0n)).toBe(-EFAULT);
    expect(a.getFailNth()).toBe(0);
    expect(a.ioctl(fa, 1, 0n)).toBe(0);
    expect(a.fork().getFailNth()).toBe(0);
  });

  it('a WARN names the syscall; with panicOnWarn it is the one exception, and state is restored', () => {
    const m = new Machine({ memory: '16M', panicOnWarn: true });
    const dev = recorder(m);
    m.registerDevice('/dev/test', dev.node);
    const p = m.spawn();
    const fd = p.open('/dev/test', O_RDWR);
    expect(() => p.ioctl(fd, 4, 0n)).toThrow(KernelWarning);
    expect(m.warnings).toEqual([{ assertion: 'test.warn', message: 'boom', syscall: 'ioctl' }]);
    expect(m.faults.current).toBeUndefined();
    expect(m.warn.syscall).toBe('');
    expect(m.currentProcess).toBeUndefined();
  });

  it('MAP_FIXED at 0 needs CAP_SYS_RAWIO', () => {
    const m = new Machine({ memory: '16M' });
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | 0x10;
    expect(m.spawn().mmap(0n, 4096n, PROT_READ, flags)).toBe(BigInt(-EPERM));
    expect(m.spawn({ caps: ['CAP_SYS_RAWIO'] }).mmap(0n, 4096n, PROT_READ, flags)).toBe(0n);
  });
});

describe('exit', () => {
  it('returns every frame; the mm is gone for mmget_not_zero', () => {
    const m = new Machine({ memory: '64M', seed: 3 });
    const p = m.spawn();
    const a = p.mmap(0n, 1n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (let off = 0n; off < 1n << 20n; off += 4096n) p.writeMemory(a + off, new Uint8Array([1]));
    const c = p.fork();
    c.writeMemory(a, new Uint8Array([2]));
    expect(m.phys.framesInUse()).toBe(257);
    p.exit();
    expect(m.phys.framesInUse()).toBe(256);
    expect(p.mm.mmgetNotZero()).toBe(false);
    c.exit();
    expect(m.phys.framesInUse()).toBe(0);
    expect(m.processes.size).toBe(0);
  });
});

describe('ioctlStruct across fork', () => {
  it('the child passes structs through the buffer it inherited, with the bytes the parent left there', () => {
    const m = new Machine({ memory: '64M', seed: 3 });
    const p = m.spawn();
    const fd = p.memfdCreate('x', 0);
    // a struct of 32 bytes, then the child's of 8: ioctlStruct maps no new buffer in the child
    expect(p.ioctlStruct(fd, 0x1234, new Uint8Array(32).fill(0xab))).toBe(-ENOTTY);
    const c = p.fork();
    const vmas = c.mm.vmas.length;
    const small = new Uint8Array(8);
    expect(c.ioctlStruct(fd, 0x1234, small)).toBe(-ENOTTY);
    expect(c.mm.vmas.length).toBe(vmas);
    // the buffer's bytes past the child's struct are still the parent's (the address space is a copy)
    const tail = new Uint8Array(24);
    // the only mapping of this bare process: the one-page struct buffer (VMA bounds are page numbers)
    expect(c.mm.vmas).toHaveLength(1);
    const buf = BigInt(c.mm.vmas[0].start) * 4096n;
    expect(c.readMemory(buf + 8n, tail)).toBe(0);
    expect([...tail].every((b) => b === 0xab)).toBe(true);
    c.exit();
    p.exit();
  });
});

describe('Machine.setThpMode (transparent_hugepage/enabled)', () => {
  it('the mode is the machine\'s: a process already running faults by the new one', () => {
    const m = new Machine({ memory: '64M' });
    const p = m.spawn({ memlock: 'unlimited' });
    const huge = (): boolean => {
      const va = p.mmap(0n, 4n << 20n, 3, 0x22);
      const b = (va + (2n << 20n) - 1n) & ~((2n << 20n) - 1n);
      p.writeMemory(b, new Uint8Array([1]));
      const r = m.phys.folioOrder(p.mm.lookupPfn(b)) === 9;
      p.munmap(va, 4n << 20n);
      return r;
    };
    expect(huge()).toBe(false);
    m.setThpMode('always');
    expect(m.mmOptions.thp).toBe('always');
    expect(huge()).toBe(true);
    expect(p.fork().mm.opts.thp).toBe('always');
  });
});
