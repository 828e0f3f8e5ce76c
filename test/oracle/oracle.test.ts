// SPDX-License-Identifier: GPL-2.0-only
// The oracle harness without a VM: the initramfs archive, the console protocol,
// the comparison and its classes, the known-divergences file, and what the C
// export embeds. (scripts/oracle/ci.sh runs the real kernels.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunResult, runProgram } from '../../src/fuzz/executor.js';
import { comparableAnswer, exportC, runModel, withModelAnswers } from '../../src/fuzz/export-c.js';
import { type Program, parseProgram } from '../../src/fuzz/program.js';
import { ORACLE_NODE_MODES } from '../../src/machine/machine.js';
import { compareProgram } from '../../src/oracle/compare.js';
import { GUEST_INIT } from '../../src/oracle/vm.js';
import { type KernelProgram, feedLine, kernelWarnings, newConsole } from '../../src/oracle/console.js';
import { leavesCharges, loadPrograms, profileForRelease } from '../../src/oracle/index.js';
import { bzImageRelease, cpioNewc } from '../../src/oracle/initramfs.js';
import { type KnownDivergence, loadKnown, matchKnown, staleKnown } from '../../src/oracle/known.js';
import { MODEL_SITE_ALIASES, compareWarnSites, loadSites, modelWarnFunction, parseSplat } from '../../src/oracle/warn-sites.js';

