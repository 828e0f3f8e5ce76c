// SPDX-License-Identifier: GPL-2.0-only
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM, EPERM } from '../../src/base/errno.js';
import { IommufdClient } from '../../src/client/index.js';
import { Machine } from '../../src/machine/index.js';
import { registerIommufdNodes } from '../../src/machine/iommufd-node.js';
import { UID_KEEP, execCreds } from '../../src/mm/cred.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/mm/constants.js';
import { CAPABILITIES } from '../../src/mm/task.js';

function root(memlock: number | 'unlimited' = 'unlimited') {
  const m = new Machine({ memory: '64M', panicOnWarn: true });
  registerIommufdNodes(m);
  const p = m.spawn({ uid: 0, caps: CAPABILITIES, memlock });
  return { m, p };
}

const ids = (p: { task: { uid: number; euid: number; suid: number } }) => [p.task.uid, p.task.euid, p.task.suid];

describe('setuid, setreuid, setresuid (kernel/sys.c) and the capability fixup (cap_emulate_setxuid)', () => {
  it('leaving UID 0 in all three IDs drops every capability and moves the task to the new user', () => {
    const { m, p } = root();
    const rootUser = p.task.user;
    expect(p.setresuid(1000, 1000, 1000)).toBe(0);
    expect(ids(p)).toEqual([1000, 1000, 1000]);
    expect(p.task.caps.size).toBe(0);
    expect(p.task.permitted.size).toBe(0);
    expect(p.task.user).toBe(m.userStruct(1000));
    expect([rootUser.processes, m.userStruct(1000).processes]).toEqual([0, 1]);
    // No way back without CAP_SETUID; the IDs it holds stay allowed.
    expect(p.setuid(0)).toBe(-EPERM);
    expect(p.setresuid(0, UID_KEEP, UID_KEEP)).toBe(-EPERM);
    expect(p.setreuid(UID_KEEP, 2000)).toBe(-EPERM);
    expect(p.setresuid(1000, 1000, 1000)).toBe(0);
    expect(p.setuid(1000)).toBe(0);
    expect(p.setuid(UID_KEEP)).toBe(-EINVAL);
    // A child is the same user; its exit leaves the count where it was.
    const c = p.fork();
    expect(ids(c)).toEqual([1000, 1000, 1000]);
    expect(m.userStruct(1000).processes).toBe(2);
    c.exit();
    expect(m.userStruct(1000).processes).toBe(1);
  });

  it('seteuid away from 0 empties only the effective set; back to 0 raises it to the permitted one', () => {
    const { p } = root();
    expect(p.setresuid(UID_KEEP, 1000, UID_KEEP)).toBe(0);
    expect(ids(p)).toEqual([0, 1000, 0]);
    expect(p.task.caps.size).toBe(0);
    expect(p.task.permitted.size).toBe(CAPABILITIES.length);
    // Still UID 0 as real and saved: the user is root's, and seteuid(0) needs no capability.
    expect(p.task.user.uid).toBe(0);
    expect(p.setresuid(UID_KEEP, 0, UID_KEEP)).toBe(0);
    expect(p.task.caps.size).toBe(CAPABILITIES.length);
  });

  it('PR_SET_KEEPCAPS keeps the permitted set across the drop (values above 1 are EINVAL)', () => {
    const { p } = root();
    expect(p.setKeepCaps(2n)).toBe(-EINVAL);
    expect(p.setKeepCaps(1n)).toBe(0);
    expect(p.setuid(1000)).toBe(0);
    expect(ids(p)).toEqual([1000, 1000, 1000]);
    expect(p.task.caps.size).toBe(0);
    expect(p.task.permitted.size).toBe(CAPABILITIES.length);
    expect(p.fork().task.keepCaps).toBe(true);
  });

  it('setreuid: the saved UID follows the effective one when the real one is set or the effective one leaves it', () => {
    const { p } = root();
    expect(p.setreuid(UID_KEEP, 0)).toBe(0);
    expect(ids(p)).toEqual([0, 0, 0]);
    expect(p.setreuid(UID_KEEP, 1000)).toBe(0);
    expect(ids(p)).toEqual([0, 1000, 1000]);
    // Unprivileged now (euid 1000): swapping real and effective is allowed, to an ID it holds.
    expect(p.setreuid(1000, 0)).toBe(0);
    expect(ids(p)).toEqual([1000, 0, 0]);
    expect(p.task.caps.size).toBe(CAPABILITIES.length);
  });
});

