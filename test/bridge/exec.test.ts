// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommufd-sim exec end to end: a real C program (test/bridge/progs) with the
 * shim preloaded talks to the model through the bridge server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BRIDGE_CRASH, countKtapLine, isStaticElf, runExec } from '../../src/bridge/exec.js';
import { parseMaps } from '../../src/bridge/real-process.js';
import { buildShim } from '../../src/bridge/shim-build.js';
import { EINVAL, ENXIO } from '../../src/base/errno.js';
import { PAGE_SIZE, VM_SHARED } from '../../src/mm/index.js';

const PROGS = join(import.meta.dirname, 'progs');
let dir: string;

function build(name: string): string {
  const out = join(dir, name);
  execFileSync('cc', ['-O1', '-Wall', '-o', out, join(PROGS, `${name}.c`)]);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-test-'));
});

/**
 * Run a check program (one "ok"/"FAIL" line per check, every capability, as root in the oracle VMs)
 * under each profile: every line ok, `lines` of them, the ones named among them, exit 0.
 */
async function passesUnder(name: string, profiles: readonly string[], lines: number, named: readonly string[], opts: { warnings?: boolean; args?: (profile: string) => string[] } = {}): Promise<void> {
  for (const profile of profiles) {
    const r = await runExec([build(name), ...(opts.args?.(profile) ?? [])], { profile, captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(out.filter((l) => !l.startsWith('ok '))).toEqual([]);
    for (const l of named) expect(out).toContain(`ok ${l}`);
    expect(out.length).toBe(lines);
    expect(r.status).toBe(0);
    if (opts.warnings === false) expect(r.warnings).toBe(0);
  }
}

const BOTH = ['latest', 'v6.12'] as const;

/**
 * A printing program (one of the oracle suite's compared ones) under each profile as root with every
 * capability: it ran to its last line, "done", with status 0; `expectLines` judges its output.
 */
async function printsUnder(name: string, expectLines: readonly string[] | ((out: string[]) => void)): Promise<void> {
  for (const profile of BOTH) {
    const r = await runExec([build(name)], { profile, captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(r.status).toBe(0);
    expect(out[out.length - 1]).toBe('done');
    if (typeof expectLines === 'function') expectLines(out);
    else for (const l of expectLines) expect(out).toContain(l);
  }
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exec: what the kernel selftests need', () => {
  it('fork, exec, emulated hugetlb, VmPin, fail-nth and debugfs knobs, the THP size', async () => {
    const prog = build('features');
    const r = await runExec([prog], { captureStdout: true, err: () => {}, caps: [] });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines).toContain('ok VmPin grows by the pinned 1 MiB');
    expect(lines).toContain('ok ACCESS_RW reads what was written to the file');
    expect(lines.some((l) => l.startsWith('ok after exec'))).toBe(true);
    expect(lines.length).toBe(36);
    expect(r.status).toBe(0);
    expect(r.warnings).toBe(0);
  });
});

describe('exec: device mappings', () => {
  it("mmap of a model device's pages shows the model's frames in the program", async () => {
    const prog = build('devmap');
    const r = await runExec([prog], {
      captureStdout: true,
      err: () => {},
      onServer: (server) => {
        const phys = server.machine.phys;
        const pfn = phys.allocFolio(9); // two contiguous frames (of a 2 MiB folio)
        const page = new Uint8Array(PAGE_SIZE);
        for (let pg = 0; pg < 2; pg++) {
          for (let i = 0; i < PAGE_SIZE; i++) page[i] = (pg * 16 + (i % 16)) & 0xff;
          phys.store(pfn + pg, 0, page, 0, PAGE_SIZE);
        }
        server.machine.registerDevice('/dev/vfio/bridge-test', {
          open: () => ({
            release() {},
            // a device handing out its two frames, shared mappings only (as iommufd_fops_mmap)
            mmap: (_p, vmFlags, pgoff, pages) => (!(vmFlags & VM_SHARED) ? -EINVAL : pgoff !== 0n || pages > 2 ? -ENXIO : { pfn }),
          }),
        });
      },
    });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines.length).toBe(5);
    expect(r.status).toBe(0);
  });

  it("the mock vIOMMU's mmap region: grow EFAULT, DONTUNMAP EINVAL, a move, a shrink, a fork and a second mapping each hold it until the last VMA goes, and every mapping of it is the same memory (all 35 checks pass on 7.2.13)", async () => {
    await passesUnder('viommu-mmap', ['latest'], 35, [
      'what the child wrote is in the parent\'s mapping (the same page)',
      'a write through the first one is read through the second',
      'mremap growing it: EFAULT (VM_DONTEXPAND)',
      'mremap with MREMAP_DONTUNMAP: EINVAL (VM_PFNMAP)',
      'mremap MREMAP_FIXED moves it: in_data at the new place',
      'mlock locks none of it (VmLck unchanged)',
      'the forked child reads in_data',
      'DESTROY after the shrink: still EBUSY',
      'DESTROY once no VMA holds the region',
    ]);
  });
});

describe('exec: static programs', () => {
  it('a statically linked program is refused with 127 and the reason, before it runs', async () => {
    const out = join(dir, 'basic-static');
    execFileSync('cc', ['-O1', '-static', '-o', out, join(PROGS, 'basic.c')]);
    expect(isStaticElf(out)).toBe(true);
    expect(isStaticElf(build('basic'))).toBe(false);
    expect(isStaticElf('/bin/sh')).toBe(false);
    let msg = '';
    const r = await runExec([out], { captureStdout: true, err: (t) => (msg += t) });
    expect(r.status).toBe(127);
    expect(r.stdout).toBe('');
    expect(msg).toMatch(/is statically linked: .*LD_PRELOAD/);
  });
});

/**
 * Build a checking program of progs/, run it under exec, and expect every line
 * "ok ...", `count` of them, the `named` ones among them, exit 0 and no WARN.
 */
async function expectAllOk(name: string, args: string[], count: number, named: string[]): Promise<void> {
  const r = await runExec([build(name), ...args], { captureStdout: true, err: () => {} });
  const lines = r.stdout.trim().split('\n');
  expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
  for (const n of named) expect(lines).toContain(`ok ${n}`);
  expect(lines.length).toBe(count);
  expect(r.status).toBe(0);
  expect(r.warnings).toBe(0);
}

describe('exec: descriptors and threads', () => {
  // the same program passes all 45 checks on the 7.2.13 and 6.12.95 oracle kernels (static build, run:fds)
  it("dup/dup2/dup3/F_DUPFD of model files share one open file; fail-nth is per thread; RLIMIT_NOFILE is a booted kernel's, not the host's", async () => {
    await expectAllOk('fds', [], 45, [
      'RLIMIT_NOFILE 1024, hard 4096',
      'F_DUPFD 1024 -> EINVAL',
      'DESTROY through the dup after closing the original',
      "ACCESS_RW through the dup'd access fd",
      "the other thread's fail-nth is untouched by this thread's call",
      "the other thread's IOAS_ALLOC fails (its first fault point)",
      'FIOCLEX on a model descriptor sets FD_CLOEXEC',
      'pread on an access fd -> ESPIPE (an anon inode)',
      'F_GETFL of an access fd: O_RDWR (anon_inode_getfile)',
      'FIONBIO(1): F_GETFL shows O_NONBLOCK on the dup',
    ]);
  });
});

describe('exec: vectored I/O and statx of model descriptors', () => {
  // the same program passes all 53 checks on the 7.2.13 and 6.12.95 oracle kernels (static build, run:iov)
  it('readv/writev/preadv/pwritev/preadv2 reach the model file, statx shows the model device, fchmod/fchown never reach /dev/null', async () => {
    // "7": the kernel generation the default profile (latest) models, for the anon-inode fchmod
    await expectAllOk('iov', ['7'], 53, [
      'readv of /dev/iommu, no segments -> EINVAL (checked before the iovecs)',
      'readv, empty segments then 10 bytes -> ESPIPE',
      'preadv2 with RWF_NOWAIT -> EOPNOTSUPP (no read_iter)',
      'statx: a misc character device 10:258, mode 0660',
      'fchmod of a fault fd (7.x EOPNOTSUPP, 6.12 0)',
      '/dev/null is still mode 0666',
    ]);
  });
});

describe('exec: waiting for events on model descriptors', () => {
  // the same program passes all 72 checks on the 7.2.13 and 6.12.95 oracle kernels (static build, run:events)
  it('epoll (level, one-shot, edge-triggered), poll, ppoll and select see a fault queue become readable; epoll refuses /dev/iommu; an event buffer that cannot be written is EFAULT, the event kept for the next wait', async () => {
    await expectAllOk('events', [], 72, [
      'epoll_ctl ADD of /dev/iommu -> EPERM (no poll)',
      'epoll_wait into an unmapped buffer -> EFAULT',
      'epoll_wait: the event is still there',
      'epoll_wait: EPOLLONESHOT spent now',
      'epoll_wait: EPOLLIN with the registered data',
      'epoll_wait: EPOLLONESHOT disarmed it, though still readable',
      'select: the queue readable, /dev/iommu readable and writable',
      'epoll_wait EPOLLET: the second wake-up is reported',
      'epoll_wait EPOLLET: still readable, but no new wake-up',
    ]);
  });
});

describe('exec: a small iommufd client', () => {
  it('gets the kernel answers, real fds and its own exit status (each answer waited for asleep)', async () => {
    const prog = build('basic');
    const r = await runExec([prog, '7'], { captureStdout: true, err: () => {}, spin: { us: 0 } });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines.length).toBe(19);
    expect(r.status).toBe(7);
    expect(r.crash).toBeUndefined();
    expect(r.warnings).toBe(0);
    expect(r.stats.ioctls).toBe(12);
  });

  it('the same answers when the program waits awake for each answer (the idle-machine path)', async () => {
    const prog = build('basic');
    const r = await runExec([prog, '7'], { captureStdout: true, err: () => {}, spin: { us: 200, always: true } });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines.length).toBe(19);
    expect(r.status).toBe(7);
    expect(r.stats.ioctls).toBe(12);
    const feats = await runExec([build('features')], { captureStdout: true, err: () => {}, caps: [], spin: { us: 200, always: true } });
    expect(feats.stdout.trim().split('\n').filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(feats.status).toBe(0);
  });

  it('the same answers when each short wait awake ends in OP_SLEEP (reply first or wake-up first)', async () => {
    // each reply 1 ms after its request: the shim's 1 µs awake runs out even when the host runs the woken server first
    const r = await runExec([build('basic'), '7'], { captureStdout: true, err: () => {}, spin: { us: 1, always: true, replyAfterUs: 1000 } });
    expect(r.stdout.trim().split('\n').filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(r.status).toBe(7);
    expect(r.stats.ioctls).toBe(12);
    expect(r.stats.byOp?.SLEEP?.n ?? 0).toBeGreaterThan(0);
  });

  it('is not vacuous: a wrong model answer makes the program fail', async () => {
    const prog = build('basic');
    const r = await runExec([prog], { captureStdout: true, err: () => {}, sabotage: 'ioas-alloc-id' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL IOAS_MAP malloc memory/m);
  });

  it('reports a server failure and never passes', async () => {
    const prog = build('basic');
    const errs: string[] = [];
    const r = await runExec([prog], { captureStdout: true, err: (t) => errs.push(t), sabotage: 'crash-on-ioctl' });
    expect(r.status).toBe(EXIT_BRIDGE_CRASH);
    expect(r.crash?.message).toMatch(/deliberate server failure/);
    expect(errs.join('')).toMatch(/bridge server failed/);
  });
});

describe('exec: credentials', () => {
  it("setuid and its kin, PR_SET_KEEPCAPS and capset decide who pays for a pin and when RLIMIT_MEMLOCK says ENOMEM; getrlimit and prlimit read the model's limits, above the host's hard limit too (the checks pass on 6.12.95 and 7.2.13 as root)", async () => {
    await passesUnder('creds', BOTH, 37, ['getrlimit reads 1 GiB, hard 2 GiB', "prlimit's old limits: 1 GiB, hard 2 GiB", 'prlimit64 system call reads 64 KiB, hard 64 KiB', "euid 1000 without CAP_IPC_LOCK: 1 MiB over root's limit -> ENOMEM", 'keep-caps: permitted kept, effective empty', 'VmPin grew by the 32 KiB charged', "the child's 4 KiB: its user is at the limit -> ENOMEM"], { warnings: false });
  });
});

describe('exec: prlimit of another process', () => {
  it("a parent sets its forked child's RLIMIT_MEMLOCK right after fork(), before the child says HELLO: the child's getrlimit and IOAS_MAP charge see it; EINVAL, ESRCH, another user's EPERM, a reaped child's ESRCH; a bad pointer is EFAULT, not a crash of the shim: the new limits' before the task is looked up, the old ones' after the change; a thread's ID names its process (33 checks, all passing on 6.12.95 and 7.2.13 as root)", async () => {
    await passesUnder('prlimit', BOTH, 33, [
      "prlimit of a thread's ID sets its process's limits, answering the old",
      "... which are the caller's own: 112 KiB, hard 128 KiB",'new limits at a bad pointer, no such process -> EFAULT', "the child's old limits to a bad pointer -> EFAULT", 'getrlimit into read-only memory -> EFAULT', 'setrlimit from a bad pointer -> EFAULT', 'setrlimit with no limits (NULL) does nothing', '... its new limits were set before that', 'a child\'s getrlimit reads the 1 GiB, hard 2 GiB it inherited', "prlimit sets the child's to 16 KiB, hard 32 KiB, and answers the old", 'the prlimit64 system call reads the new ones', 'child: getrlimit reads what its parent set, 16 KiB, hard 32 KiB', 'child: 4 KiB more -> ENOMEM', 'child: prlimit of its root parent, set -> EPERM', 'no such process -> ESRCH', 'prlimit of the reaped child -> ESRCH'], { warnings: false });
  });
});

describe('exec: CHANGE_PROCESS across a privilege drop', () => {
  it('a child that dropped to uid 1000 takes the pins over and pays for its own maps (7.2.13: every check passes; 6.12 has no CHANGE_PROCESS)', async () => {
    await passesUnder('change_process_uid', ['latest'], 18, ['child: VmPin stays 0 (account mode NONE keeps pinned_vm on the old mm)', 'child: 128 KiB more is over its limit -> ENOMEM']);
    const old = await runExec([build('change_process_uid')], { profile: 'v6.12', captureStdout: true, err: () => {}, caps: 'all' });
    expect(old.stdout).toMatch(/^FAIL child: CHANGE_PROCESS \(got -1, errno 25\)$/m);
    expect(old.stdout.split('\n').filter((l) => l.startsWith('FAIL')).length).toBe(11);
  });
});

describe('exec: a live update through execve (cpr-exec)', () => {
  it('the new image keeps the iommufd and the memfd, starts at VmPin 0, and CHANGE_PROCESS moves pinned_vm (7.2.13: 42 checks; 6.12.95: the 34 without MAP_FILE and CHANGE_PROCESS)', async () => {
    await passesUnder('cpr', ['latest'], 42, [
      'CHANGE_PROCESS with an anonymous area -> EINVAL',
      'VmPin stays 0 after CHANGE_PROCESS (NONE: pinned_vm left on the old mm)',
      'VmPin after unmap: -512 KiB printed unsigned',
      'VmPin 512 KiB after CHANGE_PROCESS',
    ]);
    await passesUnder('cpr', ['v6.12'], 34, ['CHANGE_PROCESS: ENOTTY', 'VmPin still 0 (the old mm paid for it)', 'the memfd keeps its bytes']);
  });
});

describe('exec: mmap of files the model does not know', () => {
  it('the file is checked before the address and a refused MAP_FIXED leaves the pinned buffer it named as it was; MAP_SHARED_VALIDATE of hugetlb (32 checks, all passing on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('mmap-files', BOTH, 32, [
      'MAP_FIXED|MAP_HUGETLB without MAP_ANONYMOUS, fd -1: EBADF',
      'MAP_FIXED of a pipe: ENODEV',
      'MAP_FIXED writable and shared of a read-only open: EACCES',
      'MAP_FIXED_NOREPLACE of a pipe over the buffer: EEXIST before ENODEV',
      "MD_CHECK_MAP: the domain maps the buffer's own pages",
      'MD_CHECK_REFS: still pinned once each',
      'then MAP_FIXED there, fd -1: EBADF again (no huge mapping was left)',
      'MAP_SHARED_VALIDATE|MAP_HUGETLB|MAP_HUGE_2MB: maps',
      'and with MAP_SYNC, which hugetlbfs does not support: EOPNOTSUPP',
    ]);
  });
});

