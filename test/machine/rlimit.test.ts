// SPDX-License-Identifier: GPL-2.0-only
/**
 * setrlimit(RLIMIT_MEMLOCK) on a running process (kernel/sys.c do_prlimit())
 * and what iommufd's per-user charge makes of it (incr_user_locked_vm() reads
 * the mapping process's limit when the pages are pinned). Kernel-checked by
 * test/oracle/handwritten/setrlimit-memlock.yaml on 6.12.95 and 7.2.13.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM, EPERM, ESRCH } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/iommufd.js';
import { Machine } from '../../src/machine/index.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';

const PS = 4096n;
const INF = (1n << 64n) - 1n;
/** The mock domain's aperture starts at 16 MiB. */
const IOVA = 1n << 24n;

function setup(memlock: bigint, caps: string[] = []) {
  const m = new Machine({ memory: '64M', profile: 'latest', panicOnWarn: true, checks: true });
  const p = m.spawn({ memlock, caps });
  const buf = p.mmap(0n, 64n * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(buf > 0n).toBe(true);
  return { m, p, buf };
}

describe('setrlimit(RLIMIT_MEMLOCK)', () => {
  it('starts with the hard limit equal to the soft one', () => {
    const { p } = setup(16n * PS);
    expect(p.memlockLimit()).toEqual({ cur: 16n * PS, max: 16n * PS });
  });

  it('refuses a soft limit above the hard one (EINVAL) and a raised hard limit without CAP_SYS_RESOURCE (EPERM), changing nothing', () => {
    const { p } = setup(16n * PS);
    expect(p.setMemlockLimit(8n * PS, 4n * PS)).toBe(-EINVAL);
    expect(p.setMemlockLimit(32n * PS, 32n * PS)).toBe(-EPERM);
    expect(p.setMemlockLimit(INF, INF)).toBe(-EPERM);
    expect(p.memlockLimit()).toEqual({ cur: 16n * PS, max: 16n * PS });
    // lowering both, then raising the soft one back up to the hard one
    expect(p.setMemlockLimit(2n * PS, 8n * PS)).toBe(0);
    expect(p.setMemlockLimit(8n * PS, 8n * PS)).toBe(0);
    expect(p.setMemlockLimit(8n * PS, 16n * PS)).toBe(-EPERM);
    expect(p.memlockLimit()).toEqual({ cur: 8n * PS, max: 8n * PS });
  });

  it('lets CAP_SYS_RESOURCE raise the hard limit', () => {
    const { p } = setup(16n * PS, ['CAP_SYS_RESOURCE']);
    expect(p.setMemlockLimit(INF, INF)).toBe(0);
    expect(p.memlockLimit()).toEqual({ cur: INF, max: INF });
  });

  it('is inherited by fork and is each process\'s own afterwards; an exited process answers ESRCH', () => {
    const { p } = setup(16n * PS);
    expect(p.setMemlockLimit(4n * PS, 8n * PS)).toBe(0);
    const c = p.fork();
    expect(c.memlockLimit()).toEqual({ cur: 4n * PS, max: 8n * PS });
    expect(c.setMemlockLimit(0n, 0n)).toBe(0);
    expect(p.memlockLimit()).toEqual({ cur: 4n * PS, max: 8n * PS });
    c.exit();
    expect(c.memlockLimit()).toBe(-ESRCH);
    expect(c.setMemlockLimit(0n, 0n)).toBe(-ESRCH);
  });

  it('judges each pin against the mapper\'s limit as it is then; a limit below the charge drops nothing', () => {
    const { p, buf } = setup(64n * PS);
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    expect(p.setMemlockLimit(4n * PS, 64n * PS)).toBe(0);
    expect(c.ioasMapRaw({ ioas, userVa: buf, length: 4n * PS, iova: IOVA }).rc).toBe(0);
    expect(p.task.user.lockedVm).toBe(4);
    expect(c.ioasMapRaw({ ioas, userVa: buf + 4n * PS, length: PS, iova: IOVA + 16n * PS }).rc).toBe(-ENOMEM);
    expect(p.setMemlockLimit(PS, 64n * PS)).toBe(0);
    expect(p.task.user.lockedVm).toBe(4);
    // pages mapped with no domain are charged at the first attach, to the mapper, whoever attaches
    const ioas2 = c.ioasAlloc();
    expect(c.ioasMapRaw({ ioas: ioas2, userVa: buf + 8n * PS, length: 2n * PS, iova: IOVA }).rc).toBe(0);
    const child = p.fork();
    const cc = new IommufdClient(child, c.fd);
    expect(cc.mockDomainFlagsRaw(ioas2, 0).rc).toBe(-ENOMEM);
    expect(p.setMemlockLimit(6n * PS, 64n * PS)).toBe(0);
    expect(child.setMemlockLimit(0n, 0n)).toBe(0);
    expect(cc.mockDomainFlagsRaw(ioas2, 0).rc).toBe(0);
    expect(p.task.user.lockedVm).toBe(6);
    // the child's own map is judged against its own limit of 0
    expect(cc.ioasMapRaw({ ioas, userVa: buf + 12n * PS, length: PS, iova: IOVA + 32n * PS }).rc).toBe(-ENOMEM);
    child.exit();
    p.exit();
  });
});

describe('prlimit(pid, RLIMIT_MEMLOCK) of another process', () => {
  it('sets and reads a forked child’s limits, answering the old ones; EINVAL and EPERM by do_prlimit() with the caller’s CAP_SYS_RESOURCE', () => {
    const { p } = setup(16n * PS);
    const c = p.fork();
    expect(p.prlimitMemlock(c.pid)).toEqual({ cur: 16n * PS, max: 16n * PS });
    expect(p.prlimitMemlock(c.pid, { cur: 4n * PS, max: 8n * PS })).toEqual({ cur: 16n * PS, max: 16n * PS });
    expect(c.memlockLimit()).toEqual({ cur: 4n * PS, max: 8n * PS });
    expect(p.memlockLimit()).toEqual({ cur: 16n * PS, max: 16n * PS });
    expect(p.prlimitMemlock(c.pid, { cur: 8n * PS, max: 4n * PS })).toBe(-EINVAL);
    expect(p.prlimitMemlock(c.pid, { cur: 16n * PS, max: 16n * PS })).toBe(-EPERM);
    expect(c.memlockLimit()).toEqual({ cur: 4n * PS, max: 8n * PS });
    // the hard limit's raise is the caller's capability, not the target's
    c.task.caps.add('CAP_SYS_RESOURCE');
    expect(p.prlimitMemlock(c.pid, { cur: 16n * PS, max: 16n * PS })).toBe(-EPERM);
    c.task.caps.delete('CAP_SYS_RESOURCE');
    p.task.caps.add('CAP_SYS_RESOURCE');
    expect(p.prlimitMemlock(c.pid, { cur: INF, max: INF })).toEqual({ cur: 4n * PS, max: 8n * PS });
    expect(c.memlockLimit()).toEqual({ cur: INF, max: INF });
    // pid 0 and its own pid: the caller
    expect(p.prlimitMemlock(0)).toEqual({ cur: 16n * PS, max: 16n * PS });
    expect(p.prlimitMemlock(p.pid, { cur: 2n * PS, max: 2n * PS })).toEqual({ cur: 16n * PS, max: 16n * PS });
    expect(p.memlockLimit()).toEqual({ cur: 2n * PS, max: 2n * PS });
  });

  it('is ESRCH for no such process and an exited one, EPERM for another user’s without CAP_SYS_RESOURCE (check_prlimit_permission(), before EINVAL)', () => {
    const { m, p } = setup(16n * PS, ['CAP_SETUID']);
    expect(p.prlimitMemlock(0x7fffffff)).toBe(-ESRCH);
    expect(p.prlimitMemlock(-1)).toBe(-ESRCH);
    const me = p.task.uid;
    const c = p.fork();
    expect(c.setresuid(me + 1, me + 1, me + 1)).toBe(0);
    // the child is another user's now: not its parent's (uid 0, no CAP_SYS_RESOURCE) to read or set
    expect(p.prlimitMemlock(c.pid)).toBe(-EPERM);
    expect(p.prlimitMemlock(c.pid, { cur: 8n * PS, max: 4n * PS })).toBe(-EPERM);
    expect(c.prlimitMemlock(p.pid)).toBe(-EPERM);
    // a saved UID of another's is enough to refuse: all three must be the caller's
    const d = p.fork();
    expect(d.setresuid(me, me, me + 1)).toBe(0);
    expect(p.prlimitMemlock(d.pid)).toBe(-EPERM);
    p.task.caps.add('CAP_SYS_RESOURCE');
    expect(p.prlimitMemlock(c.pid)).toEqual({ cur: 16n * PS, max: 16n * PS });
    c.exit();
    expect(m.processes.has(c.pid)).toBe(false);
    expect(p.prlimitMemlock(c.pid)).toBe(-ESRCH);
    // an exited caller makes no call
    d.exit();
    expect(d.prlimitMemlock(p.pid)).toBe(-ESRCH);
  });

  it('judges the child’s later pins against the limit its parent gave it', () => {
    const { p, buf } = setup(64n * PS);
    const c = p.fork();
    expect(p.prlimitMemlock(c.pid, { cur: 4n * PS, max: 4n * PS })).toEqual({ cur: 64n * PS, max: 64n * PS });
    const ic = IommufdClient.open(c);
    const ioas = ic.ioasAlloc();
    ic.mockDomain(ioas);
    expect(ic.ioasMapRaw({ ioas, userVa: buf, length: 4n * PS, iova: IOVA }).rc).toBe(0);
    expect(ic.ioasMapRaw({ ioas, userVa: buf + 4n * PS, length: PS, iova: IOVA + 16n * PS }).rc).toBe(-ENOMEM);
    // the parent's own 64 pages are untouched: it maps what its child could not
    const ip = IommufdClient.open(p);
    const ioas2 = ip.ioasAlloc();
    ip.mockDomain(ioas2);
    expect(ip.ioasMapRaw({ ioas: ioas2, userVa: buf + 4n * PS, length: 8n * PS, iova: IOVA }).rc).toBe(0);
  });
});
