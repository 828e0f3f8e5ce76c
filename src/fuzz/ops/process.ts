// SPDX-License-Identifier: GPL-2.0-only
/** Process ops: fork, exit, fail_nth, setrlimit; and the file ops open and close. */
import { ESRCH } from '../../base/errno.js';
import { OPEN_FLAGS, enumField, flags, req, fileFd, u64 } from './spec.js';
import type { OpModule, OpOutcome } from './types.js';
import { U64_MAX, num, pickW } from './values.js';

const O_RDWR = 2;
/** O_PATH, and open flags other than O_RDWR the generator sometimes gives /dev/iommu: O_RDONLY, O_WRONLY, O_ACCMODE, O_RDWR|O_NONBLOCK, O_RDWR|O_CLOEXEC. */
const O_PATH = 0o10000000;
const OPEN_MODES = [0, 1, 3, 0o4002, 0o2000002] as const;

export const fork: OpModule = {
  name: 'fork',
  spec: {
    doc: 'fork(2) of the calling process; `as` binds the child, which later calls name with `proc`',
    group: 'process',
    fields: {},
    primary: 'pid',
    outputs: { pid: 'proc' },
  },
  weight: 1,
  localRet: true,
  produces: ['proc'],
  execute(x) {
    const r = x.proc.forkOrErrno();
    if (typeof r === 'number') return { ret: r, outputs: { pid: 0 } };
    x.adoptChild(r);
    return { ret: r.pid, outputs: { pid: r.pid } };
  },
  generate(g, c) {
    c.as = g.fresh();
    return c;
  },
  scope(_c, as, add) {
    add({ kind: 'proc', name: as });
  },
  emitC(e) {
    e.L(`rc = do_fork(${e.forkSlot()});`);
    e.outs.pid = '(uint64_t)(rc < 0 ? 0 : rc)';
  },
};

export const exit: OpModule = {
  name: 'exit',
  spec: {
    doc: 'exit(2) of the calling process (`proc`): closes its files and drops its memory',
    group: 'process',
    fields: {},
    outputs: {},
  },
  weight: 0.2,
  consumes: ['proc'],
  execute(x) {
    // a process that already ended makes no call: ESRCH, as every call of an exited Process (the oracle's "dead")
    if (x.proc.exited) return { ret: -ESRCH, outputs: {} };
    x.proc.exit();
    return { ret: 0, outputs: {} };
  },
  generate(g, c) {
    const procs = g.procs();
    if (procs.length === 0) return undefined;
    c.proc = g.rng.pick(procs);
    return c;
  },
  emitC({ L }) {
    L('if (my_slot) {');
    L('\tchild_exiting = 1;');
    L('} else {');
    L('\tprintf("the main process exits at call %d\\n", idx);');
    L('\t/* The remaining calls cannot run: report and stop. */');
    L('\tprintf("%d checks so far, %d differ\\n", checked, diverged);');
    L('\texit(diverged ? 1 : 0);');
    L('}');
  },
};

export const fail_nth: OpModule = {
  name: 'fail_nth',
  spec: {
    doc: 'arm fail-nth for the next call of this process: its `nth` fault point fails (disarmed after that call); 0 arms nothing',
    group: 'process',
    fields: { nth: req({ kind: 'int', width: 'u32', doc: 'which fault point to fail (1 = the first)' }) },
    outputs: {},
  },
  weight: 1.5,
  execute(x) {
    x.armFailNth(x.n32('nth'));
    return { ret: 0, outputs: {} };
  },
  generate(g, c) {
    const rng = g.rng;
    c.nth = pickW<() => number>(rng, [
      [6, () => rng.int(1, 4)],
      [3, () => rng.int(5, 12)],
      [1, () => rng.int(13, 60)],
    ])();
    return c;
  },
  emitC(e) {
    e.L(`fail_nth_pending = (unsigned int)${e.v('nth')};`);
  },
};