describe('exec: MADV_FREE of pinned memory', () => {
  it('reclaim (MADV_PAGEOUT) drops the clean unpinned pages and keeps the pinned ones for the CPU and the device (24 checks, all passing on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('lazyfree', BOTH, 24, [
      'pinned after MADV_FREE: kept for the CPU',
      'a pinned clean page keeps its bytes for the CPU',
      'and for the device',
      'the unpinned clean pages were dropped: zeros',
      'unpinned now, but no longer lazily free (reclaim set them swap-backed): kept',
    ]);
  });
});

describe('exec: madvise advices that set VMA flags', () => {
  it('RANDOM, SEQUENTIAL, DONTDUMP split a VMA (maps, a growing mremap: EFAULT), NORMAL and DODUMP merge it back; hugetlb DODUMP and DOFORK (16 checks, all passing on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('madvise-flags', BOTH, 16, ['split in three', 'a growing mremap of the whole range: EFAULT', 'merged into one again', 'two VMAs', 'MADV_DODUMP of it: hugetlb is exempt']);
  });
});

describe('exec: mseal', () => {
  it('argument checks, a sealed VMA of its own (sl in smaps), EPERM for munmap, mprotect, mremap, MAP_FIXED and discarding read-only memory; pins and forks (35 checks, all passing on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('mseal', BOTH, 35, ['a range running past the mapping: ENOMEM', 'a VMA of their own', 'the VMA it starts in was split all the same', 'sl in smaps for them alone', 'munmap of the whole mapping: EPERM', 'a MAP_FIXED over it: EPERM', 'MADV_DONTNEED of sealed read-only memory: EPERM', 'the domain maps them', "the child's copies are sealed"], { warnings: false });
  });
});

describe('exec: SCM_RIGHTS', () => {
  it('an iommufd, a memfd and a pipe sent over a unix socket: the receiver maps through the model file and pays for its pins; the sender may close at once; the file comes back', async () => {
    await passesUnder('scm', ['latest'], 27, ['child: IOAS_MAP_FILE of the received memfd', 'child: its VmPin holds the 64 KiB it pinned', 'child: the pipe is still a pipe', 'parent: 96 KiB were mapped'], { warnings: false });
  });
});

describe('exec: /proc/self/pagemap', () => {
  it("the model's page tables answer it, the pages the program's CPU touched included: the checks that pass on 6.12.95 and 7.2.13", async () => {
    // the host kernel answered these two wrongly (it has no pin on the page, and no hugetlb folio behind MAP_HUGETLB)
    await passesUnder('pagemap', BOTH, 45, ['pinned page while the child lives: still exclusive (the child got a copy)', 'hugetlb written at its start: page 5 present, exclusive']);
  });
});

describe('exec: /proc/self/smaps', () => {
  it("the model's hugetlb VMAs: huge page size, Private_/Shared_Hugetlb, no Rss, VmFlags; the checks that pass on 6.12.95 and 7.2.13", async () => {
    await passesUnder('smaps', BOTH, 19, ['written once: Private_Hugetlb 2048 kB', 'mapped by both: Shared_Hugetlb 2048 kB', 'status: HugetlbPages counts each mapping of a huge page']);
  });

  it("private anonymous VMAs count the model's pages, with the program's own touches: THP `always`, the huge zero page, fork's sharing and each side's copy, mlock, a THP split by MADV_DONTNEED, munmap or mprotect of part, a pin of pages read before; meminfo's AnonHugePages, status's VmRSS and RssAnon, smaps_rollup (the checks that pass on 6.12.95 and 7.2.13)", async () => {
    const both = [
      'a THP written: status VmRSS and RssAnon, smaps_rollup Rss, Pss_Anon and AnonHugePages 2048 kB more',
      'one byte written: a THP',
      'meminfo AnonHugePages: the THP both sides of the fork map counted once (4096 kB with the first)',
      'meminfo AnonHugePages: a split THP no longer counts',
      'a read: the huge zero page, counted nowhere',
      'child: after writing one, four shared',
      'parent: after writing one too, three shared',
      'MADV_DONTNEED of one page of a THP: split, 2044 kB left',
      'munmap of half a THP: the other half stays mapped',
      'MAP_FIXED over half a THP: the other half stays mapped',
    ];
    await passesUnder('smaps-anon', ['v6.12'], 27, [...both, '6.12: the huge zero PMD split, each page copied']);
    await passesUnder('smaps-anon', ['latest'], 27, [...both, "7.x: a THP in the huge zero page's place"]);
  });
});

describe('exec: maps', () => {
  it("a hugetlb mapping's line names its hugetlbfs file (/anon_hugepage, /memfd:NAME), device, inode and offset, in maps and smaps alike (the checks that pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('maps-hugetlb', BOTH, 18, ['MAP_HUGETLB: the path is /anon_hugepage (deleted)', 'the path starts in column 73', "smaps's header line is the maps line", 'both name the same inode of the same device', 'the same hugetlbfs device as the anonymous one, another inode']);
  });
});

describe('exec: raw system calls', () => {
  it("syscall(2) of what a wrapper follows reaches the model as the wrapper would: openat and ioctl of /dev/iommu, dup/dup3/F_DUPFD_CLOEXEC and close, a munmap that makes a later pinning map EFAULT, a MADV_DONTNEED that makes the pin take a zeroed page, close_range(3, ~0U) that closes the model's descriptors and not the bridge; closefrom() and fclose() of a stream over /dev/iommu, which close inside libc (all 34 checks pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('rawcalls', BOTH, 34, [
      'IOAS_ALLOC through syscall(SYS_ioctl)',
      'IOAS_ALLOC on the closed descriptor',
      'descriptor 50 is close-on-exec',
      'IOAS_MAP of the unmapped pages',
      'page 5 reads zeros through the IOAS',
      'IOAS_ALLOC on descriptor 50 after close_range',
      'IOAS_ALLOC in the new context: its first ID',
      'IOAS_ALLOC after closefrom(3)',
      "IOAS_ALLOC on the stream's descriptor: a new context",
      'IOAS_ALLOC after fclose',
    ]);
  });
});

describe('exec: bad pointers', () => {
  it("a path, struct or buffer at an unmapped address, NULL or read-only memory is the kernel's EFAULT (a path with no NUL inside PATH_MAX ENAMETOOLONG, a NULL limit to setrlimit nothing), never a crash of the program in the shim; the whole output is compared with 6.12.95's and 7.2.13's by the oracle suite", async () => {
    await printsUnder('badptr', [
      'open(BAD, O_RDWR) -> -1 Bad address',
      'open(longpath, O_RDWR) -> -1 File name too long',
      "open(the path ending at the page's end) -> 1 ",
      'stat("/dev/iommu", NULL) -> -1 Bad address',
      'stat("/dev/iommu", RO) -> -1 Bad address',
      'fstat(fd, BAD) -> -1 Bad address',
      'readlink(link, RO, 10) -> -1 Bad address',
      'memfd_create(BAD, 0) -> -1 Bad address',
      'getrlimit(RLIMIT_MEMLOCK, BAD) -> -1 Bad address',
      'syscall(SYS_setrlimit, RLIMIT_MEMLOCK, NULL) -> -1 Bad address',
      'poll(BAD, 1, 0) -> -1 Bad address',
      'ppoll(BAD, 1, NULL, NULL) -> -1 Bad address',
      'select(fd + 1, &rs, BAD, NULL, &z) -> -1 Bad address',
      'read(s, BAD, 100) -> -1 Bad address',
      'write(fn, BAD, 2) -> -1 Bad address',
      'pread(pm, BAD, 8, 0) -> -1 Bad address',
    ]);
  });
});