/** Read a newc archive back: [name, mode, data]. */
function readNewc(buf: Buffer): Array<[string, number, Buffer]> {
  const out: Array<[string, number, Buffer]> = [];
  let o = 0;
  for (;;) {
    expect(buf.toString('ascii', o, o + 6)).toBe('070701');
    const field = (i: number): number => Number.parseInt(buf.toString('ascii', o + 6 + 8 * i, o + 14 + 8 * i), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', o + 110, o + 110 + nameSize - 1);
    o += 110 + nameSize;
    o += (4 - (o % 4)) % 4;
    const data = buf.subarray(o, o + size);
    o += size;
    o += (4 - (o % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    out.push([name, mode, data]);
  }
}

const PROGRAM: Program = {
  name: 'unit',
  memlock: '64K',
  calls: [
    { op: 'mmap', as: '$buf', length: '64K' },
    { op: 'open', as: '$fd' },
    { op: 'ioas_alloc', as: '$ioas' },
    { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: '64K', as: '$iova' },
    { op: 'ioas_map', ioas: '$ioas', user_va: '$buf', length: '64K', iova: '$iova' },
    { op: 'create_access', as: '$acc', ioas: '$ioas' },
    { op: 'access_rw', access: '$acc', iova: 0x40000000, length: 16, uptr: '$buf' },
  ],
};

/** What the kernel would print if it answered exactly as the model did. */
/** A kernel that answered every call as `run` did (by default the model's own run of `p` on v6.12). */
function kernelLike(p: Program, run: RunResult = runProgram(p, { profile: 'v6.12' })): KernelProgram {
  const calls = new Map<number, { rc: bigint; outputs: Record<string, string> }>();
  for (const r of run.results) {
    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.outputs)) outputs[k] = typeof v === 'string' ? v : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
    calls.set(r.index, { rc: r.errno ? BigInt(r.ret) : 0n, outputs });
  }
  return { index: 0, calls, kmsg: [], text: [], exit: 0 };
}

describe('initramfs', () => {
  it('writes newc entries the kernel reads: names, modes, data, 4-byte padding, trailer', () => {
    const a = cpioNewc([{ name: 'bin', perm: 0o755 }, { name: '/init', data: Buffer.from('#!/bin/sh\n') }, { name: 'list', data: Buffer.from('0\n1\n2\n'), perm: 0o644 }]);
    expect(a.length % 4).toBe(0);
    const e = readNewc(a);
    expect(e.map(([n]) => n)).toEqual(['bin', 'init', 'list']);
    expect(e[0][1]).toBe(0o040755);
    expect(e[1][1]).toBe(0o100755);
    expect(e[1][2].toString()).toBe('#!/bin/sh\n');
    expect(e[2][1]).toBe(0o100644);
    expect(e[2][2].toString()).toBe('0\n1\n2\n');
  });

  it('finds the release in a bzImage setup header and maps it to a profile', () => {
    const img = Buffer.alloc(0x1000);
    img.write('HdrS', 0x202, 'latin1');
    img.writeUInt16LE(0x300, 0x20e); // kernel_version - 0x200
    img.write('6.12.95 (root@build) #1 SMP\0', 0x500, 'latin1');
    expect(bzImageRelease(img)).toBe('6.12.95');
    expect(bzImageRelease(Buffer.alloc(0x1000))).toBeUndefined();
    expect(profileForRelease('6.12.95')).toBe('v6.12');
    expect(profileForRelease('7.2.13')).toBe('latest');
    expect(profileForRelease('6.1.0')).toBeUndefined();
  });
});

describe('console', () => {
  it('brackets programs, parses results and kernel lines, skips escape codes before markers', () => {
    const st = newConsole();
    const cur: { n?: number } = {};
    const ended: number[] = [];
    for (const l of [
      'SeaBIOS ...',
      'Booting from ROM..\x1bc\x1b[?7l@VM 6.12.95',
      '@BEGIN 0',
      'unit: 3 calls',
      '@R 0 0 addr=0x7ffff7ff0000',
      '@R 1 -22 fd=0xffffffffffffffff fault_injected=0x1',
      '@R 2 meta',
      '@K [    1.234567] WARNING: CPU: 0 PID: 45 at drivers/iommu/iommufd/selftest.c:488 mock_domain_iova_to_phys+0x1c/0x26',
      '@K [    1.234600] Modules linked in:',
      '@END 0 1',
      '@DONE',
    ]) {
      const n = feedLine(st, l, cur);
      if (n !== undefined) ended.push(n);
    }
    expect(st.release).toBe('6.12.95');
    expect(st.done).toBe(true);
    expect(ended).toEqual([0]);
    const p = st.programs.get(0)!;
    expect(p.exit).toBe(1);
    expect(p.calls.get(0)).toEqual({ rc: 0n, outputs: { addr: '0x7ffff7ff0000' } });
    expect(p.calls.get(1)).toEqual({ rc: -22n, outputs: { fd: '0xffffffffffffffff', fault_injected: '0x1' } });
    expect(p.calls.get(2)?.state).toBe('meta');
    expect(p.text).toEqual(['unit: 3 calls']);
    const w = kernelWarnings(p.kmsg);
    expect(w.warns).toEqual(['WARNING: CPU: 0 PID: 45 at drivers/iommu/iommufd/selftest.c:488 mock_domain_iova_to_phys+0x1c/0x26']);
    expect(w.bugs).toEqual([]);
  });
});

describe('compare', () => {
  const run = runProgram(PROGRAM, { profile: 'v6.12' });

  it('a kernel answering as the model agrees on every call', () => {
    const r = compareProgram('unit', PROGRAM, run, kernelLike(PROGRAM), '6.12.95', []);
    expect(r.status).toBe('agree');
    expect(r.compared).toBe(PROGRAM.calls.length);
    expect(r.divergences).toEqual([]);
  });

  it('classifies errno, value, addr, missing, crash and warn differences', () => {
    const k = kernelLike(PROGRAM);
    const modelErrno = run.results[4].errno;
    expect(modelErrno).toBe('EEXIST');
    k.calls.set(4, { rc: -22n, outputs: {} });
    k.calls.get(3)!.outputs.iova = '0x1234000';
    k.calls.get(0)!.outputs.addr = '0x1000';
    k.calls.delete(6);
    k.kmsg.push('[ 1.0] WARNING: CPU: 0 PID: 1 at drivers/iommu/iommufd/pages.c:238 iommu_unmap_nofail+0xe/0x12');
    k.exit = 137;
    const r = compareProgram('unit', PROGRAM, run, k, '6.12.95', []);
    expect(r.status).toBe('diverged');
    const got = r.divergences.map((d) => [d.call, d.class, d.model, d.kernel]);
    expect(got).toContainEqual([0, 'addr', `addr=0x${BigInt(run.results[0].outputs.addr).toString(16)}`, 'addr=0x1000']);
    expect(got).toContainEqual([3, 'value', `iova=0x${BigInt(run.results[3].outputs.iova).toString(16)}`, 'iova=0x1234000']);
    expect(got).toContainEqual([4, 'errno', 'EEXIST', 'EINVAL']);
    expect(got).toContainEqual([6, 'missing', 'ENOENT', 'no result']);
    expect(got).toContainEqual([undefined, 'crash', 'exit 0/1', 'killed (timeout)']);
    expect(got).toContainEqual([undefined, 'warn', 'no WARN', 'WARN iommu_unmap_nofail (drivers/iommu/iommufd/pages.c:238)']);
  });

  it("a call by a process the program ended: the model's ESRCH and the C program's dead slot agree; the calls after it are compared", () => {
    const p: Program = {
      name: 'dead',
      profile: 'v6.12',
      calls: [{ op: 'fork', as: '$c' }, { op: 'exit', proc: '$c' }, { op: 'ioas_alloc', proc: '$c' }, { op: 'open' }, { op: 'ioas_alloc' }],
    };
    const r = runModel(p, 'v6.12');
    expect(r.results[2].errno).toBe('ESRCH');
    const k = kernelLike(p);
    (k.calls as Map<number, unknown>).set(2, { state: 'dead', rc: 0n, outputs: {} });
    const got = compareProgram('dead', p, r, k, '6.12.95', []);
    expect(got.divergences).toEqual([]);
    expect(got.status).toBe('agree');
    expect(got.compared).toBe(4);
    // a dead slot where the model answered anything else is still missing
    (k.calls as Map<number, unknown>).set(3, { state: 'dead', rc: 0n, outputs: {} });
    expect(compareProgram('dead', p, r, k, '6.12.95', []).divergences.map((d) => [d.call, d.class])).toEqual([[3, 'missing']]);
  });

  it("the model's side runs on the VMs' hugetlb pool when the program sets none: the wrapping hugetlb fallocate takes 128 huge pages, not the machine's RAM", () => {
    const calls: Program['calls'] = [
      { op: 'memfd_create', as: '$m', flags: ['HUGETLB'] },
      { op: 'fallocate', fd: '$m', offset: '0x7ffffffffffff000', length: 3541 },
      { op: 'open' },
      { op: 'ioas_alloc' },
    ];
    const r = runModel({ name: 'pool', profile: 'v6.12', calls }, 'v6.12');
    expect(r.results.map((x) => x.errno)).toEqual([undefined, 'ENOSPC', undefined, undefined]);
    expect(r.ramFullAt).toBeUndefined();
    // the same program where it sets a pool of its own keeps it (and the executor's default is no limit)
    const own = runModel({ name: 'pool', profile: 'v6.12', hugetlb_pages: { '2M': 8 }, calls }, 'v6.12');
    expect(own.results[1].errno).toBe('ENOSPC');
    const plain = runProgram({ name: 'pool', profile: 'v6.12', calls }, { profile: 'v6.12' });
    expect(plain.machine.phys.ramRefusals).toBeGreaterThan(0);
  });

  it('after a call that succeeded on one side only, the rest is not compared', () => {
    const k = kernelLike(PROGRAM);
    k.calls.set(4, { rc: 0n, outputs: { iova: '0x0' } });
    k.calls.set(6, { rc: 0n, outputs: {} });
    const r = compareProgram('unit', PROGRAM, run, k, '6.12.95', []);
    expect(r.divergences.map((d) => [d.call, d.class, d.model, d.kernel])).toEqual([[4, 'errno', 'EEXIST', 'ok']]);
    expect(r.compared).toBe(5);
    expect(r.note).toMatch(/not compared after call 4/);
  });

  it('a known divergence explains a difference on the kernels it names only; an unused exact row is stale', () => {
    const k = kernelLike(PROGRAM);
    k.calls.set(6, { rc: -22n, outputs: {} });
    const row: KnownDivergence = { program: 'un*', op: 'access_rw', model: 'ENOENT', kernel: 'EINVAL', kernels: ['6.12'], why: 'test', source: 'iommufd_access_rw()' };
    const r612 = compareProgram('unit', PROGRAM, run, k, '6.12.95', [row]);
    expect(r612.status).toBe('explained');
    expect(r612.divergences[0].known).toBe(row);
    expect(compareProgram('unit', PROGRAM, run, k, '7.2.13', [row]).status).toBe('diverged');
    const exact: KnownDivergence = { ...row, program: 'unit' };
    expect(matchKnown([exact], r612.divergences[0], '6.12.95')).toBe(exact);
    expect(staleKnown([exact], new Set(['unit']), new Set(), '6.12.95')).toEqual([exact]);
    expect(staleKnown([exact], new Set(['unit']), new Set([exact]), '6.12.95')).toEqual([]);
    expect(staleKnown([exact], new Set(['unit']), new Set(), '7.2.13')).toEqual([]);
    expect(staleKnown([row], new Set(['unit']), new Set(), '6.12.95')).toEqual([]);
    // `|` separates alternatives; each is a whole-answer glob.
    const alt: KnownDivergence = { ...row, kernel: 'ok|EINV*' };
    expect(matchKnown([alt], r612.divergences[0], '6.12.95')).toBe(alt);
    expect(matchKnown([{ ...row, kernel: 'ok|EFAULT' }], r612.divergences[0], '6.12.95')).toBeUndefined();
    expect(matchKnown([{ ...row, kernel: 'EINVAL|' }], r612.divergences[0], '6.12.95')).toBeDefined();
    expect(matchKnown([{ ...row, kernel: 'EIN' }], r612.divergences[0], '6.12.95')).toBeUndefined();
  });

  it("descriptors 0-2 of the oracle's processes are /dev/null and the console, as in the VM", () => {
    // Each answer as 7.2.13 gave it (progs under /tmp, the oracle on both kernels): the console's
    // tty ioctl path ENOTTY, /dev/null always ready, close(0) then the lowest free descriptor 0,
    // a descriptor computed from a handle (6.12.95 seed 81203: close($r0-1) of stderr), and
    // DMABUF_REVOKE of a file that is no dma-buf (7.2.13 seed 71204).
    const p: Program = {
      name: 'stdio',
      profile: 'latest',
      calls: [
        { op: 'open', as: '$r0' },
        { op: 'ioas_alloc', fd: 1 },
        { op: 'poll', fd: 0 },
        { op: 'poll', fd: 2, events: ['IN', 'OUT'] },
        { op: 'fstat', fd: 0 },
        { op: 'fstat', fd: 1 },
        { op: 'close', fd: 0 },
        { op: 'open', as: '$r1' },
        { op: 'close', fd: '$r0-0x1' },
        { op: 'dmabuf_revoke', dmabuf_fd: 1 },
      ],
    };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? x.ret)).toEqual([3, 'ENOTTY', 1, 4, 0, 0, 0, 0, 0, 'EINVAL']);
    expect([r.results[4].outputs.mode, r.results[5].outputs.mode, r.results[7].outputs.fd]).toEqual([0o20666, 0o20600, 0]);
    // The fuzzer's own runs keep the bare layout: no descriptors below 3.
    const bare = runProgram(p, { profile: 'latest' });
    expect(bare.results.slice(1, 3).map((x) => x.errno ?? x.ret)).toEqual(['EBADF', 0x20]);
    expect(bare.results[7].outputs.fd).toBe(4);
  });

  it("the device nodes have the modes the VM's init gives them: fstat of /dev/iommu is 0666 on the model's side too", () => {
    // each node on a chmod line of the guest's init with its mode
    const chmods = GUEST_INIT.split('\n').filter((l) => l.startsWith('chmod '));
    for (const [path, perm] of Object.entries(ORACLE_NODE_MODES)) expect(chmods.some((l) => l.startsWith(`chmod ${perm.toString(8).padStart(4, '0')} `) && l.split(' ').includes(path))).toBe(true);
    expect(GUEST_INIT).toMatch(/chmod 0666 \/dev\/iommu \/dev\/vfio\/vfio/);
    const p: Program = { name: 'mode', calls: [{ op: 'open', as: '$r0' }, { op: 'fstat', fd: '$r0' }, { op: 'open', as: '$r1', path: '/dev/vfio/vfio' }, { op: 'fstat', fd: '$r1' }] };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect([r.results[1].outputs.mode, r.results[3].outputs.mode]).toEqual([0o20666, 0o20666]);
    // devtmpfs's own mode (iommu_misc_dev .mode = 0660) everywhere else: the fuzzer's runs, the bridge
    expect(runModel(p, 'latest').results[1].outputs.mode).toBe(0o20660);
  });

  it('a read of the console is field console-read: the VM kills the program sleeping in it', () => {
    const p: Program = {
      name: 'ttyread',
      calls: [{ op: 'mmap', as: '$r0', length: 4096 }, { op: 'file_read', fd: 0, addr: '$r0', count: 16 }, { op: 'file_read', fd: 2, addr: '$r0', count: 16 }, { op: 'open' }],
    };
    const r = runModel(p, 'v6.12', { processLayout: 'exec' });
    expect(r.results.slice(1, 3).map((x) => x.errno ?? x.ret)).toEqual([0, 'EAGAIN']);
    expect(r.consoleReadAt).toBe(2);
    const k = kernelLike(p, r);
    k.calls.delete(2);
    k.calls.delete(3);
    k.exit = 137;
    const got = compareProgram('ttyread', p, r, k, '6.12.95', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [2, 'missing', 'console-read', true],
      [undefined, 'crash', 'console-read', true],
    ]);
    expect(got.status).toBe('explained');
    // The same kill without a console read stays a divergence.
    const q: Program = { name: 'null', calls: p.calls.slice(0, 2).concat([{ op: 'open' }]) };
    const rq = runModel(q, 'v6.12', { processLayout: 'exec' });
    expect(rq.consoleReadAt).toBeUndefined();
    const kq = kernelLike(q, rq);
    kq.calls.delete(2);
    kq.exit = 137;
    expect(compareProgram('null', q, rq, kq, '6.12.95', loadKnown()).status).toBe('diverged');
  });

  it('what a call read from a [vvar]/[vdso] page is field special-page, explained; other reads are compared', () => {
    // 6.12 corpus seeds 31508, 34614: the kernel's vDSO time page holds the running clock
    const p: Program = {
      name: 'clock',
      calls: [
        { op: 'mmap', as: '$a', length: 4096, prot: ['READ', 'WRITE'], flags: ['PRIVATE', 'ANONYMOUS'] },
        { op: 'read_memory', addr: 0x7ffff7ff9000, length: 16 },
        { op: 'read_memory', addr: '$a', length: 16 },
      ],
    };
    const r = runModel(p, 'v6.12', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
    expect(r.specialReadCalls).toEqual([1]);
    expect(runModel({ name: 'none', calls: [p.calls[0], p.calls[2]] }, 'v6.12', { processLayout: 'exec' }).specialReadCalls).toBeUndefined();
    const calls = new Map<number, { rc: bigint; outputs: Record<string, string> }>();
    for (const x of r.results) {
      const outputs: Record<string, string> = {};
      for (const [k, v] of Object.entries(x.outputs)) outputs[k] = typeof v === 'string' ? v : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
      calls.set(x.index, { rc: x.op === 'mmap' ? BigInt(x.ret) : 0n, outputs });
    }
    const k: KernelProgram = { index: 0, calls, kmsg: [], text: [], exit: 0 };
    expect(compareProgram('clock', p, r, k, '6.12.95', loadKnown()).status).toBe('agree');
    // the clock moved: the special read is explained; the same change in the program's own buffer is not
    calls.get(1)!.outputs.data = `01${calls.get(1)!.outputs.data.slice(2)}`;
    const got = compareProgram('clock', p, r, k, '6.12.95', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([[1, 'value', 'special-page', true]]);
    expect(got.status).toBe('explained');
    calls.get(2)!.outputs.data = `01${calls.get(2)!.outputs.data.slice(2)}`;
    expect(compareProgram('clock', p, r, k, '6.12.95', loadKnown()).status).toBe('diverged');
  });

  it("an errno that rests on [vvar]'s bytes is field special-page, explained; the same difference elsewhere is not", () => {
    // test/oracle/programs/iommufd-cmd-length-ioas_unmap-4097.yaml: a size word of 4097 makes copy_struct_from_user()
    // check the byte past the ioctl scratch page, the first of [vvar], for zero; 7.2.13's clock left it zero once (ok)
    const p: Program = {
      name: 'tail',
      calls: [
        { op: 'open', as: '$fd' },
        { op: 'ioas_alloc', as: '$ioas' },
        { op: 'ioas_unmap', ioas: '$ioas', iova: 0, length: 'U64_MAX', size: 4097 },
        { op: 'ioas_unmap', ioas: '$ioas', iova: 0, length: 'U64_MAX', size: 4096 },
      ],
    };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'E2BIG', 'ok']);
    expect(r.specialReadCalls).toEqual([2]);
    const kernel = (okAt: number): KernelProgram => {
      const calls = new Map<number, { rc: bigint; outputs: Record<string, string> }>();
      for (const x of r.results) {
        const outputs: Record<string, string> = {};
        for (const [k, v] of Object.entries(x.outputs)) outputs[k] = typeof v === 'string' ? v : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
        calls.set(x.index, { rc: x.index === okAt ? 0n : x.errno ? BigInt(x.ret) : x.op === 'open' ? BigInt(x.ret) : 0n, outputs: x.index === okAt ? { length: '0x0' } : outputs });
      }
      return { index: 0, calls, kmsg: [], text: [], exit: 0 };
    };
    const got = compareProgram('tail', p, r, kernel(2), '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.model, d.kernel, d.known !== undefined])).toEqual([[2, 'errno', 'special-page', 'E2BIG', 'ok', true]]);
    expect(got.status).toBe('explained');
    // the same answer given by a call that read no special page (the size word 4096 stays inside the scratch)
    const other = { ...r, results: r.results.map((x) => (x.index === 3 ? { ...x, errno: 'E2BIG' as const, ret: -7 } : x)) };
    const bad = compareProgram('tail', p, other, kernel(3), '7.2.13', loadKnown());
    expect(bad.divergences.map((d) => [d.call, d.class, d.field])).toEqual([[3, 'errno', undefined]]);
    expect(bad.status).toBe('diverged');
  });

  it("a program that unmapped the exported C's array scratch: own memory from that call, not before nor for the scratch's own growth", () => {
    // 6.12 corpus seed 13003: munmap(buf, 256 KiB) from a buffer below the client scratch, then IOAS_ALLOW_IOVAS
    const calls = (unmap: boolean): Program['calls'] => [
      { op: 'open', as: '$fd' },
      { op: 'ioas_alloc', as: '$i' },
      { op: 'ioas_iova_ranges', ioas: '$i' },
      { op: 'mmap', as: '$buf', length: 4096 },
      ...(unmap ? [{ op: 'munmap', addr: '$buf', length: 262144 }] : []),
      { op: 'ioas_allow_iovas', ioas: '$i', ranges: [[0x5000000, 0x51fffff]] },
      // a larger array: the executor replaces its scratch (a clientScratch op), which is not the program's doing,
      // and the old range it left is not followed any more: a later mapping there and its munmap take nothing
      { op: 'ioas_iova_ranges', ioas: '$i', num_iovas: 1000 },
      { op: 'mmap', as: '$over', addr: '$buf', length: 8192, flags: ['PRIVATE', 'ANONYMOUS', 'FIXED'] },
      { op: 'munmap', addr: '$over', length: 8192 },
      { op: 'ioas_alloc' },
    ];
    const lost = runModel({ name: 'scratch', calls: calls(true) }, 'v6.12', { processLayout: 'exec' });
    expect(lost.clientScratchAt?.call).toBe(2);
    // (the struct scratch went too: every later struct ioctl is EFAULT)
    expect(lost.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'EFAULT', 'EFAULT', 'ok', 'ok', 'EFAULT']);
    expect(lost.ownMemoryLostAt).toBe(4);
    const kept = runModel({ name: 'scratch', calls: calls(false) }, 'v6.12', { processLayout: 'exec' });
    expect(kept.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(kept.ownMemoryLostAt).toBeUndefined();
  });

  it('a MADV_DONTNEED reaching the stack or the image data drops what the real program runs on, every mapping staying: own memory lost there', () => {
    // 7.2 corpus seed 15005: MADV_DONTNEED of 4 GiB from a buffer up past the stack (ENOMEM for the holes); the real program died (139)
    const lostAt = (calls: Program['calls']): number | undefined => runModel({ name: 'dontneed', calls }, 'latest', { processLayout: 'exec' }).ownMemoryLostAt;
    const buf = [{ op: 'mmap', as: '$b', length: 4096 }, { op: 'madvise', addr: '$b', length: 4096, advice: 'DONTNEED' }];
    expect(lostAt(buf)).toBeUndefined();
    expect(lostAt([...buf, { op: 'madvise', addr: '0x7fffffffe000', length: 4096, advice: 'HUGEPAGE' }])).toBeUndefined();
    expect(lostAt([...buf, { op: 'madvise', addr: '0x7fffffffe000', length: 4096, advice: 'DONTNEED' }, { op: 'open' }])).toBe(2);
    expect(lostAt([{ op: 'madvise', addr: 0x4ab000, length: 4096, advice: 24 }])).toBe(0); // MADV_DONTNEED_LOCKED over the data
    // the value of a handle counts: a range from the buffer's handle up past the stack
    expect(lostAt([...buf, { op: 'madvise', addr: '$b', length: '0x10000000', advice: 'DONTNEED' }])).toBe(2);
  });

  it('a guard region over the stack top or the client scratch takes them from the real program (7.x): own memory lost there', () => {
    // 7.2 generated program of seed 77059: MADV_GUARD_INSTALL of 2 MiB from a buffer up over the client scratch, the real program died (139) at its next array
    const lostAt = (calls: Program['calls'], profile: 'latest' | 'v6.12' = 'latest'): number | undefined => runModel({ name: 'guard', calls }, profile, { processLayout: 'exec' }).ownMemoryLostAt;
    const buf = [{ op: 'mmap', as: '$b', length: 8192 }, { op: 'madvise', addr: '$b', length: 4096, advice: 'GUARD_INSTALL' }];
    expect(lostAt(buf)).toBeUndefined();
    expect(lostAt([...buf, { op: 'madvise', addr: '0x7fffffffe000', length: 4096, advice: 'GUARD_INSTALL' }, { op: 'open' }])).toBe(2);
    expect(lostAt([...buf, { op: 'madvise', addr: '0x7fffffffe000', length: 4096, advice: 'GUARD_INSTALL' }], 'v6.12')).toBeUndefined();
    const scratch = [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$i' }, { op: 'ioas_iova_ranges', ioas: '$i' }];
    const r = runModel({ name: 'guard', calls: [...scratch, { op: 'madvise', addr: '0x7ffff0000000', length: '0xfffe000', advice: 'GUARD_INSTALL' }, { op: 'ioas_iova_ranges', ioas: '$i' }] }, 'latest', { processLayout: 'exec' });
    expect(r.clientScratchAt?.call).toBe(2);
    // (the walk ends EINVAL at a special mapping above, the VMAs below it guarded: the next array is EFAULT)
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'EINVAL', 'EFAULT']);
    expect(r.ownMemoryLostAt).toBe(3);
  });

  it('a program that unmapped its own image and died of it: the missing result and the exit are field own-memory, explained', () => {
    // 6.12 corpus seed 30211: munmap(0, 4 GiB) takes the static binary's text at 0x400000 with it
    const p: Program = {
      name: 'self',
      calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$i' }, { op: 'munmap', addr: 0, length: 0xffffffff }, { op: 'ioas_alloc' }],
    };
    const r = runModel(p, 'v6.12', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(r.ownMemoryLostAt).toBe(2);
    expect(runModel(PROGRAM, 'v6.12', { processLayout: 'exec' }).ownMemoryLostAt).toBeUndefined();
    expect(runModel(p, 'v6.12').ownMemoryLostAt).toBeUndefined(); // the bare layout has no image
    const k = kernelLike(p);
    k.calls.delete(2);
    k.calls.delete(3);
    k.exit = 139;
    const got = compareProgram('self', p, r, k, '6.12.95', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [2, 'missing', 'own-memory', true],
      [undefined, 'crash', 'own-memory', true],
    ]);
    expect(got.status).toBe('explained');
    // a program that ended otherwise (timeout) or lost nothing is not explained by it
    k.exit = 137;
    expect(compareProgram('self', p, r, k, '6.12.95', loadKnown()).status).toBe('diverged');
    const kp = kernelLike(PROGRAM);
    kp.calls.delete(6);
    kp.exit = 139;
    expect(compareProgram('unit', PROGRAM, runModel(PROGRAM, 'v6.12', { processLayout: 'exec' }), kp, '6.12.95', loadKnown()).status).toBe('diverged');
  });

  it('the exit of a program that died of its own munmap is own-memory also when a fail-nth answer ended the comparison earlier', () => {
    // 7.2 differential campaign seed 120601 (corpus-3433): fail-nth landed on another site of the real open (ENOMEM), the
    // comparison stopped there; the munmap(0, 4 GiB) at the end took the static binary's text and the program died (139)
    const p: Program = {
      name: 'nth-then-self',
      calls: [{ op: 'fail_nth', nth: 3 }, { op: 'open', as: '$fd' }, { op: 'ioas_alloc', fd: '$fd' }, { op: 'munmap', addr: 0, length: 0xffffffff }, { op: 'ioas_alloc', fd: '$fd' }],
    };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.ownMemoryLostAt).toBe(3);
    const k = kernelLike(p);
    k.calls.set(1, { rc: BigInt(-12), outputs: { fault_injected: '0x1' } });
    k.calls.delete(3);
    k.calls.delete(4);
    k.exit = 139;
    const got = compareProgram('nth-then-self', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [1, 'fault', undefined, true],
      [undefined, 'crash', 'own-memory', true],
    ]);
    expect(got.status).toBe('explained');
    // died before the munmap: not its own doing
    k.calls.delete(2);
    expect(compareProgram('nth-then-self', p, r, k, '7.2.13', loadKnown()).status).toBe('diverged');
  });

  it('a fork after MADV_WIPEONFORK of the stack: the real child starts with it zeroed and the program is killed waiting (own-memory); without the fork nothing is lost', () => {
    // 7.2.13, a 60-call generated program: WIPEONFORK of 4 GiB from a buffer up past the stack, a fork, a call in the child
    const p: Program = {
      name: 'wipe-fork',
      calls: [
        { op: 'mmap', as: '$m', length: '64K' },
        { op: 'madvise', addr: '$m', length: '4G', advice: 'WIPEONFORK' },
        { op: 'open', as: '$fd' },
        { op: 'fork', as: '$c' },
        { op: 'ioas_alloc', proc: '$c' },
      ],
    };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.childWipedAt).toBe(3);
    expect(r.ownMemoryLostAt).toBeUndefined();
    // the kernel answered as the model until the child's call (the exec layout's addresses)
    const k = kernelLike(p, r);
    k.calls.delete(4);
    k.exit = 137;
    const got = compareProgram('wipe-fork', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [4, 'missing', 'own-memory', true],
      [undefined, 'crash', 'own-memory', true],
    ]);
    expect(got.status).toBe('explained');
    // the same advice over the buffer alone: the child keeps its stack, and a timeout is a divergence
    const q: Program = { ...p, calls: p.calls.map((c, i) => (i === 1 ? { ...c, length: '64K' } : c)) };
    const rq = runModel(q, 'latest', { processLayout: 'exec' });
    expect(rq.childWipedAt).toBeUndefined();
    expect(compareProgram('wipe-buffer', q, rq, k, '7.2.13', loadKnown()).status).toBe('diverged');
  });

  it("a forked child's munmap of the static binary's text: the real child dies and the program is killed waiting (own-memory); the same munmap of free memory is no loss", () => {
    // 6.12.95, a generated program of seed 77102: a failed mmap's address 0, so the child unmapped 0x400000 + 2 MiB
    const p = (addr: string): Program => ({
      name: 'child-unmaps-text',
      calls: [{ op: 'open', as: '$fd' }, { op: 'mmap', as: '$m', length: '64K' }, { op: 'fork', as: '$c' }, { op: 'munmap', proc: '$c', addr, length: '2M' }, { op: 'ioas_alloc', proc: '$c' }, { op: 'ioas_alloc' }],
    });
    const r = runModel(p('0x400000'), 'v6.12', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.childWipedAt).toBe(3);
    expect(r.ownMemoryLostAt).toBeUndefined();
    // the kernel: the munmap's answer never printed (the child died at its next instruction), then the timeout
    const k = kernelLike(p('0x400000'), r);
    for (const i of [3, 4, 5]) k.calls.delete(i);
    k.exit = 137;
    const got = compareProgram('child-unmaps-text', p('0x400000'), r, k, '6.12.95', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [3, 'missing', 'own-memory', true],
      [undefined, 'crash', 'own-memory', true],
    ]);
    expect(got.status).toBe('explained');
    // 2 MiB of memory far from the image and the stack: nothing lost, and a timeout there is a divergence
    const q = p('0x100000000000');
    const rq = runModel(q, 'v6.12', { processLayout: 'exec' });
    expect(rq.childWipedAt).toBeUndefined();
    expect(compareProgram('child-unmaps-free', q, rq, k, '6.12.95', loadKnown()).status).toBe('diverged');
  });

  it('MD_CHECK_REFS over small pages khugepaged may have collapsed is field khugepaged: the kernel skips a compound page', () => {
    // 7.2.13 (seed 77013) and 6.12.95 (seed 77006): MAP_POPULATE, then the exported C's MADV_HUGEPAGE; khugepaged
    // collapsed the block before the next call, and a later mprotect split only the PMD (the pages stay compound)
    const p: Program = {
      name: 'khugepaged',
      calls: [
        { op: 'open' },
        { op: 'mmap', as: '$m', length: '2M', flags: ['PRIVATE', 'ANONYMOUS', 'POPULATE'], thp: true },
        { op: 'md_check_refs', uptr: '$m+0x100000', length: '44K', refs: 2 },
        { op: 'mprotect', addr: '$m+0xf000', length: '4M', prot: ['WRITE'] },
        { op: 'md_check_refs', uptr: '$m+0x100000', length: '44K', refs: 2 },
      ],
    };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'EIO', 'ENOMEM', 'EIO']);
    expect(r.khugepagedCalls).toEqual([2, 4]);
    const k = kernelLike(p, r);
    k.calls.set(2, { rc: 0n, outputs: {} });
    const got = compareProgram('khugepaged', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([[2, 'errno', 'khugepaged', true]]);
    expect(got.status).toBe('explained');
    // No VM_HUGEPAGE: khugepaged never sees the range (thp is madvise); pages pinned before the advice: the
    // collapse fails on their refcount. Neither is marked.
    const plain: Program = { name: 'plain', calls: [p.calls[0], { ...p.calls[1], thp: false }, p.calls[2]] };
    const rp = runModel(plain, 'latest', { processLayout: 'exec' });
    expect([rp.results[2].errno, rp.khugepagedCalls]).toEqual(['EIO', undefined]);
    const pinned: Program = {
      name: 'pinned',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$i' },
        { op: 'mock_domain', pt: '$i' },
        { op: 'mmap', as: '$m', length: '2M', flags: ['PRIVATE', 'ANONYMOUS', 'POPULATE'] },
        { op: 'ioas_map', ioas: '$i', user_va: '$m', length: '2M' },
        { op: 'madvise', addr: '$m', length: '2M', advice: 'HUGEPAGE' },
        { op: 'md_check_refs', uptr: '$m', length: '8K', refs: 2 },
      ],
    };
    const rn = runModel(pinned, 'latest', { processLayout: 'exec' });
    expect([rn.results[6].errno, rn.khugepagedCalls]).toEqual(['EIO', undefined]);
  });

  it('a fork after MADV_DONTFORK of the stack or of the image: the real child has no mapping there', () => {
    // 7.2.13, a 100-call generated program of seed 77011: DONTFORK of 4 GiB from a buffer up past the stack
    // (ENOMEM for the holes, the advice taken where mapped), a fork, a call in the child, a timeout
    const dontfork = (addr: string, length: string): Program => ({
      name: 'dontfork',
      calls: [{ op: 'mmap', as: '$m', length: '64K' }, { op: 'madvise', addr, length, advice: 'DONTFORK' }, { op: 'open', as: '$fd' }, { op: 'fork', as: '$c' }, { op: 'ioas_alloc', proc: '$c' }],
    });
    const p = dontfork('$m', '4G');
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    expect(r.results[1].errno).toBe('ENOMEM');
    expect(r.childWipedAt).toBe(3);
    const k = kernelLike(p, r);
    k.calls.delete(4);
    k.exit = 137;
    expect(compareProgram('dontfork', p, r, k, '7.2.13', loadKnown()).status).toBe('explained');
    // the image's text too (it cannot be WIPEONFORK: a file mapping), and not the buffer alone
    expect(runModel(dontfork('0x401000', '4K'), 'latest', { processLayout: 'exec' }).childWipedAt).toBe(3);
    expect(runModel(dontfork('$m', '64K'), 'latest', { processLayout: 'exec' }).childWipedAt).toBeUndefined();
  });

  it('a SIGSEGV after an mmap the kernel refused under fail-nth (the model mapped): the crash is after-fault, explained', () => {
    // 6.12.95, a generated program: fail_nth 3, an 8 MiB mmap ENOMEM on the kernel, later a write through address 0
    const p: Program = {
      name: 'nth-mmap',
      calls: [{ op: 'fail_nth', nth: 3 }, { op: 'mmap', as: '$m', length: '8M' }, { op: 'write_memory', addr: '$m+0xf0f', data: '72' }, { op: 'open' }],
    };
    const r = runModel(p, 'v6.12', { processLayout: 'exec' });
    expect(r.results[1].errno).toBeUndefined();
    const k = kernelLike(p);
    k.calls.set(1, { rc: BigInt(-12), outputs: { addr: '0x0', fault_injected: '0x1' } });
    k.calls.delete(2);
    k.calls.delete(3);
    k.exit = 139;
    const got = compareProgram('nth-mmap', p, r, k, '6.12.95', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [1, 'fault', undefined, true],
      [undefined, 'crash', 'after-fault', true],
    ]);
    expect(got.status).toBe('explained');
    // killed otherwise (a timeout) is no consequence of the missing mapping
    k.exit = 137;
    expect(compareProgram('nth-mmap', p, r, k, '6.12.95', loadKnown()).status).toBe('diverged');
    // nor a SIGSEGV after a fail-nth open the kernel refused
    const q: Program = { name: 'nth-open', calls: [{ op: 'fail_nth', nth: 3 }, { op: 'open', as: '$fd' }, { op: 'ioas_alloc', fd: '$fd' }] };
    const rq = runModel(q, 'v6.12', { processLayout: 'exec' });
    const kq = kernelLike(q);
    kq.calls.set(1, { rc: BigInt(-12), outputs: { fault_injected: '0x1' } });
    kq.exit = 139;
    expect(compareProgram('nth-open', q, rq, kq, '6.12.95', loadKnown()).status).toBe('diverged');
  });

  it('a program the kernel BUGged under: one crash, the BUG (the exit it died of is not a second); the hugetlbfs fallocate BUG is known', () => {
    const p: Program = { name: 'bug', calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc' }] };
    const r = runModel(p, 'latest', { processLayout: 'exec' });
    const k = kernelLike(p);
    k.exit = 255;
    k.kmsg = ['[   12.345678] kernel BUG at fs/inode.c:777!', '[   12.345679] Oops: invalid opcode: 0000 [#1] SMP NOPTI'];
    const got = compareProgram('bug', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.class, d.kernel, d.known !== undefined])).toEqual([['crash', 'kernel BUG at fs/inode.c:777!', true]]);
    expect(got.status).toBe('explained');
    // another BUG is not explained by it
    k.kmsg = ['[   12.345678] kernel BUG at mm/filemap.c:123!'];
    expect(compareProgram('bug', p, r, k, '7.2.13', loadKnown()).status).toBe('diverged');
    // no BUG: the exit is the crash
    k.kmsg = [];
    expect(compareProgram('bug', p, r, k, '7.2.13', loadKnown()).divergences.map((d) => [d.class, d.kernel])).toEqual([['crash', 'exit 255']]);
  });

  it('a program that ran the machine out of RAM and was killed: what follows is field ram-full, explained', () => {
    // 7.2 campaign seed 15011: MAP_POPULATE of 8 TiB read-only needs 16 GiB of page tables on a 1 GiB machine
    const p: Program = {
      name: 'ram',
      memory: '16M',
      calls: [
        { op: 'open', as: '$fd' },
        { op: 'mmap', as: '$m', length: 0x80000000000, prot: ['READ'], flags: ['PRIVATE', 'ANONYMOUS', 'POPULATE'] },
        { op: 'ioas_alloc' },
        { op: 'ioas_alloc' },
      ],
    };
    const r = runModel(p, 'latest');
    // RAM full of page tables: the ioctls' user structs have no page to fault in
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'EFAULT', 'EFAULT']);
    expect(r.ramFullAt).toBe(1);
    expect(runModel(PROGRAM, 'latest').ramFullAt).toBeUndefined();
    const k = kernelLike(p);
    k.calls.delete(1);
    k.calls.delete(2);
    k.calls.delete(3);
    k.exit = 137;
    const got = compareProgram('ram', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [1, 'missing', 'ram-full', true],
      [undefined, 'crash', 'ram-full', true],
    ]);
    expect(got.status).toBe('explained');
    // a run that never ran out of RAM is not explained by it
    const kp = kernelLike(PROGRAM);
    kp.calls.delete(6);
    kp.exit = 137;
    expect(compareProgram('unit', PROGRAM, runModel(PROGRAM, 'latest'), kp, '7.2.13', loadKnown()).status).toBe('diverged');
  });

  it('a shmem fallocate that free memory cannot meet runs the machine out of RAM: ENOMEM, and what follows is field ram-full', () => {
    // 7.2 corpus of seed 120804: fallocate of 1 TiB of a memfd on a 1 GiB machine; 7.2.13 reclaimed and was killed
    const p: Program = {
      name: 'falloc',
      memory: '64M',
      calls: [
        { op: 'memfd_create', as: '$m' },
        { op: 'fallocate', fd: '$m', offset: 897024, length: 1099511630392 },
        { op: 'fallocate', fd: '$m', offset: 0, length: 1 << 20 },
      ],
    };
    const r = runModel(p, 'latest');
    // the doomed call allocates nothing (shmem_undo_range()), so a small one after it still fits
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ENOMEM', 'ok']);
    expect(r.ramFullAt).toBe(1);
    const k = kernelLike(p);
    k.calls.delete(1);
    k.calls.delete(2);
    k.exit = 137;
    const got = compareProgram('falloc', p, r, k, '7.2.13', loadKnown());
    expect(got.divergences.map((d) => [d.call, d.class, d.field, d.known !== undefined])).toEqual([
      [1, 'missing', 'ram-full', true],
      [undefined, 'crash', 'ram-full', true],
    ]);
    expect(got.status).toBe('explained');
  });

  it('a program that said SKIP is skipped, one that never ran is an error', () => {
    const k = kernelLike(PROGRAM);
    k.exit = 4;
    k.text.push('SKIP: /dev/iommu is missing');
    expect(compareProgram('unit', PROGRAM, run, k, '6.12.95', []).status).toBe('skip');
    expect(compareProgram('unit', PROGRAM, run, undefined, '6.12.95', []).status).toBe('error');
  });

  it('every row of known-divergences.yaml says why and names the kernel source', () => {
    const rows = loadKnown();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.why.length).toBeGreaterThan(40);
      expect(r.source).toMatch(/\.(c|h)\b|\(\)/);
    }
  });
});

