// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { ENOMEM } from '../../src/base/errno.js';
import { Machine } from '../../src/machine/index.js';
import { MemCgroup, accountLockedVm, accountLockedVmCapable, memlockLimitPages } from '../../src/mm/accounting.js';
import { RLIM_INFINITY } from '../../src/mm/constants.js';

describe('__account_locked_vm', () => {
  it('fails with -ENOMEM above RLIMIT_MEMLOCK unless bypassed', () => {
    const m = new Machine({ memory: '16M' });
    const p = m.spawn({ memlock: 16 * 4096 });
    const mm = p.mm;
    expect(accountLockedVm(mm, 10, true, p.task, false)).toBe(0);
    expect(accountLockedVm(mm, 6, true, p.task, false)).toBe(0);
    expect(mm.lockedVm).toBe(16);
    expect(accountLockedVm(mm, 1, true, p.task, false)).toBe(-ENOMEM);
    expect(mm.lockedVm).toBe(16);
    expect(accountLockedVm(mm, 100, true, p.task, true)).toBe(0);
    expect(mm.lockedVm).toBe(116);
    expect(accountLockedVm(mm, 116, false, p.task, false)).toBe(0);
    expect(mm.lockedVm).toBe(0);
  });

  it('account_locked_vm bypasses the limit with CAP_IPC_LOCK', () => {
    const m = new Machine({ memory: '16M' });
    const plain = m.spawn({ memlock: 0 });
    const capped = m.spawn({ memlock: 0, caps: ['CAP_IPC_LOCK'] });
    expect(accountLockedVmCapable(plain.mm, 1, true, plain.task)).toBe(-ENOMEM);
    expect(accountLockedVmCapable(plain.mm, 0, true, plain.task)).toBe(0);
    expect(accountLockedVmCapable(capped.mm, 1000, true, capped.task)).toBe(0);
    expect(capped.mm.lockedVm).toBe(1000);
  });

  it('decrement below zero WARNs and clamps', () => {
    const m = new Machine({ memory: '16M' });
    const p = m.spawn();
    accountLockedVm(p.mm, 3, true, p.task, false);
    expect(accountLockedVm(p.mm, 5, false, p.task, false)).toBe(0);
    expect(p.mm.lockedVm).toBe(0);
    expect(m.warnings.map((w) => w.assertion)).toEqual(['__account_locked_vm.underflow']);
    const strict = new Machine({ memory: '16M', panicOnWarn: true });
    const q = strict.spawn();
    expect(() => accountLockedVm(q.mm, 1, false, q.task, false)).toThrow(/__account_locked_vm.underflow/);
  });

  it('RLIM_INFINITY is a limit of 2^52 - 1 pages', () => {
    expect(memlockLimitPages({ rlimitMemlock: RLIM_INFINITY })).toBe(2 ** 52 - 1);
    expect(memlockLimitPages({ rlimitMemlock: 8191n })).toBe(1);
  });

  it('user_struct is shared by the processes of a uid', () => {
    const m = new Machine({ memory: '16M' });
    const a = m.spawn({ uid: 5 });
    const b = m.spawn({ uid: 5 });
    const c = m.spawn({ uid: 6 });
    expect(a.task.user).toBe(b.task.user);
    expect(a.task.user).not.toBe(c.task.user);
    a.task.user.lockedVm += 7;
    expect(m.userStruct(5).lockedVm).toBe(7);
    expect(a.fork().task.user).toBe(a.task.user);
    expect(m.userStruct(5).processes).toBe(3);
  });
});

describe('memory cgroup', () => {
  it('charges up to the limit and refuses beyond', () => {
    const cg = new MemCgroup({ limit: 10000 });
    expect(cg.charge(6000)).toBe(true);
    expect(cg.charge(5000)).toBe(false);
    expect(cg.failcnt).toBe(1);
    expect(cg.usage).toBe(6000);
    expect(cg.charge(4000)).toBe(true);
    cg.uncharge(10000);
    expect(cg.usage).toBe(0);
    expect(cg.peak).toBe(10000);
    expect(new MemCgroup().charge(2 ** 50)).toBe(true);
  });

  it('is per process by default and can be shared', () => {
    const m = new Machine({ memory: '16M' });
    const a = m.spawn();
    const b = m.spawn();
    expect(a.task.memcg).not.toBe(b.task.memcg);
    const cg = m.createMemcg(4096);
    const c = m.spawn({ memcg: cg });
    const d = m.spawn({ memcg: cg });
    expect(c.task.memcg).toBe(d.task.memcg);
    expect(c.fork().task.memcg).toBe(cg);
  });
});