describe('exec: the program break', () => {
  it("a heap sbrk() grew, mapped with a mock domain: shrunk away under the pin, the range is gone (MD_CHECK_MAP, MD_CHECK_REFS and ACCESS_RW's copy EFAULT) while the domain keeps the pinned page; grown again, it is new zeroed pages (MD_CHECK_MAP EINVAL); the oracle suite compares the whole output with 6.12.95's and 7.2.13's", async () => {
    await printsUnder('brk', (out) => {
      expect(out.slice(11, 20)).toEqual([
        'sbrk -16 pages -> 0 0',
        'MD_CHECK_REFS 0 of the gone range -> -1 14',
        'ACCESS_RW read of the gone range -> -1 14',
        'byte read -> 17 0',
        'MD_CHECK_MAP of the gone range -> -1 14',
        'IOAS_MAP of the gone range -> -1 22',
        'sbrk 16 pages again -> 0 0',
        'a byte of the new break -> 0 0',
        'MD_CHECK_MAP against the new pages -> -1 22',
      ]);
    });
  });
});

describe('exec: a signal during a wait', () => {
  it('poll, ppoll, select and epoll_wait of an empty fault queue end with EINTR when a handler runs, SA_RESTART or not; a blocked signal does not end the wait, and ppoll\'s own mask lets a pending one in at once (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('pollintr', (out) => {
      expect(out.slice(1, 9)).toEqual([
        'poll of an empty fault queue, a signal after 100 ms -> -1 Interrupted system call hits 1',
        'ppoll likewise -> -1 Interrupted system call hits 2',
        'select likewise -> -1 Interrupted system call hits 3',
        'poll with SA_RESTART -> -1 Interrupted system call hits 4',
        'EPOLL_CTL_ADD 0',
        'epoll_wait with SA_RESTART -> -1 Interrupted system call hits 5',
        'ppoll with SIGALRM blocked -> 0  hits 5',
        'ppoll letting the pending SIGALRM in -> -1 Interrupted system call hits 6',
      ]);
    });
  });
});

describe('exec: file operations on model files', () => {
  it("fstatfs of an access or a fault queue is the anon inode filesystem's, of /dev/iommu devtmpfs'; sendfile into /dev/iommu is EINVAL (no splice_write), not bytes the /dev/null placeholder took (the oracle suite compares all 156 lines with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('fdops', (out) => {
      const after = (head: string, n: number): string[] => out.slice(out.indexOf(head) + 1, out.indexOf(head) + 1 + n);
      expect(out.filter((l) => l.startsWith('  f_type'))).toEqual(['  f_type 1021994', '  f_type 9041934', '  f_type 1021994', '  f_type 9041934']);
      expect(after('copy_file_range and sendfile between a memfd and /dev/iommu', 5).slice(3)).toEqual(['sendfile memfd -> iommu of 7 -> -1 22', 'sendfile iommu -> memfd of 3 -> -1 22']);
    });
  });
});

describe('exec: model files opened again through /proc/self/fd', () => {
  it("/dev/iommu's link opens a new iommufd context (its first IOAS is 1 again), the VFIO container's a new container; a fault queue's or an access's, an anonymous inode, is ENXIO (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('fdreopen', [
      "the reopened one's first IOAS: 1",
      "the first's next IOAS: 3",
      'reopen a fault queue -> -1 6',
      'reopen an access -> -1 6',
      'VFIO_GET_API_VERSION on it -> 0 0',
    ]);
  });
});

describe('exec: the fail-nth file', () => {
  it("parses a write as kstrtouint_from_user() (one '+', no blanks, 34 bytes up to a NUL, the whole count returned), does not seek, names the caller's own threads only, and loses one count to each walk through /proc/self (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('failnth', [
      'write " 5"               -> -1 22, reads 0',
      'write "+0x10"            -> 5 0, reads 16',
      'write "1\\0x"             -> 3 0, reads 1',
      'write "4294967296"       -> -1 34, reads 0',
      'write 34 zeros + "5"     -> 35 0, reads 0',
      'lseek SEEK_SET -> -1 29',
      'open task/1/fail-nth -> -1 2',
      'armed 9',
      'open /proc/thread-self/fail-nth -> ok, fail-nth 8',
      'open /proc/self/status -> ok, fail-nth 7',
      'open /proc/self/cmdline -> ok, fail-nth 6',
      'open /proc/PID/status -> ok, fail-nth 6',
      'fopen /proc/self/status -> ok, fail-nth 5',
      'IOAS_ALLOC after the walk took the armed count -> ok',
    ]);
  });
});

describe('exec: capabilities across execve()', () => {
  it('root gets its bounding set back as permitted and effective (an IOAS_MAP past RLIMIT_MEMLOCK passes again), a task that left UID 0 with keep-caps has none, and keep-caps is cleared (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('execcaps', [
      'before: uids 0 0 0, CAP_IPC_LOCK effective 0 permitted 0, keep-caps 1',
      'before: IOAS_MAP of 32 pages under a 16-page limit -> -1 12, VmPin 0 kB',
      'root: uids 0 0 0, CAP_IPC_LOCK effective 1 permitted 1, keep-caps 0',
      'root: IOAS_MAP of 32 pages under a 16-page limit -> 0 0, VmPin 128 kB',
      'user: uids 1000 1000 1000, CAP_IPC_LOCK effective 0 permitted 0, keep-caps 0',
      'user: IOAS_MAP of 32 pages under a 16-page limit -> -1 12, VmPin 0 kB',
    ]);
  });
});

describe('exec: a child killed by a signal', () => {
  it('has no address space left once its parent can see it die (a pidfd polls readable), reaped or not: a domain attach cannot pin what it mapped (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('sigkill', [
      "child's IOAS_MAP -> 0",
      'its pidfd polls readable -> 1 0',
      'MOCK_DOMAIN over its area, not reaped -> -1 14',
      'MOCK_DOMAIN over its area, reaped -> -1 14',
      'MOCK_DOMAIN with nothing mapped -> 0 0',
    ]);
  });
});

describe("exec: glibc's clone() with a fork's flags", () => {
  it("is a process of its own in the model: its map pins against its own VmPin, its close leaves the parent's descriptor, its return is its exit status (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('clone', [
      'child: IOAS_MAP of 4 pages -> 0 0',
      'child: VmPin 16 kB',
      'child exited 1, status 3',
      'parent: VmPin 0 kB, its bytes 1',
      'they hold 0x5a',
      'parent: its iommufd still works (IOAS_ALLOC) -> 6 0',
    ]);
  });
});

describe('exec: fstat and fdinfo of the files a program holds', () => {
  it("a fault queue's fd is the shared anon inode (an eventfd's number, device and times), /dev/iommu has its node's times, and fdinfo shows a memfd's and a tmpfs file's position (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('fdstat', [
      'fault fd: mode 0600, nlink 1, uid 0, size 0, times set 1',
      "the eventfd's inode: same number 1, same device 1, same times 1",
      '/dev/iommu: mode 020000, times set 1',
      'memfd after lseek pos:\t291',
      'memfd after read pos:\t295',
      'tmpfs file after write pos:\t6',
    ]);
  });
});

describe('exec: an epoll registration outlives the descriptor it was added by', () => {
  it("keeps reporting with its data while a dup holds the file, is out of reach of the closed number, and ends at the file's last close (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('epolldup', [
      'after it: 1 ready, data sum 11, events 0x4',
      'MOD by the closed number -> -1 9',
      'MOD by the dup (never added) -> -1 2',
      'both: 2 ready, data sum 33, events 0x4',
      'after the last close: 1 ready, data sum 22, events 0x4',
      'none left: 0 ready, data sum 0, events 0x0',
    ]);
  });
});

describe("exec: the selftest exporter's dma-buf file (7.x)", () => {
  it("has an inode of its own (st_blocks of its size), takes a name of under 32 bytes (the link and fdinfo show it), and checks SYNC's struct and flags; the sync-file ioctls are ENOTTY without CONFIG_SYNC_FILE (the oracle suite compares the output with 7.2.13's)", async () => {
    const r = await runExec([build('dmabuf')], { profile: 'latest', captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(r.status).toBe(0);
    expect(out[out.length - 1]).toBe('done');
    for (const l of [
      'size 12288, blocks 24, blksize 4096, mode 0600',
      'link /dmabuf:abc',
      'fdinfo name:\tabc',
      'SET_NAME of 31 bytes -> 0 0',
      'SET_NAME of 32 bytes -> -1 22',
      'SET_NAME from address 8 -> -1 14',
      'SYNC flags 0x0 -> -1 22',
      'SYNC flags 0x5 -> 0 0',
      'SYNC flags 0x8 -> -1 22',
      'SYNC from address 8 -> -1 14',
      'EXPORT_SYNC_FILE -> -1 25',
    ])
      expect(out).toContain(l);
  });
});

describe('exec: the [vdso] text behind IOMMU_IOAS_MAP', () => {
  it("is exec's private read/exec mapping with VM_MAYWRITE: a read pin copies it (VmPin 4 kB, the device reads its bytes), a writable map and [vvar] are EFAULT (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('vdso', [
      'map its first page readable -> 0 0',
      'VmPin 4 kB',
      'map it writeable too -> -1 14',
      'map the page below it ([vvar]) -> -1 14',
      "the device reads the vDSO's bytes: 1, an ELF header: 1",
      'unmapped 0x1000, VmPin 0 kB',
    ]);
  });
});

describe('exec: HugePages_Rsvd around the zap of private hugetlb pages', () => {
  it('a zapped private folio gives its reservation back when freed, so an IOAS pin holds the unsigned count below zero until the unmap; a fork child and a shared mapping restore none (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('hugeresv', [
      'its reservation back: free 128, reserved 2 (sysfs 2)',
      'one left: free 127, reserved 0 (sysfs 0)',
      "the child's MADV_DONTNEED of a shared folio: free 127, reserved 1 (sysfs 1)",
      'pinned, unmapped: free 126, reserved 18446744073709551614 (sysfs 18446744073709551614)',
      'pinned, zapped: free 127, reserved 0 (sysfs 0)',
      'touched again: free 126, reserved 18446744073709551615 (sysfs 18446744073709551615)',
      'unpinned: free 127, reserved 0 (sysfs 0)',
      'shared, zapped: free 127, reserved 0 (sysfs 0)',
    ]);
  });
});

describe('exec: fault cookies after a response with cookie 0', () => {
  it('erases the zero entry that kept 0 out of the ALLOC1 response xarray (EINVAL all the same), so 0 is the lowest free cookie from then on, after the queue empties too; on an empty queue it changes nothing (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('faultcookie', (out) =>
      expect(out.filter((l) => l.startsWith('read') || l.startsWith('respond'))).toEqual([
        'respond to cookie 0 -> -1 22',
        'read group 1 -> 40, cookie 1',
        'read group 2 -> 40, cookie 2',
        'respond to cookie 2 -> 8 0',
        'read group 3 -> 40, cookie 2',
        'respond to cookie 0 -> -1 22',
        'read group 4 -> 40, cookie 0',
        'respond to cookie 0 -> 8 0',
        'respond to cookie 1 -> 8 0',
        'respond to cookie 2 -> 8 0',
        'read group 5 -> 40, cookie 0',
        'respond to cookie 0 -> 8 0',
        'read group 6 -> 40, cookie 0',
        'read group 7 -> 40, cookie 1',
        'respond to cookie 0 -> 8 0',
        'respond to cookie 1 -> 8 0',
        'read group 8 -> 40, cookie 0',
      ]),
    );
  });
});

describe('exec: writes to the hugetlb pool size', () => {
  it("parse as the kernel does: the sysfs file with kstrtoul() (no blanks, ERANGE past 64 bits, up to a NUL), the sysctl with proc_doulongvec_minmax() (blanks around, base from the prefix, the tail after the blanks not taken), an empty write 0 (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('poolwrite', [
      'sysfs " 5" -> -1 22, now 2',
      'sysfs "99999999999999999999" -> -1 34, now 2',
      'sysfs "7\\0x" -> 3 0, now 7',
      'sysfs "" -> 0 0, now 10',
      'sysctl "0x8 " -> 4 0, now 8',
      'sysctl "011" -> 3 0, now 9',
      'sysctl "5 x" -> 2 0, now 5',
      'sysctl "123456789012345678901" -> -1 22, now 5',
      'sysctl "3\\v" -> -1 22, now 5',
    ]);
  });
});

describe('exec: a signal handler that calls into a model file', () => {
  it('runs between the calls the shim forwards, never inside one: a SIGALRM storm whose handler reads the fault queue while main allocates and destroys IOASes neither hangs nor fails a call (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('sigstorm', ['failed calls 0, the handler ran 20 times: 1, each of its reads 0 bytes: 1']);
  });
});