export const open: OpModule = {
  name: 'open',
  spec: {
    doc: 'open(2); `as` binds the fd. Opening /dev/iommu or /dev/vfio/vfio makes it the default fd of later iommufd calls',
    group: 'iommufd',
    fields: {
      path: { kind: 'string', default: '/dev/iommu', doc: 'path (/dev/iommu, /dev/vfio/vfio)' },
      flags: flags(OPEN_FLAGS, 'O_* flags', ['RDWR']),
    },
    primary: 'fd',
    outputs: { fd: 'iommufd' },
  },
  weight: 1,
  localRet: true,
  produces: ['iommufd'],
  execute(x) {
    const path = typeof x.call.path === 'string' ? x.call.path : '/dev/iommu';
    const fd = x.proc.open(path, x.call.flags === undefined ? O_RDWR : x.n32('flags'));
    if (fd >= 0) x.opened(path, fd);
    return { ret: fd, outputs: { fd } };
  },
  generate(g, c) {
    c.as = g.fresh();
    if (g.rng.bool(0.15)) c.path = '/dev/vfio/vfio';
    // Other open modes now and then: iommufd's ioctls ignore the mode (O_RDONLY, O_WRONLY, the ioctl-only
    // mode 3), O_PATH gets no driver open and every ioctl on it is EBADF (rarely: it becomes the default fd).
    if (g.rng.bool(0.08)) c.flags = g.rng.bool(0.05) ? O_PATH : g.rng.pick(OPEN_MODES);
    return c;
  },
  scope(c, as, add) {
    add({ kind: 'iommufd', name: as, vfio: c.path === '/dev/vfio/vfio' });
  },
  emitC(e) {
    const path = typeof e.c.path === 'string' ? e.c.path : '/dev/iommu';
    e.L(`rc = sys_rc(open(${e.str(path)}, (int)${e.has('flags') ? e.v('flags') : '2 /* O_RDWR */'}));`);
    e.outs.fd = '(uint64_t)(int64_t)(rc < 0 ? -1 : rc)';
    if (e.c.as === undefined) e.hidden = `$__open${e.index}`;
  },
};

export const close: OpModule = {
  name: 'close',
  spec: {
    doc: 'close(2)',
    group: 'iommufd',
    fields: { fd: fileFd('descriptor to close') },
    outputs: {},
  },
  weight: 0.7,
  execute: (x) => ({ ret: x.proc.close(x.s32('fd')), outputs: {} }),
  generate(g, c) {
    const rng = g.rng;
    const fds = g.ofKind('iommufd', 'access', 'memfd', 'fault').map((r) => r.fd ?? r.name);
    c.fd = fds.length > 0 && rng.bool(0.9) ? rng.pick(fds) : rng.pick([-1, 0, 3, 4, 5]);
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    e.L(`rc = sys_rc(close((int)${e.v('fd')}));`);
  },
};

/** RLIMIT_MEMLOCK's limits the generator picks: the sizes its buffers come in (so a map reaches one exactly), 0 and RLIM_INFINITY. */
const MEMLOCK_LIMITS = [0n, 4096n, 8192n, 16384n, 32768n, 65536n, 1n << 20n, 2n << 20n, 4n << 20n, 8n << 20n, U64_MAX] as const;