describe('a program that leaves charges behind', () => {
  // 7.2.13's reference cycle (IOAS_MAP_FILE of the iommufd's own descriptor) keeps the context, its pins and
  // its user's locked_vm after the program: the boot's later programs (the same user) would meet that charge.
  const leaky = (pinned: boolean): Program => {
    const r = parseProgram(`profile: latest
calls:
  - { op: open, as: $fd }
  - { op: ioas_alloc, as: $ioas }
${pinned ? '  - { op: mock_domain, pt: $ioas }\n' : ''}  - { op: mmap, as: $buf, length: 4K }
  - { op: write_memory, addr: $buf, data: "01" }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 4K }
  - { op: ioas_alloc, as: $other }
  - { op: ioas_map_file, ioas: $other, file: $fd, length: 1 }
`);
    if (!r.ok) throw new Error(r.error);
    return r.program;
  };
  it('is what leavesCharges() sees, after which runOracle() boots again (a context left open, pins, a user\'s locked_vm); a clean run is not', () => {
    const pinned = runModel(leaky(true), 'latest', { processLayout: 'exec' });
    expect(pinned.leaks).toContain('an iommufd context is still open');
    expect(pinned.leaks.some((l) => /^user \d+ locked_vm 1 pages$/.test(l))).toBe(true);
    expect(leavesCharges(pinned)).toBe(true);
    expect(leavesCharges(runModel(leaky(false), 'latest', { processLayout: 'exec' }))).toBe(true);
    expect(leavesCharges(runModel(PROGRAM, 'v6.12', { processLayout: 'exec' }))).toBe(false);
    expect(leavesCharges(undefined)).toBe(false);
  });
});