describe('exec: processes and images made past libc', () => {
  it('a raw clone3, syscall(SYS_fork) and _Fork() are forks for the model, a raw execve and fexecve() keep the iommufd, close_range() backwards or with an unknown flag is EINVAL (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('rawproc', (out) =>
      expect(out.filter((l) => l.includes('IOAS_ALLOC') || l.startsWith('close_range'))).toEqual([
        'parent: IOAS_ALLOC -> 0 0, id 1',
        'raw clone3 child: IOAS_ALLOC -> 0 0, id 2',
        'parent: IOAS_ALLOC -> 0 0, id 3',
        'raw fork child: IOAS_ALLOC -> 0 0, id 4',
        '_Fork child: IOAS_ALLOC -> 0 0, id 5',
        'parent: IOAS_ALLOC -> 0 0, id 6',
        'close_range(5, 4, 0) -> -1 22',
        'close_range(3, 3, 1) -> -1 22',
        'parent, its iommufd still open: IOAS_ALLOC -> 0 0, id 7',
        'raw execve: IOAS_ALLOC -> 0 0, id 8',
        'fexecve: IOAS_ALLOC -> 0 0, id 9',
      ]),
    );
  });
});

describe('exec: fail-nth and the xarray stores made under a lock', () => {
  it("count each node as a point that fires without failing the call (GFP_NOWAIT, made again with GFP_KERNEL), and the fault queue's file as two allocations with no point for its descriptor (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('failnthxa', (out) => {
      expect(out.slice(0, 8)).toEqual([
        "FAULT_QUEUE_ALLOC, the context's first object n=1 -> -1 12, fired 1",
        "FAULT_QUEUE_ALLOC, the context's first object n=2 -> 0 0, fired 1",
        "FAULT_QUEUE_ALLOC, the context's first object n=3 -> -1 12, fired 1",
        "FAULT_QUEUE_ALLOC, the context's first object n=4 -> 0 0, fired 0",
        'FAULT_QUEUE_ALLOC n=1 -> -1 12, fired 1',
        'FAULT_QUEUE_ALLOC n=2 -> -1 12, fired 1',
        'FAULT_QUEUE_ALLOC n=3 -> -1 12, fired 1',
        'FAULT_QUEUE_ALLOC n=4 -> 0 0, fired 0',
      ]);
    });
  });
});

describe('exec: fail-nth and the nodes a kernel xarray makes', () => {
  it("pass a point per node of an IOAS's access list, an area's pinned PFNs, a PASID's three xarrays and the mmap regions' maple tree, each firing without failing the call (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    const r = await runExec([build('failnthnodes')], { profile: 'latest', captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(r.status).toBe(0);
    expect(out[out.length - 1]).toBe('done');
    const sweep = (what: string): string[] => out.filter((l) => l.startsWith(`${what} n=`)).map((l) => l.slice(what.length + 1));
    // The IOAS's first access takes list id 0 (the head): no node; the second, id 1: one.
    expect(sweep("CREATE_ACCESS, the IOAS's first").slice(4)).toEqual(['n=5 -> -1 2, fired 1', 'n=6 -> 0 0, fired 0']);
    expect(sweep('CREATE_ACCESS beside another').slice(4)).toEqual(['n=5 -> -1 2, fired 1', 'n=6 -> 0 0, fired 1', 'n=7 -> 0 0, fired 0']);
    // pages_to_xarray(): its own point (EINVAL), then page 2's node; page 0 of an empty array needs none.
    expect(sweep("ACCESS_PAGES of the area's page 2").slice(2)).toEqual(['n=3 -> -1 22, fired 1', 'n=4 -> 0 0, fired 1', 'n=5 -> -1 12, fired 1', 'n=6 -> 0 0, fired 0']);
    expect(sweep("ACCESS_PAGES of the area's page 0").slice(2)).toEqual(['n=3 -> -1 22, fired 1', 'n=4 -> -1 12, fired 1', 'n=5 -> 0 0, fired 0']);
    expect(sweep("VIOMMU_ALLOC with the selftest's data").slice(5)).toEqual(['n=6 -> 0 0, fired 1', 'n=7 -> 0 0, fired 0']);
    expect(sweep('HW_QUEUE_ALLOC on page 2').slice(6)).toEqual(['n=7 -> -1 22, fired 1', 'n=8 -> -1 5, fired 1', 'n=9 -> -1 5, fired 0']);
    // pasid_attach holds the RID at 0: PASID 100 takes two levels and a leaf (3); the attachment (ENOMEM), its
    // device array (1), the handle (ENOMEM), the iommu group's pasid_array (3 more).
    expect(sweep('PASID_ATTACH').slice(2)).toEqual([
      'n=3 -> 0 0, fired 1',
      'n=4 -> 0 0, fired 1',
      'n=5 -> 0 0, fired 1',
      'n=6 -> -1 12, fired 1',
      'n=7 -> 0 0, fired 1',
      'n=8 -> -1 12, fired 1',
      'n=9 -> 0 0, fired 1',
      'n=10 -> 0 0, fired 1',
      'n=11 -> 0 0, fired 1',
      'n=12 -> 0 0, fired 0',
    ]);
  });
});

describe("exec: fail-nth and the 6.12 mock domain's xarray", () => {
  it("pass a point per node mock->pfns makes for a contiguous 2 MiB (16 leaves, a node over them, the root), each firing without failing HWPT_ALLOC (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    const r = await runExec([build('failnthmock')], { profile: 'v6.12', captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(r.status).toBe(0);
    expect(out[out.length - 1]).toBe('done');
    const sweep = (what: string): string[] => out.filter((l) => l.startsWith(`${what} n=`)).map((l) => l.slice(what.length + 1));
    const tolerated = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => `n=${from + k} -> 0 0, fired 1`);
    const first = sweep('HWPT_ALLOC over 2 MiB');
    // n=10: the one map_pages call of the run (mock_domain_map_pages' own point); 11..28: its 18 nodes
    expect(first.slice(9)).toEqual(['n=10 -> -1 2, fired 1', ...tolerated(11, 28), 'n=29 -> 0 0, fired 0']);
  });
});

describe('exec: fail-nth where a failed allocation is not the call\'s failure, or is one it makes on its way', () => {
  it("a kvzalloc past PAGE_SIZE falls back to vmalloc, a replace onto another IOAS asks for reserved regions (EINVAL), a pin's first anonymous fault makes the VMA's anon_vma (ENOMEM twice), and 7.2's GET_DIRTY_BITMAP drops the bits of a bitmap page it cannot pin (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('failnthpath', [
      'ACCESS_RW of 4096 bytes n=1 -> -1 12, fired 1',
      'ACCESS_RW of 4097 bytes n=1 -> 0 0, fired 1',
      'ACCESS_PAGES of 512 pages n=1 -> -1 12, fired 1',
      'ACCESS_PAGES of 513 pages n=1 -> 0 0, fired 1',
      "MOCK_DOMAIN_REPLACE onto the other IOAS's HWPT n=3 -> -1 22, fired 1",
      "MOCK_DOMAIN_REPLACE onto the other IOAS's HWPT n=5 -> 0 0, fired 0",
      "MOCK_DOMAIN_REPLACE onto the same IOAS's other HWPT n=3 -> -1 12, fired 1",
      "MOCK_DOMAIN_REPLACE onto the same IOAS's other HWPT n=4 -> 0 0, fired 0",
      'ACCESS_PAGES of a page never touched n=4 -> -1 12, fired 1',
      'ACCESS_PAGES of a page never touched n=5 -> -1 12, fired 1',
      'ACCESS_PAGES of a page never touched n=6 -> -1 22, fired 1',
      'ACCESS_PAGES of a page written before n=4 -> -1 22, fired 1',
      'word 0 0',
    ]);
  });
});

describe('exec: fail-nth over memory of each kind, made fresh for every try', () => {
  it("a kernel copy of 8 bytes or more takes a fault out of memory again (7 bytes: EFAULT), a shmem page's page-cache node fires without failing, a THP fault enters khugepaged's list while its order-9 folio is no fault point, and a private hugetlb write fault asks its reserve map for a file_region entry again after mapping (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('failnthmem', [
      'ACCESS_RW writing 7 bytes n=2 -> -1 14, fired 1',
      'ACCESS_RW writing 8 bytes n=2 -> 0 0, fired 1',
      'ACCESS_RW writing 64 bytes n=3 -> 0 0, fired 1',
      'ACCESS_PAGES of 1 shmem pages n=7 -> 0 0, fired 0',
      'ACCESS_PAGES of 3 shmem pages n=4 -> 0 0, fired 1',
      'ACCESS_PAGES of 3 shmem pages n=9 -> 0 0, fired 0',
      'ACCESS_PAGES over THP-eligible memory n=6 -> 0 0, fired 1',
      'ACCESS_PAGES over THP-eligible memory n=7 -> -1 22, fired 1',
      'ACCESS_PAGES over THP-eligible memory n=10 -> 0 0, fired 0',
      // n=4, 5: the VMA's anon_vma; n=6: the write fault's second file_region entry (a read fault asks none)
      'ACCESS_PAGES of private hugetlb never touched n=6 -> -1 12, fired 1',
      'ACCESS_PAGES of private hugetlb never touched n=7 -> -1 22, fired 1',
      'ACCESS_PAGES of private hugetlb never touched n=11 -> 0 0, fired 0',
      'ACCESS_PAGES of private hugetlb never touched, mapped read-only n=6 -> -1 22, fired 1',
      'ACCESS_PAGES of private hugetlb never touched, mapped read-only n=10 -> 0 0, fired 0',
      // the copy of a page-cache folio: its entry asked once, before the copy (the first copy emptied the cache)
      "ACCESS_PAGES copying a private hugetlb memfd's second page n=4 -> -1 12, fired 1",
      "ACCESS_PAGES copying a private hugetlb memfd's second page n=5 -> -1 22, fired 1",
      "ACCESS_PAGES copying a private hugetlb memfd's second page n=9 -> 0 0, fired 0",
    ]);
  });
});

describe('exec: RLIMIT_NOFILE over model files', () => {
  it('an open of /dev/iommu, a dup and the fault queue an ioctl installs are EMFILE at the limit, F_DUPFD from the limit EINVAL, dup2 past it EBADF; one descriptor closed, the fault queue takes it (the oracle suite compares the output with 6.12.95\'s and 7.2.13\'s)', async () => {
    await printsUnder('nofile', [
      'open /dev/iommu past the limit -> -1 24',
      'dup past the limit -> -1 24',
      'F_DUPFD from 8 -> -1 22',
      'dup2 to 8 -> -1 9',
      'FAULT_QUEUE_ALLOC with the table full -> -1 24',
      'its fault fd 7',
      'dup2 to 15 -> 15 0',
    ]);
  });
});