export const setrlimit: OpModule = {
  name: 'setrlimit',
  spec: {
    doc: "setrlimit(RLIMIT_MEMLOCK, {cur, max}) or, with operation GET, getrlimit(RLIMIT_MEMLOCK) (outputs `cur` and `max`); with `pid`, prlimit() of that process (a VMM's manager setting its QEMU's limit). A soft limit above the hard one is EINVAL, a hard limit raised without CAP_SYS_RESOURCE EPERM (do_prlimit()); no such process ESRCH, another user's process without CAP_SYS_RESOURCE EPERM (check_prlimit_permission()). Pins charged later (a map, a domain attach, an access) are judged against the limit of the process that mapped them as it is then; nothing already locked is dropped. Inherited by fork",
    group: 'process',
    fields: {
      operation: enumField({ SET: 0, GET: 1 }, 'SET or GET', 'SET'),
      cur: u64('SET: the soft limit in bytes (0xffffffffffffffff is RLIM_INFINITY); default RLIM_INFINITY', { default: '0xffffffffffffffff' }),
      max: u64('SET: the hard limit in bytes; default the soft limit'),
      pid: { kind: 'int', width: 's32', handle: 'proc', doc: 'prlimit() of this process (a process handle such as `$child` or `$main`; 0 the caller) instead of the caller\'s own setrlimit/getrlimit' },
    },
    outputs: { cur: 'value', max: 'value' },
  },
  weight: 0.3,
  execute(x): OpOutcome {
    if (x.has('pid')) {
      const get = x.n32('operation') === 1;
      const cur = x.v('cur');
      const r = x.proc.prlimitMemlock(x.s32('pid'), get ? undefined : { cur, max: x.has('max') ? x.v('max') : cur });
      if (typeof r === 'number') return { ret: r, outputs: {} };
      return { ret: 0, outputs: get ? { cur: r.cur, max: r.max } : {} };
    }
    if (x.n32('operation') === 1) {
      const r = x.proc.memlockLimit();
      if (typeof r === 'number') return { ret: r, outputs: {} };
      return { ret: 0, outputs: { cur: r.cur, max: r.max } };
    }
    const cur = x.v('cur');
    return { ret: x.proc.setMemlockLimit(cur, x.has('max') ? x.v('max') : cur), outputs: {} };
  },
  generate(g, c) {
    const rng = g.rng;
    if (rng.bool(0.25)) c.operation = 'GET';
    else {
      // Often a buffer's own length (or a page either side of it), so that the next map of it fits exactly or not.
      const bufs = g.ofKind('buf').filter((b) => b.len !== undefined);
      const cur = bufs.length > 0 && rng.bool(0.4) ? rng.pick(bufs).len! + rng.pick([-4096n, 0n, 0n, 4096n]) : rng.pick(MEMLOCK_LIMITS);
      c.cur = num(cur < 0n ? 0n : cur);
      // A hard limit of its own now and then: higher (EPERM without CAP_SYS_RESOURCE), or below the soft one (EINVAL).
      if (rng.bool(0.3)) c.max = num(rng.pick(MEMLOCK_LIMITS));
    }
    // prlimit() of another process now and then: a child, the main process, or no such pid (never a literal
    // pid that could name a process: the model's and the kernel's pids differ).
    if (rng.bool(0.2)) c.pid = rng.pick([...g.procs(), ...g.procs(), '$main', 0, 0x7fffffff, -1]);
    g.maybeProc(c);
    return c;
  },
  emitC(e) {
    // One top-level system call line (the C export arms a pending fail-nth right before it).
    const get = `(uint32_t)${e.v('operation')} == 1`;
    e.L('struct rlimit rl;');
    e.L('');
    e.L(`rl.rlim_cur = ${get} ? 0 : (rlim_t)${e.v('cur')};`);
    e.L(`rl.rlim_max = ${get} ? 0 : (rlim_t)${e.has('max') ? e.v('max') : e.v('cur')};`);
    if (e.has('pid')) e.L(`rc = sys_rc(${get} ? prlimit((pid_t)${e.v('pid')}, RLIMIT_MEMLOCK, NULL, &rl) : prlimit((pid_t)${e.v('pid')}, RLIMIT_MEMLOCK, &rl, NULL));`);
    else e.L(`rc = sys_rc(${get} ? getrlimit(RLIMIT_MEMLOCK, &rl) : setrlimit(RLIMIT_MEMLOCK, &rl));`);
    e.outs.cur = '(uint64_t)rl.rlim_cur';
    e.outs.max = '(uint64_t)rl.rlim_max';
  },
};

export const PROCESS_OPS: readonly OpModule[] = [fork, exit, fail_nth, setrlimit];
export const FILE_OPS: readonly OpModule[] = [open, close];