describe('execve() of a file without file capabilities (cap_bprm_creds_from_file)', () => {
  it('root gets its bounding set back (effective too with effective UID 0); the saved UID becomes the effective one; keep-caps is cleared', () => {
    const { p } = root();
    const c = p.fork();
    expect([...c.task.capBset]).toEqual([...CAPABILITIES]);
    c.task.caps.delete('CAP_IPC_LOCK');
    c.task.permitted.delete('CAP_IPC_LOCK');
    expect(c.setKeepCaps(1n)).toBe(0);
    execCreds(c.task);
    expect([c.task.caps.has('CAP_IPC_LOCK'), c.task.permitted.size, c.task.keepCaps]).toEqual([true, CAPABILITIES.length, false]);
    // effective UID 1000, real 0: the permitted set comes back, the effective one stays empty; suid = euid
    expect(c.setresuid(UID_KEEP, 1000, UID_KEEP)).toBe(0);
    execCreds(c.task);
    expect(ids(c)).toEqual([0, 1000, 1000]);
    expect([c.task.caps.size, c.task.permitted.size]).toEqual([0, CAPABILITIES.length]);
  });

  it('a task that left UID 0 keeping its permitted set has none after the exec; a root run given fewer capabilities gets no more back', () => {
    const { p } = root();
    expect(p.setKeepCaps(1n)).toBe(0);
    expect(p.setuid(1000)).toBe(0);
    expect(p.task.permitted.size).toBe(CAPABILITIES.length);
    execCreds(p.task);
    expect([p.task.caps.size, p.task.permitted.size]).toEqual([0, 0]);
    const m = new Machine({ memory: '64M', panicOnWarn: true });
    const q = m.spawn({ uid: 0, caps: ['CAP_SYS_ADMIN'], memlock: 'unlimited' });
    q.task.caps.clear();
    q.task.permitted.clear();
    execCreds(q.task);
    expect([...q.task.caps]).toEqual(['CAP_SYS_ADMIN']);
  });
});

describe('who pays for a pin after a drop', () => {
  it('pages made before the drop stay charged to root; after it, uid 1000 pays and meets its limit exactly', () => {
    const { m, p } = root(64 * 1024);
    const c = IommufdClient.open(p);
    const ioas = c.ioasAlloc();
    c.mockDomain(ioas);
    const va = p.mmap(0n, 1n << 20n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    // CAP_IPC_LOCK: not charged at all.
    expect(c.ioasMapRaw({ ioas, userVa: va, length: 1 << 20, iova: 1 << 24 }).rc).toBe(0);
    expect(m.userStruct(0).lockedVm).toBe(0);
    // euid 1000: no CAP_IPC_LOCK, the real UID's (root's) user pays.
    expect(p.setresuid(UID_KEEP, 1000, UID_KEEP)).toBe(0);
    expect(c.ioasMapRaw({ ioas, userVa: va, length: 1 << 20, iova: 1 << 25 }).rc).toBe(-ENOMEM);
    expect(c.ioasMapRaw({ ioas, userVa: va, length: 32 << 10, iova: 1 << 25 }).rc).toBe(0);
    expect(m.userStruct(0).lockedVm).toBe(8);
    expect(p.setresuid(UID_KEEP, 0, UID_KEEP)).toBe(0);
    expect(p.setresuid(1000, 1000, 1000)).toBe(0);
    expect(c.ioasMapRaw({ ioas, userVa: va, length: 68 << 10, iova: 1 << 26 }).rc).toBe(-ENOMEM);
    expect(c.ioasMapRaw({ ioas, userVa: va, length: 64 << 10, iova: 1 << 26 }).rc).toBe(0);
    expect([m.userStruct(0).lockedVm, m.userStruct(1000).lockedVm]).toEqual([8, 16]);
    // pinned_vm counts every pin of the mm's pages, the uncharged CAP_IPC_LOCK ones too (VmPin on 7.2.13 alike).
    expect(p.mm.pinnedVm).toBe(256 + 24);
    // Unmapping uncharges the user each pages object was charged to.
    c.ioasUnmap({ ioas, iova: 1 << 25, length: 32 << 10 });
    expect([m.userStruct(0).lockedVm, m.userStruct(1000).lockedVm]).toEqual([0, 16]);
    c.close();
    expect(m.userStruct(1000).lockedVm).toBe(0);
    expect(m.audit()).toBe(0);
  });
});