describe('exec: the device nodes by other names and through openat2(2)', () => {
  it("a name written otherwise (//dev/iommu, /dev/vfio/../iommu), one relative to a descriptor of /dev or to the working directory, a trailing slash (ENOTDIR; EISDIR when creating), the /dev/vfio directory (stat, EISDIR), open() flags that are none (F_GETFL), openat2's checks and scoping, and 7.2's O_EMPTYPATH and OPENAT2_REGULAR against 6.12 (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    const seen = new Set<string>();
    await printsUnder('paths', (out) => {
      for (const l of [
        'open //dev/iommu -> 1 0',
        'stat /dev/vfio/../iommu -> 0 0 mode 20000',
        'open /dev/iommu/ -> -1 20',
        'access /dev/iommu/. -> -1 20',
        'open /dev/vfio/ -> -1 21',
        'stat /dev/vfio/ -> 0 0 mode 40000',
        'stat /dev/vfio -> 0 0 mode 40755 nlink 2 size 60 uid 0',
        'read of it -> -1 21',
        'open /dev/vfio O_CREAT | O_EXCL -> -1 17',
        'open /dev/iommu/ O_CREAT -> -1 21',
        'open /dev/vfio/ O_CREAT | O_EXCL -> -1 21',
        'openat2 /dev/vfio/nope/ O_CREAT -> -1 21',
        'open /dev/iommu/. O_CREAT -> -1 20',
        'openat(/dev, iommu) -> 1 0',
        'openat(/dev, ../dev/iommu) -> 1 0',
        'open iommu from /dev -> 1 0',
        'F_GETFL of open(/dev/iommu, O_RDWR | 0x80000000) -> 32770 0',
        'openat2 size 16 -> -1 22',
        'openat2 size 4097 -> -1 7',
        'openat2 size 40, nonzero tail -> -1 7',
        'openat2 bad how -> -1 14',
        'openat2 bad path, bad flags -> -1 22',
        'openat2 /dev/iommu -> 1 0',
        'openat2 O_CREAT mode 010000 -> -1 22',
        'openat2 CACHED | O_TRUNC -> -1 11',
        'openat2 NO_XDEV from / -> -1 18',
        'openat2 NO_XDEV from /dev -> 1 0',
        'openat2 BENEATH, ../dev/iommu -> -1 18',
        'openat2 IN_ROOT /dev, /iommu -> 1 0',
        'openat2 IN_ROOT /dev, /dev/iommu -> -1 2',
        'openat2 O_EMPTYPATH bit -> 1 0',
        'truncate /dev/./iommu -> -1 22',
        'truncate //dev/vfio/../iommu -> -1 22',
        'truncate /dev/iommu/ -> -1 20',
        'truncate /dev/vfio/ -> -1 21',
        'truncate /dev/vfio/none -> -1 2',
        'truncate /dev/iommu/ to -1 -> -1 22',
        'realpath //dev/./iommu -> /dev/iommu 0',
        'realpath /dev/vfio/ -> /dev/vfio 0',
        'realpath /dev/vfio/.. -> /dev 0',
        'realpath /dev/iommu/ -> (null) 20',
        'realpath /dev/vfio/none -> (null) 2',
        'realpath vfio/../iommu from /dev -> /dev/iommu',
        'readlink /dev/./iommu -> -1 22',
        'readlink /dev/iommu/ -> -1 20',
        'readlink /dev/vfio/none -> -1 2',
        'link /dev/iommu /tmp/io-link -> -1 18',
        'link /tmp /dev/vfio/vfio -> -1 17',
        'link /dev/iommu /dev/iommu/x -> -1 20',
      ])
        expect(out).toContain(l);
      // 7.2 (latest) and 6.12 differ only where 7.x's flags are concerned
      const latest = out.includes('openat2 OPENAT2_REGULAR -> -1 134');
      seen.add(latest ? 'latest' : 'v6.12');
      const own = latest
        ? ['F_GETFL of open(/dev/iommu, O_RDWR | 0x4000000) -> 67141634 0', 'openat(iommufd, "", O_EMPTYPATH): its first IOAS -> 1 0', 'openat(fault queue, "", O_EMPTYPATH) -> -1 6', 'openat(fault queue, "", O_EMPTYPATH | O_PATH) -> 1 0', 'openat2 /dev/vfio OPENAT2_REGULAR -> -1 134']
        : ['F_GETFL of open(/dev/iommu, O_RDWR | 0x4000000) -> 32770 0', 'openat2 OPENAT2_REGULAR -> -1 22', 'openat(iommufd, "", O_EMPTYPATH): its first IOAS -> -1 2', 'openat(fault queue, "", O_EMPTYPATH) -> -1 2'];
      for (const l of own) expect(out).toContain(l);
    });
    expect([...seen].sort()).toEqual(['latest', 'v6.12']);
  });
});

describe('exec: the VFIO type1 compatibility ioctls', () => {
  it("2,400 VFIO container calls of random argsz, fields and encodings on /dev/vfio/vfio and /dev/iommu (progs/vfiosweep.c) answer what 6.12.95 and 7.2.13 answer, each with its profile: the same count of every result, 7.2's EOVERFLOW before EINVAL for a wrapping range, its AMDv1 mock's page sizes in GET_INFO (the oracle suite compares every line)", async () => {
    const seen = new Set<string>();
    await printsUnder('vfiosweep', (out) => {
      const results: Record<string, number> = {};
      for (const l of out) {
        const m = / -> (-?\d+ \d+) buf /.exec(l);
        if (m) results[m[1]] = (results[m[1]] ?? 0) + 1;
      }
      expect(out).toHaveLength(2435);
      expect(out[2]).toBe('0 iommu req 3b72 off 14 size 24 -> 0 0 buf 2fa1b2b01a37bd89 ub fe72814514a90383');
      expect(out[1000]).toBe('986 vfio req 3b65 off 1 size 0 -> 1 0 buf c1bdb1052db85693 ub fe72814514a90383');
      const latest = results['-1 75'] === 13;
      seen.add(latest ? 'latest' : 'v6.12');
      const common = { '-1 14': 12, '-1 17': 14, '-1 19': 209, '-1 2': 19, '-1 25': 889, '-1 7': 29, '-1 95': 23, '-1 98': 2, '0 0': 590, '1 0': 78 };
      expect(results).toEqual(latest ? { ...common, '-1 22': 522, '-1 75': 13 } : { ...common, '-1 22': 526, '-1 75': 9 });
      expect(out[9]).toBe(`7 iommu req 3b70 off 12 size 24 -> 0 0 buf ${latest ? '631062414860f805' : '11e85e735d834790'} ub fe72814514a90383`);
    });
    expect([...seen].sort()).toEqual(['latest', 'v6.12']);
  });
});

describe('exec: children of posix_spawn, system and popen', () => {
  it("a child of posix_spawn holds the program's iommufd (the same context: its IOAS is the parent's next), not a close-on-exec one; the file actions dup2, close and open of /dev/iommu (a context of its own) are the model's; a failing action or exec is the errno returned; posix_spawnp, system and popen run the shell, a child under popen's shell holds the iommufd too (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('spawn', (out) => {
      expect(out).toEqual([
        'parent: first IOAS -> 1 0',
        'parent: first IOAS of the close-on-exec context -> 1 0',
        'child: IOAS_ALLOC on the inherited iommufd -> 2 0',
        'child: IOAS_ALLOC on the close-on-exec one -> -1 9',
        'posix_spawn, inheriting -> 7 0',
        'parent: next IOAS -> 3 0',
        "child: IOAS_ALLOC on the dup2'd descriptor 20 -> 4 0",
        'child: IOAS_ALLOC on the closed original -> -1 9',
        'child: IOAS_ALLOC on descriptor 21, /dev/iommu opened by the action -> 1 0',
        'child: and again -> 2 0',
        'posix_spawn with dup2, close and open -> 7 0',
        'parent: next IOAS -> 5 0',
        'posix_spawn with an open that fails -> -2 2',
        'posix_spawn of a path that is none -> -2 2',
        "posix_spawnp sh -c 'exit 5': its status -> 5 0",
        'system("exit 3") -> 3 0',
        'system(NULL) -> 1 0',
        'via popen: one',
        'via popen: two',
        "pclose: the shell's status -> 4 0",
        'popen "w": pclose -> 2 0',
        'popen of a bad mode -> -1 22',
        'via popen: IOAS_ALLOC on the inherited iommufd: 6',
        'pclose of this program again -> 7 0',
        'parent: next IOAS -> 7 0',
        'done',
      ]);
    });
  });
});

describe("exec: do_vfs_ioctl()'s commands on the model's files", () => {
  it("FIFREEZE, FITHAW, FIEMAP, FICLONE, FICLONERANGE, FIDEDUPERANGE, the attribute ioctls, GETFSUUID and FIOQSIZE on /dev/iommu, a fault queue, an access, the container, /dev/vfio and an O_PATH descriptor answer what devtmpfs and anon_inodefs answer on a kernel (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('vfsioctl', [
      'iommufd: FIFREEZE -> -1 95',
      'iommufd: FITHAW -> -1 22',
      'iommufd: FS_IOC_FIEMAP, bad pointer -> -1 95',
      'iommufd: FICLONE from a file on the same filesystem -> -1 22',
      'iommufd: FICLONE from a file on another -> -1 18',
      'iommufd: FICLONERANGE, bad pointer -> -1 14',
      'iommufd: FIDEDUPERANGE, 1000 destinations -> -1 12',
      'iommufd: FS_IOC_GETFLAGS -> -1 25',
      'iommufd: FS_IOC_GETFSUUID -> 0 0',
      'fault queue: FS_IOC_GETFSUUID -> -1 25',
      'access: FICLONE from a file on another -> -1 18',
      '/dev/vfio: FICLONE from itself -> -1 21',
      '/dev/vfio: FIDEDUPERANGE, no destination -> -1 21',
      "/dev/vfio: FIOQSIZE's bytes 0",
      'O_PATH: FIFREEZE -> -1 9',
    ]);
  });
});

describe("exec: splice, tee and sendfile with the model's files", () => {
  it("no model file can be spliced: its descriptors, offsets and access modes are checked in the kernel's order (EBADF, ESPIPE, EFAULT, sendfile's ESPIPE without FMODE_PREAD), a full non-blocking pipe is EAGAIN, then EINVAL, where the /dev/null placeholder would have taken the bytes (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('splice', [
      'iommufd: splice to a pipe -> -1 22',
      'iommufd: splice to a pipe, length 0 and a bad flag -> 0 0',
      'iommufd: splice to a pipe, a bad offset pointer -> -1 14',
      'iommufd: splice to a pipe with an offset for the pipe -> -1 29',
      'iommufd: splice from a pipe -> -1 22',
      'iommufd: tee to a pipe, length 0 and a bad flag -> -1 22',
      'iommufd: vmsplice -> -1 9',
      'iommufd: sendfile to a pipe at an offset -> -1 22',
      'iommufd: sendfile from a memfd -> -1 22',
      'iommufd: sendfile from a pipe at an offset -> -1 29',
      'fault queue: sendfile to a pipe at an offset -> -1 29',
      '/dev/vfio: splice from a pipe -> -1 9',
      '/dev/vfio: sendfile from a memfd, count 0 -> -1 9',
      'write-only iommufd: splice to a pipe -> -1 9',
      'O_PATH: splice to a pipe, a bad flag -> -1 22',
      'O_PATH: splice to a pipe -> -1 9',
      'splice to a full non-blocking pipe -> -1 11',
      'splice to a full pipe, SPLICE_F_NONBLOCK -> -1 11',
    ]);
  });
});

describe('exec: access(2) and its kin', () => {
  it("faccessat, euidaccess and the raw access, faccessat, faccessat2, stat and lstat system calls find /dev/iommu and /dev/vfio/vfio (the host has neither), a bad mode or flag EINVAL first; X_OK of a file with no x bit is EACCES even for root, and uid and gid 1000 get the others' bits: /dev/iommu (0660) refused, /dev/vfio/vfio (0666) not (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('access', [
      'faccessat F_OK /dev/iommu -> 0 0',
      'euidaccess R_OK /dev/iommu -> 0 0',
      'faccessat bad flag /dev/iommu -> -1 22',
      'SYS_faccessat2 /dev/vfio/vfio -> 0 0',
      'SYS_stat /dev/iommu -> 0 0',
      '  mode 20000 major 10',
      'SYS_access /dev/iommu-none -> -1 2',
      'access X_OK /dev/iommu -> -1 13',
      'access X_OK /proc/self/status -> -1 13',
      'uid 1000: access R_OK /dev/iommu -> -1 13',
      'uid 1000: faccessat R_OK|W_OK AT_EACCESS /dev/vfio/vfio -> 0 0',
      'uid 1000: access W_OK /proc/self/status -> -1 13',
      'child status 0',
    ]);
  });
});

describe('exec: fallocate of a memfd under a pin', () => {
  it("the VFS checks in their order, allocation with and without KEEP_SIZE, posix_fallocate, and PUNCH_HOLE over pinned pages: the pin keeps the old page and its bytes, the file and a new pin a zeroed one, a partial punch zeroes the pinned page in place (all 41 checks pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('fallocate', BOTH, 41, [
      'allocated pages are not in core',
      'and leaves it out of core',
      'an unknown bit on a read-only descriptor: EOPNOTSUPP before EBADF',
      '/dev/iommu: ENODEV',
      'the size is still 2 MiB',
      'the pinned page keeps its bytes for the IOAS',
      'the new pin sees the zeroed page',
      'the file does not see it',
      "reads the file's new page, not the pinned one",
      'the pinned page reads zeros there',
    ]);
  });
});