describe('export with the model answers', () => {
  it('embeds every comparable answer, leaves fds out, and hints each mmap at the model address', () => {
    const run = runProgram(PROGRAM, { profile: 'v6.12' });
    const p = withModelAnswers(PROGRAM, run);
    expect(p.calls[0].addr).toBe(run.results[0].outputs.addr);
    expect(p.calls[2].expect).toEqual({ ret: 0n, ioas_id: 1n });
    expect(p.calls[4].expect).toEqual({ errno: 'EEXIST' });
    expect(comparableAnswer(PROGRAM.calls[1], run.results[1]).outputs).toEqual({});
    expect(comparableAnswer(PROGRAM.calls[5], run.results[5]).outputs).toEqual({});
    const c = exportC(PROGRAM, { profile: 'v6.12', run });
    expect(c).toMatch(/become_model_process\(\(uint64_t\)0x10000ULL, 1000, 0x0u, 0x0u, "\/dev\/iommu"\);/);
    expect(c).toMatch(/setup_machine\("madvise", -1\);/);
    expect(c).toMatch(/#define TEST_CMD_SIZE 72/);
    const withCaps = exportC({ ...PROGRAM, caps: ['CAP_IPC_LOCK', 'CAP_SYS_RESOURCE'] }, { profile: 'v6.12' });
    expect(withCaps).toMatch(/become_model_process\([^,]+, 1000, 0x1004000u, 0x0u,/);
    expect(exportC(PROGRAM, { profile: 'v6.5' })).toMatch(/#define TEST_CMD_SIZE 56/);
  });

  it('hints a mapping whose MADV_HUGEPAGE failed at the model address too: it is there, and what comes after is placed around it', () => {
    // exec differential, 7.2 seed 2 program 485: a MAP_HUGETLB with thp (EINVAL) left unhinted moved the next mapping
    const p: Program = {
      name: 'thp-hugetlb',
      calls: [{ op: 'mmap', as: '$h', length: 4096, flags: ['PRIVATE', 'ANONYMOUS', 'HUGETLB'], thp: true }, { op: 'mmap', as: '$b', length: '64K' }, { op: 'mmap', length: 4096 }],
    };
    const run = runProgram(p, { profile: 'latest' });
    expect(run.results[0].errno).toBe('EINVAL');
    const w = withModelAnswers(p, run);
    expect(w.calls[0].addr).toBe(run.results[0].outputs.addr);
    expect(BigInt(run.results[0].outputs.addr as bigint) > 0n).toBe(true);
    expect(w.calls[1].addr).toBe(run.results[1].outputs.addr);
  });

  it('maps the client scratch where and when the model did (VFIO_IOMMU_GET_INFO keeps its buffer there, as the model)', () => {
    // 6.12 corpus seed 31679: VFIO_IOMMU_GET_INFO's buffer is the model's client scratch, a later IOAS_MAP covers it
    const p: Program = {
      name: 'cs',
      calls: [{ op: 'open', as: '$fd' }, { op: 'ioas_alloc', as: '$i' }, { op: 'vfio_iommu_get_info', argsz: 5000 }, { op: 'ioas_iova_ranges', ioas: '$i' }],
    };
    const run = runModel(p, 'v6.12', { processLayout: 'exec' });
    expect(run.clientScratchAt).toEqual({ call: 2, bytes: 8192n });
    expect(run.clientScratchVa).toBeDefined();
    const c = exportC(p, { profile: 'v6.12', run });
    const case2 = c.slice(c.indexOf('\tcase 2:'), c.indexOf('\tcase 3:'));
    // its own buffer is the client scratch (5000 bytes: the 8 KiB mapping the model made), so no extra mapping call
    expect(case2).toContain('unsigned char *buf = client_scratch(len);');
    expect(case2).not.toContain('(void)client_scratch');
    expect(case2).not.toContain('calloc');
    expect(c).toContain(`cscratch_hint = 0x${run.clientScratchVa!.toString(16)}ULL;`);
    // an op that uses the client scratch itself gets no second call
    const case3 = c.slice(c.indexOf('\tcase 3:'), c.indexOf('\tdefault:'));
    expect(case3).toContain('client_scratch(');
    expect(case3).not.toContain('(void)client_scratch');
  });

  it('VFIO_IOMMU_GET_INFO as the first struct call maps only the client scratch: the struct scratch comes later', () => {
    // 7.2 generated program of seed 77019 under exec: the model's struct scratch went unmapped in the C
    // (its page was taken for the client scratch's), and a write running off a buffer into it faulted there
    const p: Program = { name: 'cs1', calls: [{ op: 'open' }, { op: 'vfio_iommu_get_info' }, { op: 'ioas_alloc' }] };
    for (const layout of ['bare', 'exec'] as const) {
      let structAt: bigint | undefined;
      const run = runModel(p, 'latest', { processLayout: layout });
      // the struct scratch where the model's process has it after its first ioctlStruct() (call 2)
      runProgram(p, { profile: 'latest', processLayout: layout, onCall: (r, m) => {
        if (r.index === 2) structAt = m.processes.values().next().value!.ioctlScratch.va;
      } });
      expect(run.scratchVa).toBe(structAt);
      expect(run.clientScratchAt).toEqual({ call: 1, bytes: 4096n });
      // top-down: the client scratch first, the struct scratch right below it
      expect(run.clientScratchVa).toBe(structAt! + 4096n);
      expect(exportC(p, { profile: 'latest', run })).toContain(`scratch_hint = 0x${structAt!.toString(16)}ULL;`);
    }
    // 6.12 generated program of seed 77020: the program unmaps the struct scratch, and the client scratch
    // the next call maps takes its place: that page is the client scratch's now
    const q: Program = {
      name: 'cs2',
      calls: [{ op: 'open' }, { op: 'ioas_alloc', as: '$i' }, { op: 'mmap', as: '$b', length: '16K' }, { op: 'munmap', addr: '$b', length: '20K' }, { op: 'ioas_iova_ranges', ioas: '$i', num_iovas: 1 }],
    };
    const rq = runModel(q, 'v6.12');
    expect(rq.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(rq.clientScratchVa).toBe(rq.scratchVa);
    expect(rq.clientScratchAt).toEqual({ call: 4, bytes: 4096n });
  });

  it("a forked child's own scratches: the exported C's child maps them where the model's child has them", () => {
    // 7.2.13, 100-call generated programs of seed 77021: a child's first IOAS_ALLOW_IOVAS mapped its client
    // scratch in its own address space; the C child put it elsewhere, and a later write into that page or a
    // 7-page mremap of the child's placed a page apart
    const p: Program = {
      name: 'child-scratch',
      calls: [
        { op: 'open' },
        { op: 'ioas_alloc', as: '$i' },
        { op: 'fork', as: '$c' },
        { op: 'mmap', as: '$m', length: '16K' },
        { op: 'ioas_allow_iovas', proc: '$c', ioas: '$i', ranges: [[0x8000000, 0x8001fff]] },
        { op: 'fork', as: '$d' },
        { op: 'ioas_alloc', proc: '$d' },
      ],
    };
    const run = runModel(p, 'latest', { processLayout: 'exec' });
    expect(run.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    // slot 1 mapped its client scratch itself (the struct scratch came from main before the fork); slot 2 nothing
    const slot1 = run.childScratch?.get(1);
    expect(slot1?.scratchVa).toBeUndefined();
    expect(slot1?.clientScratchVa).toBeDefined();
    expect(run.childScratch?.has(2)).toBe(false);
    const c = exportC(p, { profile: 'latest', run });
    expect(c).toContain(`static const uint64_t child_cscratch_hint[NPROCS + 1] = { 0, ${cU64Text(slot1!.clientScratchVa!)}, 0 };`);
    expect(c).toContain('static const uint64_t child_scratch_hint[NPROCS + 1] = { 0, 0, 0 };');
  });
});

/** A u64 as the exported C writes it. */
function cU64Text(v: bigint): string {
  return `0x${v.toString(16)}ULL`;
}

describe('oracle programs from the conformance scenarios', () => {
  it('test/oracle/programs is what scripts/oracle/conformance-programs.ts writes, and the model runs every one', () => {
    const root = join(import.meta.dirname, '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'oracle-programs-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'oracle', 'conformance-programs.ts'), dir], { encoding: 'utf8', cwd: root });
      expect(r.status).toBe(0);
      const committed = join(root, 'test', 'oracle', 'programs');
      const names = readdirSync(dir).sort();
      expect(names.length).toBeGreaterThanOrEqual(150);
      expect(readdirSync(committed).sort()).toEqual(names);
      for (const n of names) expect(readFileSync(join(committed, n), 'utf8')).toBe(readFileSync(join(dir, n), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { programs, errors } = loadPrograms([join(root, 'test', 'oracle', 'programs')], root);
    expect(errors).toEqual([]);
    for (const p of programs) {
      const run = runProgram(p.program, { profile: 'v6.12' });
      expect(run.exception, p.name).toBeUndefined();
    }
  });
});

describe('the oracle report', () => {
  it('fits 100 columns, long answers wrapped inside the table', async () => {
    const { formatOracle } = await import('../../src/cli/oracle.js');
    const long = 'iova_pgsizes=0x1ffffff000 out_iova_alignment=0x1000 caps=0x0';
    const res = {
      reports: [
        {
          name: 'examples/vfio-type1.yaml',
          status: 'diverged' as const,
          calls: 12,
          compared: 12,
          divergences: [{ program: 'examples/vfio-type1.yaml', call: 7, op: 'vfio_iommu_get_info', class: 'value' as const, model: long, kernel: long.replace('0x1ffffff000', '0x1000') }],
          modelWarnings: [],
          kernelWarnings: [],
        },
      ],
      summary: {
        kernel: 'bzImage', release: '7.2.13', profile: 'latest' as const, programs: 1, calls: 12, compared: 12, agree: 0, explained: 0, diverged: 1, skipped: 0, errors: 0,
        byClass: { value: { all: 1, unexplained: 1 } }, stale: [], seconds: { model: 0, build: 0, vm: 0, boots: 1 }, vmProgramsPerSecond: 0, ok: false,
      },
    };
    const text = formatOracle(res);
    expect(text).toContain('UNEXPLAINED');
    expect(text).toContain('vfio_iommu_get_info');
    const tableLines = text.split('\n').filter((l) => /[│|┌└├]/.test(l));
    expect(tableLines.length).toBeGreaterThan(3);
    for (const l of tableLines) expect(l.length, l).toBeLessThanOrEqual(100);
  });
});

describe('WARN sites', () => {
  it('reads both splat formats (6.12 and from 6.19) and names the function the WARN is written in', () => {
    const old = parseSplat('[   12.5] WARNING: CPU: 0 PID: 77 at drivers/iommu/iommufd/selftest.c:488 mock_domain_iova_to_phys+0x1c/0x26', '6.12.95');
    expect(old).toEqual({ fn: 'mock_domain_iova_to_phys', symbol: 'mock_domain_iova_to_phys', file: 'drivers/iommu/iommufd/selftest.c', line: 488 });
    // 7.2: iommu_unmap_nofail() is inlined into its caller; the table names it from file:line.
    const now = parseSplat('WARNING: drivers/iommu/iommufd/pages.c:238 at iopt_area_unpin_domain+0x2f4/0x3a0, CPU#0: oracle-progs/91', '7.2.13');
    expect(now).toEqual({ fn: 'iommu_unmap_nofail', symbol: 'iopt_area_unpin_domain', file: 'drivers/iommu/iommufd/pages.c', line: 238 });
    // No row for the release or the line: the symbol stands (compiler suffixes dropped).
    expect(parseSplat('WARNING: CPU: 1 PID: 2 at mm/gup.c:99999 is_valid_gup_args.isra.0+0x1/0x2', '6.12.95')?.fn).toBe('is_valid_gup_args');
    expect(parseSplat('WARNING: at foo+0x1/0x2, CPU#0: x/1', '9.9')?.fn).toBe('foo');
    expect(parseSplat('WARNING: stack going in the wrong direction', '7.2.13')).toBeUndefined();
    // A generic_pt header seen through its format's ../ include, its NS() name format-free.
    const pt = parseSplat('WARNING: drivers/iommu/generic_pt/fmt/../iommu_pt.h:947 at pt_iommu_amdv1_map_pages+0x9/0x40, CPU#0: p/3', '7.2.13');
    expect(pt).toMatchObject({ fn: 'pt_iommu_map_range', file: 'drivers/iommu/generic_pt/iommu_pt.h', line: 947 });
  });

  it('the table covers both kernels, each function by its line range', () => {
    const t = loadSites();
    for (const r of ['6.12.95', '7.2.13']) {
      const pages = t[r]['drivers/iommu/iommufd/pages.c'];
      expect(pages.map((x) => x[2])).toEqual(expect.arrayContaining(['iopt_area_unpin_domain', 'batch_clear_carry', 'iommu_unmap_nofail']));
      for (const [a, b] of pages) expect(a).toBeLessThan(b);
    }
  });

  it('docs/oracle.md lists every model site alias, and each names a kernel function of the table', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'oracle.md'), 'utf8');
    const names = new Set(Object.values(loadSites()).flatMap((r) => Object.values(r).flatMap((fns) => fns.map((f) => f[2]))));
    for (const [m, ks] of Object.entries(MODEL_SITE_ALIASES)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${m}\` |`));
      expect(row, m).toBeDefined();
      for (const k of ks) {
        expect(row).toContain(`\`${k}\``);
        expect(names.has(k), k).toBe(true);
      }
    }
  });

  it('compares the sets of functions, with the model aliases', () => {
    expect(modelWarnFunction('iopt_area_unpin_domain.last')).toBe('iopt_area_unpin_domain');
    const k = (fn: string) => ({ fn, symbol: fn });
    expect(compareWarnSites(['mock_domain_iova_to_phys.missing', 'mock_domain_iova_to_phys.missing'], [k('mock_domain_iova_to_phys')]).same).toBe(true);
    expect(compareWarnSites(['mock_domain_unmap.last'], [k('mock_domain_unmap_pages'), k('mock_domain_unmap_pages')]).same).toBe(true);
    const d = compareWarnSites(['mock_domain_unmap.last'], [k('iommu_unmap_nofail')]);
    expect(d).toMatchObject({ same: false, modelOnly: ['mock_domain_unmap'], kernelOnly: ['iommu_unmap_nofail'] });
    expect(compareWarnSites(['iopt_area_unpin_domain.last'], [{ fn: 'iommu_unmap_nofail', symbol: 'iopt_area_unpin_domain' }]).same).toBe(true);
  });

  it('a WARN in another function on the kernel is a warn/site divergence; the same function agrees', () => {
    const { programs } = loadPrograms(['test/regressions/v6.5-mock-iova-to-phys-hole.yaml']);
    const p = programs[0].program;
    const r = runProgram(p, { profile: 'v6.12' });
    expect(r.warnings.map((w) => w.assertion)).toContain('mock_domain_iova_to_phys.missing');
    const k = kernelLike(p);
    k.kmsg.push('[ 3.1] WARNING: CPU: 0 PID: 45 at drivers/iommu/iommufd/selftest.c:488 mock_domain_iova_to_phys+0x1c/0x26');
    expect(compareProgram('hole', p, r, k, '6.12.95', []).status).toBe('agree');
    const k2 = kernelLike(p);
    k2.kmsg.push('[ 3.1] WARNING: CPU: 0 PID: 45 at drivers/iommu/iommufd/pages.c:1230 iopt_area_unpin_domain+0x1c/0x26');
    const d = compareProgram('hole', p, r, k2, '6.12.95', []);
    expect(d.status).toBe('diverged');
    expect(d.divergences.map((x) => [x.class, x.field, x.model, x.kernel])).toEqual([
      ['warn', 'site', 'WARN mock_domain_iova_to_phys.missing', 'WARN iopt_area_unpin_domain (drivers/iommu/iommufd/pages.c:1230)'],
    ]);
  });
});