describe('exec: memfd seals', () => {
  it('F_ADD_SEALS and F_GET_SEALS are the model\'s: size seals refuse ftruncate, fallocate and a write step past the end (steps of up to 2 MiB), a write seal every write, hole and new shared writable mapping, and a first F_SEAL_WRITE is EBUSY while a shared writable mapping exists or an IOAS pins a page, and a memfd\'s mode is its owner\'s to change, never its x bits once exec-sealed on shmem (all 57 checks pass on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('seals', BOTH, 57, [
      'and so says stat of /proc/self/fd/N',
      'chmod 0755 of an MFD_NOEXEC_SEAL hugetlb memfd (hugetlbfs_setattr() checks no seal)',
      'chmod 0644 of it: EPERM (the x bits)',
      'MFD_NOEXEC_SEAL: mode 0666',
      "after setuid(1000) a child may chmod its own memfd, not root's (EPERM)",
      'and takes no seal: EPERM',
      'pwrite over the end: EPERM, nothing written',
      '1 MiB + 8 KiB from 2 MiB - 4 KiB: the step at 2 MiB passes the end',
      'F_SEAL_WRITE while pinned: EBUSY',
      'F_SEAL_WRITE once unpinned',
      'PUNCH_HOLE: EPERM',
      'mprotect of it to writable: EACCES',
      'a new shared writable mapping: EPERM',
      'brings the write and size seals',
    ]);
  });
});

describe('exec: a memfd reopened through /proc/self/fd', () => {
  it('is a file of the model\'s on the same inode: its own access mode and position, size, contents and seals shared, O_TRUNC under the seals, EEXIST, ENOTDIR and ENOENT as the kernel answers (all 32 checks pass on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('reopen', BOTH, 32, [
      'ftruncate through it: EINVAL',
      'F_ADD_SEALS through it: EPERM',
      'the first sees the size',
      'the reopened one keeps its own position',
      'ACCESS_RW reads what the mapping wrote',
      'the first sees the seal',
      'an O_TRUNC reopen: EPERM (F_SEAL_SHRINK)',
      'a descriptor closed: ENOENT',
    ]);
  });
});

describe('exec: a file on the tmpfs of /tmp', () => {
  it("is a shmem inode of the model's whatever /tmp is here: IOAS_MAP_FILE pins it (7.x), it has F_SEAL_SEAL and takes no seal, its name keeps the pages with nothing open, a reopen by path or /proc/self/fd and truncate(2) reach the same inode, O_TRUNC leaves a pinned page its bytes, unlink leaves the open file and the pins, O_TMPFILE makes one with no name RssShmem and st_blocks count shmem pages, a stream's writes from inside libc reach the size and pages, a shared /dev/zero mapping is shmem (all 80 checks pass on 7.2.13, the 71 without IOAS_MAP_FILE on 6.12.95)", async () => {
    const seals = ['a tmpfs file has F_SEAL_SEAL', 'and takes no seal: EPERM', 'F_SEAL_SEAL', 'RssShmem grows by the MiB written (shmem pages)', 'st_blocks: its read fault added a page', 'fstat: its size', 'fstat: 16 blocks', 'a tmpfs file: F_SEAL_SEAL', 'DMA reads what fwrite wrote', 'smaps of a shared /dev/zero mapping: 8 kB, not anonymous', 'truncate(2) of /dev/iommu: EINVAL (no regular file)'];
    await passesUnder('tmpfs', ['latest'], 80, [
      ...seals,
      "IOAS_MAP_FILE of the file's first 2 MiB",
      'reads the same page',
      'IOAS_MAP_FILE through a read-only descriptor (no mode check)',
      'VmPin: 2 MiB per map, 4 KiB more (7.x: the file maps too)',
      'DMA reads it through the file mapping',
      'through the file mapping: the pinned page (zero)',
      'the pinned page keeps its bytes for the IOAS',
      "the pinned page is no longer the file's: it keeps its old byte",
      'IOAS_MAP_FILE of it',
      'pread sees it',
    ]);
    await passesUnder('tmpfs', ['v6.12'], 71, [...seals, 'IOAS_MAP of a shared mapping of it', 'the size follows', 'nlink 0']);
  });
});

describe('exec: pidfd_getfd', () => {
  it("takes another process's model file: the same iommufd context, memfd and access, at a close-on-exec descriptor (all 17 checks pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('pidfd', BOTH, 17, ['child: it is /dev/iommu', "child: IOAS_ALLOC on it: the parent's context (IOAS 1, access 2, IOAS 3)", "the parent's next IOAS is 4", 'child: close-on-exec']);
  });
});

describe('exec: the kernel release', () => {
  it("uname(2), /proc/sys/kernel/osrelease and /proc/version name the profile's kernel, not the host's (all 11 checks pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('uname', ['latest'], 11, ['the release is 7.2.13', "osrelease is uname's release", '/proc/version names it', 'osrelease opened for writing: EACCES (a read-only sysctl, root too)']);
    await passesUnder('uname', ['v6.12'], 11, ['the release is 6.12.95', 'an oracle kernel\'s release']);
  });
});

describe('exec: a memfd\'s file status flags', () => {
  it('F_SETFL O_APPEND of a memfd reaches the model, whose writes then go to the end (pwrite too), shared by a dup and not by a reopen (all 19 checks pass on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('memfd-flags', BOTH, 19, ['goes to the end: the position is 4', 'appended, pwrite too', 'a reopen has its own flags', 'written at the position']);
  });
});

describe('exec: pinning shared memory, as smaps and status show it', () => {
  it('IOAS_MAP of a shared memfd mapping faults its pages into the program\'s page tables, dirty when writable, clean when readable only: Rss and RssShmem grow as on the kernel (all 11 checks pass on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('shared-rss', BOTH, 11, [
      'Rss 4096 kB: the pin faulted the rest in',
      'all dirty, the page read too (GUP for writing)',
      'RssShmem grew by 3068 kB',
      'the new MiB clean',
    ]);
  });
});

describe('exec: pages touched after the map', () => {
  it("a pin later than IOAS_MAP takes the page the program wrote: ACCESS_RW's slow path after the fast one, a zero page written after the map, a read-only area, a domain attached later, a page the parent wrote after a fork (the checks that pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('late-touch', BOTH, 27, [
      "ACCESS_RW's slow path reads it too, after the fast one",
      "ACCESS_RW's slow path on a page written after the map",
      "ACCESS_RW's slow path on a zero page written after the map",
      "ACCESS_RW's slow path on a read-only area written after the map",
      'ACCESS_RW of a page written after the attach',
      "ACCESS_RW's slow path on a page the parent wrote after the fork",
      'the child kept its own copies',
    ]);
  });
});

describe("exec: where a frame's bytes are", () => {
  it('a slow write through a private mapping of a memfd lands in the copy GUP made, a write reaches a memfd page mapped read-only elsewhere, MAP_POPULATE copies a writable private mapping, pwrite reaches a page a private mapping read, a page or hugetlb folio pinned for write keeps its bytes when the file changes (the checks that pass on 6.12.95 and 7.2.13)', async () => {
    await passesUnder('frames', BOTH, 31, [
      "ACCESS_RW's slow write lands in the private copy",
      "ACCESS_RW's write reaches the file's page, seen read-only too",
      'MAP_POPULATE of a writable private mapping: its copy keeps the file\'s old bytes',
      'a read-only one still sees the file',
      'a new shared mapping and the private one both see it',
      'the pinned copy keeps the old byte',
      'the pinned hugetlb copy keeps the old bytes',
    ]);
  });
});

describe('exec: mremap of memory an IOAS maps', () => {
  it('the page table entries move: pins taken at the old address hold the pages at the new one; each errno, DONTUNMAP, THPs, hugetlb and the 6.12 / 7.2 differences (all 80 checks pass on 6.12.95 and 7.2.13)', async () => {
    // argv[1]: the kernel generation the profile models (uname under exec is the host's)
    await passesUnder(
      'mremap',
      BOTH,
      80,
      [
        'MD_CHECK_MAP: the domain maps the pages now at the new address',
        'a two-page one reads the pinned pages',
        'a domain attached to the unpinned IOAS pins the old address: EFAULT',
        'the domain maps the pages at the new address',
        'VmLck counts the 5 pages',
        'still a THP there',
        'split to 4 KiB pages, the bytes kept',
        'and the domain still maps the same pages',
        'shrinking hugetlb by 1 MiB rounds up to no change',
        'the second huge page is gone (madvise: ENOMEM)',
      ],
      { args: (profile) => [profile === 'latest' ? '7' : '6'], warnings: false },
    );
  });
});

describe("exec: a forked child's pages in the parent's IOAS", () => {
  it("pinned by a domain, the access reads the child's copies after it exits; unpinned, its address space is gone: EFAULT (the checks that pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('forkpin', BOTH, 7, ["the access reads the child's copies, not the parent's later writes", "the unpinned area's address space is gone: EFAULT", 'the fast path too']);
  });
});

describe('exec: mincore', () => {
  it("residency is the model's: a THP written at one byte, pages GUP pinned the program never touched, the zero page, a memfd page through another mapping; EINVAL, ENOMEM, EFAULT (the checks that pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('mincore', BOTH, 19, ["one byte written: the THP's 512 pages", 'the 16 pinned pages resident (GUP faulted them), the rest not', 'the failed reads never touched their buffers: nothing resident', "its copy_to_user() wrote its buffer's page: resident", 'a memfd page written through one mapping is resident through the other', 'a NULL vector: EFAULT']);
  });
});

describe('exec: the hugetlb pool', () => {
  it("meminfo, sysfs and the sysctl answer for the model's pool (128 pages by default, as the oracle VMs), and a write sizes it, not the host's: the checks that pass on 6.12.95 and 7.2.13", async () => {
    const host = readFileSync('/proc/sys/vm/nr_hugepages', 'utf8');
    await passesUnder('hugepages', BOTH, 31, ['the reserved ones stay, 2 of them surplus', 'open of free_hugepages for writing: EACCES, even for root', 'child: the sysctl asks again at each write: EPERM', 'child: the sysfs file asked at the open only: the write takes']);
    expect(readFileSync('/proc/sys/vm/nr_hugepages', 'utf8')).toBe(host);
  });

  it('--hugepages sizes the pool', async () => {
    const r = await runExec([build('hugepages')], { captureStdout: true, err: () => {}, caps: 'all', hugepages: 4 });
    expect(r.stdout).toMatch(/^FAIL start: 128 huge pages, all free \(got 4040000/m);
    // never more than the machine's memory holds (set_max_huge_pages()): 64 MiB is 32 huge pages
    const small = await runExec([build('hugepages')], { captureStdout: true, err: () => {}, caps: 'all', memory: '64M', hugepages: 100000 });
    expect(small.stdout).toMatch(/^FAIL start: 128 huge pages, all free \(got 32320000/m);
  });
});

describe('exec: the THP mode', () => {
  it("transparent_hugepage/enabled is the model machine's: a root write changes where THPs come from, never the host's mode; PR_SET_THP_DISABLE is the model process's (checks that pass on 6.12.95 and 7.2.13)", async () => {
    const host = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    const common = ['always: a THP without MADV_HUGEPAGE', 'never: no THP even with MADV_HUGEPAGE', 'never: the written page alone is resident (mincore)', 'PR_SET_THP_DISABLE 1, then GET: 1', 'THP_enabled: 0', 'disabled: none with MADV_HUGEPAGE either', 'THPs again under always', "the exec'd image's PR_GET_THP_DISABLE: 1"];
    await passesUnder('thp', ['latest'], 30, [...common, '7.2: GET: 1 | PR_THP_DISABLE_EXCEPT_ADVISED', '7.2: except advised: no THP without MADV_HUGEPAGE', '7.2: a THP with it']);
    await passesUnder('thp', ['v6.12'], 27, [...common, '6.12: PR_THP_DISABLE_EXCEPT_ADVISED: EINVAL']);
    expect(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')).toBe(host);
  });
});

describe('exec: /proc/self/fd links', () => {
  it("readlink, fdinfo and stat through /proc/self/fd of a model descriptor show the model's file (checks that pass on 6.12.95 and 7.2.13)", async () => {
    await passesUnder('fdlinks', ['latest'], 29, ['F_ADD_SEALS of a read-only dma-buf: EPERM', 'F_ADD_SEALS of a read-write dma-buf: EINVAL', 'dma-buf fdinfo: count 2 while an area maps it', 'a fault queue: anon_inode:[iommufd-pgfault]', 'a dma-buf: /dmabuf:', 'dma-buf fdinfo: count 2 after a dup', 'a dma-buf exported O_CLOEXEC | O_NONBLOCK: F_GETFL O_RDONLY | O_NONBLOCK', 'fdinfo follows F_SETFL: flags 02104002', 'stat through /proc/self/fd: the misc device /dev/iommu']);
    await passesUnder('fdlinks', ['v6.12'], 19, ['a fault queue: anon_inode:[iommufd-pgfault]', 'no dma-buf test op on this kernel']);
  });
});

describe("exec: the program's own descriptors", () => {
  it('stdout, a directory, a dup2 to 700: a file iommufd takes by number but cannot pin (DMABUF_REVOKE EINVAL, IOAS_MAP_FILE maps, a fill fails); O_PATH or closed: EBADF (the checks pass on 7.2.13)', async () => {
    await passesUnder('outsidefds', ['latest'], 19, ['DMABUF_REVOKE of stdout: EINVAL, no dma-buf', 'DMABUF_REVOKE of descriptor 700: EINVAL', 'DMABUF_REVOKE of an O_PATH descriptor: EBADF', 'a mock domain cannot be filled from it: EINVAL']);
    await passesUnder('outsidefds', ['v6.12'], 2, ['no dma-buf test op on this kernel']);
  });
});

describe('exec: MAP_LOCKED and mlock against the model\'s RLIMIT_MEMLOCK', () => {
  it("32 MiB locked and 32 MiB pinned under a 40 MiB limit, the next 16 MiB refused (EAGAIN, ENOMEM), as 6.12.95 and 7.2.13 answer; the host's own hard limit (8 MiB on the CI machine) does not decide", async () => {
    await passesUnder('mlocked', BOTH, 18, ['16 MiB MAP_LOCKED', 'mlock of 16 MiB more', '16 MiB more MAP_LOCKED: EAGAIN', 'VmLck 40960 kB', 'IOAS_MAP of 16 MiB more: over the limit']);
  });
});

describe('exec: the layout and protection of stand-in memory', () => {
  it('a MAP_HUGETLB hint is taken where free (aligned up on 7.2, down on 6.12); an mprotect or MADV_DONTNEED over a hole changes what it passed (ENOMEM all the same), so an ioctl struct there faults as on 6.12.95 and 7.2.13', async () => {
    await passesUnder('layout', BOTH, 16, ['MAP_HUGETLB on its free 2 MiB-aligned hint', 'the page before the hole was dropped all the same: zeros', 'IOAS_ALLOC from the page made read-only: EFAULT at the copy back', 'IOAS_ALLOC from the PROT_NONE page: EFAULT']);
    const r = await runExec([build('layout')], { profile: 'latest', captureStdout: true, err: () => {}, caps: 'all' });
    expect(r.stdout).toContain('ok 7.2: an unaligned hint is aligned up (ALIGN())');
    const old = await runExec([build('layout')], { profile: 'v6.12', captureStdout: true, err: () => {}, caps: 'all' });
    expect(old.stdout).toContain("ok 6.12: an unaligned hint is aligned down (x86's hugetlb_get_unmapped_area())");
  });
});

describe('exec: the transport', () => {
  it("ACCESS_RW's user buffer travels with the call, EFAULT where the shim cannot read it; a close needs no answer; a killed child's pins are gone once reaped; a process under another uid still reaches the server", async () => {
    const prog = build('transport');
    // Every capability, as root in the oracle VMs: the model decides setuid(65534) (CAP_SETUID), and the real process follows.
    const r = await runExec([prog], { captureStdout: true, err: () => {}, caps: 'all' });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines).toContain('ok ACCESS_RW write lands in the program\'s memory');
    expect(lines).toContain('ok ACCESS_RW read into read-only memory -> EFAULT');
    expect(lines).toContain('ok the model installs its next file on the number just closed');
    expect(lines).toContain('ok MD_CHECK_REFS: no pin left right after waitpid');
    if (process.getuid?.() === 0) expect(lines).toContain('ok a child of a process that dropped to uid 65534 allocates an IOAS on the inherited fd');
    expect(lines.length).toBe(21);
    expect(r.status).toBe(0);
    expect(r.warnings).toBe(0);
    expect(r.crash).toBeUndefined();
  });
});

describe('exec: results where users look', () => {
  it('--ktap passes KTAP through and ends with a summary line; the status is the program\'s', async () => {
    const script = 'echo "TAP version 13"; echo "1..3"; echo "ok 1 a.one"; echo "not ok 2 a.two"; echo "ok 3 a.three # SKIP why"; exit 1';
    const r = await runExec(['/bin/sh', '-c', script], { ktap: true, captureStdout: true, err: () => {} });
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 5)).toEqual(['TAP version 13', '1..3', 'ok 1 a.one', 'not ok 2 a.two', 'ok 3 a.three # SKIP why']);
    expect(lines[5]).toBe('# iommufd-sim exec (profile latest): pass:1 fail:1 xfail:0 skip:1 exit:1');
    expect(r.status).toBe(1);
  });

  it('names the missing C compiler', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'bridge-cc-'));
    try {
      expect(() => buildShim({ cc: 'no-such-cc-xyz', cacheDir: dir2 })).toThrow(/C compiler 'no-such-cc-xyz' not found/);
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});

describe('exec: helpers', () => {
  it('counts KTAP results like the harness', () => {
    const c = { pass: 0, fail: 0, skip: 0, xfail: 0 };
    const res = new Map<string, string>();
    for (const l of ['TAP version 13', '1..4', 'ok 1 a.b', 'not ok 2 a.c', 'ok 3 a.d # SKIP no huge pages', 'ok 4 a.e # XFAIL known', '# ok 5 not a result']) countKtapLine(l, c, res as never);
    expect(c).toEqual({ pass: 1, fail: 1, skip: 1, xfail: 1 });
    expect([...res]).toEqual([['a.b', 'ok'], ['a.c', 'fail'], ['a.d', 'skip'], ['a.e', 'ok']]);
  });

  it('reads /proc/PID/maps lines', () => {
    const m = parseMaps('7f0000000000-7f0000002000 rw-s 00000000 00:01 12 /dev/zero (deleted)\n7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n');
    expect(m).toEqual([
      { start: 0x7f0000000000, end: 0x7f0000002000, prot: 3, shared: true, name: '/dev/zero (deleted)' },
      { start: 0x7ffd00000000, end: 0x7ffd00021000, prot: 3, shared: false, name: '[stack]' },
    ]);
  });
});

describe('exec: listing the directories of the device nodes', () => {
  it("opendir/readdir, scandir, telldir/seekdir, glob and getdents64 list /dev/vfio as shmem does on a kernel, statfs and statvfs of the nodes are /dev's (\".\", \"..\" and vfio with their types, inode numbers as stat shows them, offsets 1, 3 and DIR_OFFSET_EOD, a too small buffer EINVAL, a fault after the first record a short listing), /dev lists iommu and vfio, and a device node is no directory (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('dirs', (out) => {
      expect(out).toEqual([
        "opendir /dev/vfio -> 1 0",
        "  . type 4 ino-as-stat 1 off 1",
        "  .. type 4 ino-as-stat 1 off 3",
        "  vfio type 2 ino-as-stat 1 off 2147483647",
        "  3 entries, then readdir -> NULL errno 0",
        "opendir /dev/vfio/ -> 1 0",
        "  . type 4 ino-as-stat 1 off 1",
        "  .. type 4 ino-as-stat 1 off 3",
        "  vfio type 2 ino-as-stat 1 off 2147483647",
        "  3 entries, then readdir -> NULL errno 0",
        "opendir /dev/vfio/../vfio -> 1 0",
        "  . type 4 ino-as-stat 1 off 1",
        "  .. type 4 ino-as-stat 1 off 3",
        "  vfio type 2 ino-as-stat 1 off 2147483647",
        "  3 entries, then readdir -> NULL errno 0",
        "opendir /dev/vfio/vfio -> 0 20",
        "opendir /dev/iommu/ -> 0 20",
        "/dev lists iommu type 2, vfio type 4",
        "scandir of /dev/iommu -> -1 20",
        "scandir /dev/vfio without dots -> 1 0",
        "  vfio type 2",
        "seekdir to 3, before entry 2: vfio, same 1",
        "seekdir to 1, before entry 1: .., same 1",
        "seekdir to 0, before entry 0: ., same 1",
        "rewinddir, then readdir: .",
        "dirfd is a descriptor: 1",
        "open /dev/vfio O_DIRECTORY -> 0 0",
        "getdents64 with a 16-byte buffer -> -1 22",
        "getdents64 -> 72 0",
        "  . type 4 reclen 24 off 1",
        "  .. type 4 reclen 24 off 3",
        "  vfio type 2 reclen 24 off 2147483647",
        "the position after it -> 2147483647 0",
        "getdents64 at the end -> 0 0",
        "lseek SEEK_END -> -1 22",
        "lseek SEEK_CUR -1 from 0 -> -1 22",
        "getdents64 with room for one record -> 24 0",
        "the position after it -> 1 0",
        "getdents64 with room for one more -> 24 0",
        "the position after it -> 3 0",
        "getdents64 too small for the next -> -1 22",
        "the position after it -> 3 0",
        "getdents64 from position 0x1 -> 48 0",
        "  .. off 3",
        "  vfio off 2147483647",
        "getdents64 from position 0x2 -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x3 -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x4 -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x64 -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x7ffffffe -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x7fffffff -> 0 0",
        "getdents64 from position 0x80000000 -> 24 0",
        "  vfio off 2147483647",
        "getdents64 from position 0x100000000 -> 24 0",
        "  vfio off 2147483647",
        "lseek to 0 -> 0 0",
        "getdents64 after lseek -> 72 0",
        "getdents64 into a bad pointer -> 0 0",
        "lseek to 0 -> 0 0",
        "getdents64 across into a read-only page -> 24 0",
        "the position after it -> 1 0",
        "lseek to 0 -> 0 0",
        "getdents64 into a bad pointer from the start -> -1 14",
        "read of the directory -> -1 21",
        "getdents64 of /dev/iommu -> -1 20",
        "getdents64 of an O_PATH /dev/vfio -> -1 9",
        "getdents64 of a closed descriptor -> -1 9",
        "fdopendir of /dev/iommu -> 0 20",
        "fdopendir of /dev/vfio, then readdir -> .",
        "fcntl F_GETFD of the descriptor closedir closed -> -1 9",
        "glob /dev/vfio/* -> 0: /dev/vfio/vfio",
        "glob /dev/vfio/[0-9]* -> 3:",
        "glob /dev/io* -> 0: /dev/iommu",
        "glob /dev/vfi?/vf* -> 0: /dev/vfio/vfio",
        "glob /dev/vfio/vfio -> 0: /dev/vfio/vfio",
        "glob /dev/vfio/*/x -> 3:",
        "statfs /dev/iommu, /dev's type 1 -> 0 0",
        "statvfs /dev/iommu, /dev's fsid 1 -> 0 0",
        "statfs /dev/./iommu, /dev's type 1 -> 0 0",
        "statvfs /dev/./iommu, /dev's fsid 1 -> 0 0",
        "statfs /dev/vfio, /dev's type 1 -> 0 0",
        "statvfs /dev/vfio, /dev's fsid 1 -> 0 0",
        "statfs /dev/vfio/vfio, /dev's type 1 -> 0 0",
        "statvfs /dev/vfio/vfio, /dev's fsid 1 -> 0 0",
        "statfs /dev/iommu/, /dev's type 0 -> -1 20",
        "statvfs /dev/iommu/, /dev's fsid 0 -> -1 20",
        "statfs /dev/vfio/none, /dev's type 0 -> -1 2",
        "statvfs /dev/vfio/none, /dev's fsid 0 -> -1 2",
        "done",
      ]);
    });
  });
});

describe("exec: glibc malloc's own mappings and heap", () => {
  it("a malloc()ed block past the mmap threshold freed under a pin is gone for the program (ACCESS_RW through the old address EFAULT) and the next malloc is new memory; the heap top free() and malloc_trim() give back is new memory when it grows again (MD_CHECK_MAP against it EINVAL, no pins on it); a block realloc() moved leaves its old address unmapped (the oracle suite compares the output with 6.12.95's and 7.2.13's)", async () => {
    await printsUnder('malloc', (out) => {
      expect(out).toEqual([
        "MOCK_DOMAIN -> 0 0",
        "CREATE_ACCESS -> 0 0",
        "1 MiB block: IOAS_MAP of 8 pages -> 0 0",
        "1 MiB block: MD_CHECK_MAP -> 0 0",
        "1 MiB block: MD_CHECK_REFS 1 -> 0 0",
        "1 MiB block: ACCESS_RW read -> 0 0",
        "1 MiB block: byte read -> 17 0",
        "1 MiB block: malloc again at the same address -> 0 0",
        "1 MiB block: MD_CHECK_MAP against the new pages -> -1 22",
        "1 MiB block: MD_CHECK_REFS 0 of the new pages -> 0 0",
        "1 MiB block: ACCESS_RW read: still the pinned page -> -1 14",
        "1 MiB block: byte read -> 0 0",
        "1 MiB block: ACCESS_RW write to the pinned page -> -1 14",
        "1 MiB block: the program's byte there -> 119 0",
        "1 MiB block: IOAS_UNMAP -> 0 0",
        "1 MiB block: IOAS_MAP of the new block -> 0 0",
        "1 MiB block: MD_CHECK_MAP -> 0 0",
        "1 MiB block: ACCESS_RW read -> 0 0",
        "1 MiB block: byte read -> 119 0",
        "1 MiB block: byte read -> 0 0",
        "heap block: IOAS_MAP of 8 pages -> 0 0",
        "heap block: MD_CHECK_MAP -> 0 0",
        "heap block: MD_CHECK_REFS 1 -> 0 0",
        "heap block: ACCESS_RW read -> 0 0",
        "heap block: byte read -> 17 0",
        "heap block: malloc again at the same address -> 1 0",
        "heap block: MD_CHECK_MAP against the new pages -> -1 22",
        "heap block: MD_CHECK_REFS 0 of the new pages -> 0 0",
        "heap block: ACCESS_RW read: still the pinned page -> 0 0",
        "heap block: byte read -> 119 0",
        "heap block: ACCESS_RW write to the pinned page -> 0 0",
        "heap block: the program's byte there -> 153 0",
        "heap block: IOAS_UNMAP -> 0 0",
        "heap block: IOAS_MAP of the new block -> 0 0",
        "heap block: MD_CHECK_MAP -> 0 0",
        "heap block: ACCESS_RW read -> 0 0",
        "heap block: byte read -> 119 0",
        "heap block: byte read -> 0 0",
        "realloc: IOAS_MAP -> 0 0",
        "realloc: ACCESS_RW read of the pinned page -> -1 14",
        "byte read -> 0 0",
        "realloc: the moved block's byte -> 66 0",
        "realloc: ACCESS_RW read after writing the moved block -> -1 14",
        "byte read -> 0 0",
        "done",
      ]);
    });
  });
});

/**
 * What VMMs do through /dev/iommu (QEMU's and cloud-hypervisor's iommufd backends), with the mock
 * device standing in for a VFIO one: the vmm-*.c programs, which the oracle suite compares line for
 * line with 6.12.95's and 7.2.13's output. Here, under each profile: status 0 and the lines a VMM's
 * error paths meet (the kernels' answers), those of both kernels and those of one.
 */
async function vmmPrints(name: string, both: readonly string[], only: { latest?: readonly string[]; 'v6.12'?: readonly string[] } = {}): Promise<void> {
  const prog = build(name);
  for (const profile of BOTH) {
    const r = await runExec([prog], { profile, captureStdout: true, err: () => {}, caps: 'all' });
    const out = r.stdout.trim().split('\n');
    expect(r.status).toBe(0);
    for (const l of [...both, ...(only[profile] ?? [])]) expect(out, `${name} under ${profile}`).toContain(l);
  }
}

describe('exec: what VMMs do', () => {
  it('guest RAM set-up and hot-unplug: the aperture after attach, maps outside it, unplugs that split or miss an area (ENOENT), a span over a hole, unmap-all forms, attach over a mapping outside the aperture (EADDRINUSE), VmPin', async () => {
    await vmmPrints('vmm-ram', ['attached ranges -> 0 0 num=1 align=0x800 [1000000-7fffffff]', 'map below aperture -> -1 22', 'map across aperture end -> -1 22', 'unmap part of C -> -1 2', 'unmap len 0 -> -1 22', 'unmap span A..C (hole inside) -> 0 0', ' len=1800000', 'unmap iova!=0 len max -> -1 75', 'attach ioas2 -> -1 98', 'replace dev1 to ioas2 -> -1 98', 'VmPin 16384']);
  });
  it("GET_HW_INFO's data_len round trip and struct size checks, HWPT_ALLOC's dirty-tracking refusal and QEMU's fallback, destroy order; 6.12 knows neither the capability bits of a 40-byte struct nor in_data_type", async () => {
    await vmmPrints(
      'vmm-hwinfo',
      ['len4 -> 0 0 len=8 type=feedbeef pasid=0 caps=5555 buf:00000000aaaaaaaaaaaaaaaa', 'size48 nonzero tail -> -1 7 len=64 type=0 pasid=119 caps=5555 buf:aaaaaaaaaaaaaaaaaaaaaaaa', 'reserved nonzero -> -1 95 len=64 type=0 pasid=119 caps=5555 buf:aaaaaaaaaaaaaaaaaaaaaaaa', 'hwpt dirty on nodirty dev -> -1 95', 'hwpt fallback -> 0 0', 'replace nodirty to h1 (dirty) -> -1 22', 'destroy h1 in use -> -1 16'],
      {
        latest: ['size40 zero tail -> 0 0 len=8 type=feedbeef pasid=0 caps=9 buf:00000000efbeadde00000000', 'input type selftest -> 0 0 len=8 type=feedbeef pasid=0 caps=5555 buf:00000000efbeadde00000000'],
        'v6.12': ['size40 zero tail -> 0 0 len=8 type=feedbeef pasid=0 caps=1 buf:00000000efbeadde00000000', 'input type selftest -> -1 95 len=64 type=feedbeef pasid=119 caps=5555 buf:aaaaaaaaaaaaaaaaaaaaaaaa'],
      },
    );
  });
  it("dirty tracking for migration: the bitmap's checks (EINVAL, EOVERFLOW), NO_CLEAR and clear, page sizes against the mock's leaves (7.2's AMDv1 table, 6.12's 2K xarray), nothing recorded while off", async () => {
    await vmmPrints('vmm-dirty', ['track bad flag -> -1 95', 'len 0 -> -1 75 count=0', 'wrapping -> -1 75 count=0', 'iova unaligned to psz -> -1 22 count=0', 'H 2M noclear -> 0 0 b0 count=1', '  nr_dirty=0 dirty when off -> -1 22', 'A again -> 0 0 count=0'], {
      latest: ['A 4K noclear -> 0 0 b2 b9 count=2', 'psz 3K -> 0 0 b0 b1 b2 b3 b4 b5 count=1024'],
      'v6.12': ['A 4K noclear -> 0 0 b9 count=1', 'psz 3K -> 0 0 b0 b1 count=2'],
    });
    await vmmPrints('vmm-dirty2', ['dirty 8 1002000 -> -1 22 nr=0', 'ha on again get 7 -> 0 0 bits:', 'destroy hb busy? -> -1 16'], { latest: ['ha off get 7 -> 0 0 bits: 1', 'ha no devices get 7 -> 0 0 bits: 4'], 'v6.12': ['dirty 7 1001000 -> 0 0 nr=0'] });
    await vmmPrints('vmm-dirtyleaf', ['mprotect bm 3rd page ro -> 0 0', 'a again -> 0 0 count=0 first=0 last=0'], { latest: ['a 2K -> 0 0 count=512 first=0 last=511', 'b 2K -> 0 0 count=1 first=10 last=10'], 'v6.12': ['a 2K -> 0 0 count=1 first=583 last=583', 'b 2K -> 0 0 count=1 first=11 last=11'] });
    await vmmPrints('vmm-bigbitmap', ['dirty last 2K -> 0 0', 'get len=1000000000 psz=2048 off=8 -> 0 0 bits:']);
  });
  it("CPR: CHANGE_PROCESS from a forked child within its RLIMIT_MEMLOCK only once the old charge fits beside the new (ENOMEM below 16 MiB), EINVAL while an anonymous area exists, after the old process's exit and through pidfd_getfd(); 6.12 has no such call (ENOTTY)", async () => {
    await vmmPrints('vmm-cpr', ['child setrlimit 16M -> 0 0'], {
      latest: ['child cp 16M-4K -> -1 12', 'child cp 16M -> 0 0', 'child VmPin 8192 VmLck 0', 'parent VmPin after child cp 0', 'parent cp (anon area present) -> -1 22', 'map file over limit -> -1 12'],
      'v6.12': ['cp empty -> -1 25', 'child cp 16M -> -1 25'],
    });
    await vmmPrints('vmm-cprexit', ['Y rw unpinned anon (dead mm) -> -1 14', 'Y access pages pinned anon -> -1 95', 'Y attach ioas2 (needs pin from dead mm) -> -1 14', 'Y attach ioas (copy from domain) -> 0 0'], { latest: ['Y cp (anon present) -> -1 22', 'Y cp -> 0 0', 'Y VmPin 4096'] });
    await vmmPrints('vmm-getfd', ['child attach to ioas 1 -> 0 0'], { latest: ['child change process -> 0 0', 'done'] });
  });
  it('RLIMIT_MEMLOCK exactly at a map and a page short in both RLIMIT_MODEs without CAP_IPC_LOCK, pages shared by IOAS_COPY and accesses charged once, the descriptor life (dup, fork, close with everything attached), reserved regions and ALLOW_IOVAS as QEMU asks, ROM mappings, guard pages, a memfd shrunk under a MAP_FILE area, HUGE_PAGES', async () => {
    await vmmPrints('vmm-rlimit', ['set rlimit mode with objects -> -1 16', 'map 8M at limit-4K -> -1 12', 'map 8M at limit -> 0 0', 'attach ioas2 -> -1 12', 'after attach ioas2 16M VmPin 16384 VmLck 0', 'closed VmPin 0 VmLck 0']);
    await vmmPrints('vmm-copyacct', ['map A again in io2 (new pages obj, same memory) -> -1 12', 'access pin B over limit -> -1 12', 'access pin A (pinned by domain) -> 0 0', 'access pin B at limit-4K -> -1 12', 'B access twice VmPin 1024', 'closed VmPin 0']);
    await vmmPrints('vmm-fdlife', ["fd2 destroy id of fd's hwpt -> -1 2", 'child check_map -> -1 22', 'ioctl on closed fd -> -1 9', 'destroy size 4 -> -1 22', 'destroy size 12 nonzero tail -> -1 7', 'destroy size 12 zero tail -> -1 2']);
    await vmmPrints('vmm-hotplug', ['attach (mapping below aperture) -> -1 98', 'map over resv 4K -> -1 22', 'resv over a mapping -> -1 98', 'allow unaligned -> -1 98', 'allow overlapping -> -1 22', 'replug -> -1 98', 'destroy auto hwpt after unplug -> -1 2']);
    await vmmPrints('vmm-rom', ['ro mem, RW -> -1 14', 'none mem, R -> -1 14', 'no flags -> -1 22', 'device write ro anon (R only) -> -1 1'], { latest: ['sealed map_file RW -> 0 0', 'device write ROM -> -1 1'], 'v6.12': ['sealed map_file RW -> -1 25'] });
    await vmmPrints('vmm-guard', ['map over guard (domain) -> -1 14', 'attach io2 -> -1 14', 'access rw across guard -> -1 14', 'VmPin 13312', 'VmPin 54272']);
    await vmmPrints('vmm-memfdtrunc', [], { latest: ['attach io1 (area past EOF now) -> -1 22', 'rw io1 past EOF -> -1 22', 'check map punched half -> -1 22', 'mapfile of empty file -> -1 22'] });
    await vmmPrints('vmm-hugeopt', ['map 2K-aligned iova, huge off, no dev -> -1 22', 'huge off again -> -1 22', 'huge off (areas+domain) -> -1 22'], { latest: ['huge pt map 2K-aligned -> -1 22', 'get 2000000+200000/800 -> 0 0 count=512 first=512'] });
  });
});
