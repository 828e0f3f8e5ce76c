// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bridge test programs (test/bridge/progs/*.c) on the real kernels. Each
 * one's checks are what Linux 6.12 and 7.2 answer, and test/bridge runs them
 * under `exec` against the model; here they run, statically linked, in the
 * oracle VM of each kernel (one boot per kernel), so a check that only the
 * model passes fails here. Programs that test exec's own machinery (a device
 * only the model has, `--caps`, the round-trip benchmark) or that need
 * something the VMs lack (sockets: no CONFIG_NET) are left out.
 *
 * The sweep programs (progs/sweep.c: the ioctls; progs/mmsweep.c: memory
 * calls around maps, accesses and domains; progs/badptr.c: bad pointers to
 * the calls exec answers; progs/brk.c: the heap's break under a pin;
 * progs/pollintr.c: a signal during a wait on a model file; progs/fdops.c:
 * the file operations every descriptor takes, on model files;
 * progs/fdreopen.c: model files opened again through /proc/self/fd;
 * progs/nofile.c: RLIMIT_NOFILE over model files; progs/access.c: access(2)
 * and its kin; progs/vmm-*.c: what VMMs do through /dev/iommu) judge nothing themselves: each
 * prints a line per call, and its output on each kernel must be the output
 * under exec with the kernel's profile, line for line.
 *
 * usage: tsx scripts/oracle/bridge-progs.ts --kernel path/bzImage [--kernel ...]
 * Ends with "bridge-progs: N passed, N failed" (program runs); exit 1 on a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { runExec } from '../../src/bridge/exec.js';
import { endQuietlyOnClosedPipe } from '../../src/cli/term.js';
import { checkCompiler, compileAll, compiler, defaultCacheDir, linkMulticall } from '../../src/oracle/build.js';
import { feedLine, newConsole } from '../../src/oracle/console.js';
import { bzImageRelease, extendInitramfs } from '../../src/oracle/initramfs.js';
import { GUEST_INIT, checkQemu, runVm } from '../../src/oracle/vm.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test', 'bridge', 'progs');

/** The programs run on every kernel, and those only 7.2 has what they need for (IOMMU_IOAS_CHANGE_PROCESS and the vIOMMU mmap are 6.13+). */
const PROGRAMS = ['basic', 'cpr', 'creds', 'events', 'fallocate', 'fdlinks', 'fds', 'forkpin', 'frames', 'hugepages', 'iov', 'late-touch', 'layout', 'lazyfree', 'madvise-flags', 'maps-hugetlb', 'memfd-flags', 'mincore', 'mlocked', 'mmap-files', 'mremap', 'mseal', 'outsidefds', 'pagemap', 'pidfd', 'prlimit', 'rawcalls', 'reopen', 'seals', 'shared-rss', 'smaps', 'smaps-anon', 'thp', 'tmpfs', 'transport', 'uname'];
const ONLY_72 = ['change_process_uid', 'viommu-mmap'];

/** Programs whose output on a kernel must be their output under exec with its profile. */
const COMPARED: ReadonlyArray<{ name: string; profiles: Readonly<Record<string, string>> }> = [
  { name: 'sweep', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'mmsweep', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'badptr', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'brk', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'pollintr', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'fdops', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'fdreopen', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'nofile', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'access', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'paths', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vfiosweep', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'spawn', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vfsioctl', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'splice', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'dirs', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'malloc', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'failnth', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'execcaps', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'sigkill', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'clone', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'fdstat', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'epolldup', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vdso', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'hugeresv', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'faultcookie', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'poolwrite', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'sigstorm', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'rawproc', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'failnthxa', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  // (6.12.95 agrees on its own, but in this one boot of every program its slab state adds a tolerated point
  // at the end of the 2 MiB fill in some runs and not in others)
  { name: 'failnthmock', profiles: { '7.2': 'latest' } },
  { name: 'failnthnodes', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'failnthpath', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'failnthmem', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  // (6.12's selftest has no dma-buf exporter)
  { name: 'dmabuf', profiles: { '7.2': 'latest' } },
  // What VMMs do (QEMU's and cloud-hypervisor's iommufd backends), each step printed
  { name: 'vmm-ram', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-hwinfo', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-dirty', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-cpr', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-rlimit', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-fdlife', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-hotplug', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-dirtyleaf', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-rom', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-hugeopt', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-cprexit', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-dirty2', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-copyacct', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-memfdtrunc', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-guard', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-getfd', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
  { name: 'vmm-bigbitmap', profiles: { '6.12': 'v6.12', '7.2': 'latest' } },
];

/**
 * The lines `name` prints under exec with `profile` (built for the host, dynamically: the shim needs
 * LD_PRELOAD). Not position-independent, as the static build in the VM is not: its image sits at
 * 0x400000 in both, so an address the sweep draws there (0x400000 is one of its lengths and
 * addresses) meets the program's text on both sides (sweep seed 7654321: MD_CHECK_REFS of it is 0
 * in the VM, EFAULT under exec from a PIE).
 */
async function underExec(name: string, profile: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-progs-'));
  try {
    const bin = join(dir, name);
    execFileSync(compiler(), ['-O1', '-w', '-no-pie', '-o', bin, join(DIR, `${name}.c`)]);
    const r = await runExec([bin], { profile, captureStdout: true, err: () => {}, caps: 'all' });
    return r.stdout.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The program's source with its header (progs.h, vmm.h) in place (the compile cache takes one
 * self-contained text); a main taking arguments is called with none, as
 * the multicall binary calls main() without any.
 */
function source(name: string): string {
  const text = readFileSync(join(DIR, `${name}.c`), 'utf8').replace(/^#include "([\w.-]+\.h)"$/m, (_, h: string) => readFileSync(join(DIR, h), 'utf8'));
  if (!/^int main\(int argc, char \*\*argv\)$/m.test(text)) return text;
  const renamed = text.replace(/^int main\(int argc, char \*\*argv\)$/m, 'static int bridge_main(int argc, char **argv)');
  return `${renamed}\nint main(void)\n{\n\tstatic char *argv[] = { "${name}", 0 };\n\n\treturn bridge_main(1, argv);\n}\n`;
}

/**
 * The oracle's /init without its chmod of the device nodes (the oracle's
 * programs drop to uid 1000 before opening them; these open them as root and
 * check the node's own mode, 0660).
 */
const INIT = GUEST_INIT.replace(/^chmod 0666 \/dev\/iommu .*\n/m, '');

async function runOn(kernel: string): Promise<{ passed: number; failed: number }> {
  const image = readFileSync(kernel);
  const release = bzImageRelease(image) ?? '';
  const version = /^(\d+\.\d+)/.exec(release)?.[1] ?? '';
  const checked = (version === '6.12' ? PROGRAMS : version === '7.2' ? [...PROGRAMS, ...ONLY_72] : []).map((name) => ({ name }));
  const compared = COMPARED.filter((p) => p.profiles[version] !== undefined);
  const progs = [...checked, ...compared];
  if (checked.length === 0) {
    console.log(`bridge-progs: Linux ${release || '?'} (${kernel}): no program is known to pass on it`);
    return { passed: 0, failed: 1 };
  }
  const cache = defaultCacheDir();
  const compiled = await compileAll(progs.map((p) => source(p.name)), cache);
  const bad = compiled.findIndex((c) => 'error' in c);
  if (bad >= 0) {
    console.log(`bridge-progs: ${progs[bad].name}.c does not compile:\n${(compiled[bad] as { error: string }).error}`);
    return { passed: 0, failed: progs.length };
  }
  const bin = await linkMulticall(compiled as Array<{ entry: string; object: string }>, cache);
  const initrd = extendInitramfs(join(resolve(kernel, '..'), 'init.cpio.gz'), [
    { name: 'init', data: Buffer.from(INIT) },
    { name: 'bin/oracle-progs', data: readFileSync(bin) },
    { name: 'oracle-list', data: Buffer.from(`${progs.map((_, k) => k).join('\n')}\n`), perm: 0o644 },
    { name: 'oracle-timeout', data: Buffer.from('60\n'), perm: 0o644 },
  ]);
  const st = newConsole();
  const cur: { n?: number } = {};
  const res = await runVm({ kernel, initrd, timeoutSec: 90 + 60 * progs.length, onLine: (line) => feedLine(st, line, cur) });
  let passed = 0;
  let failed = 0;
  for (const [j, p] of compared.entries()) {
    const kp = st.programs.get(checked.length + j);
    const want = await underExec(p.name, p.profiles[version]);
    const got = kp?.text ?? [];
    const at = want.findIndex((l, i) => got[i] !== l);
    if (kp?.exit === 0 && got.length === want.length && at < 0) {
      passed++;
      console.log(`ok ${p.name} on ${release}: ${got.length} lines, the same under exec (${p.profiles[version]})`);
    } else {
      failed++;
      const i = at < 0 ? Math.min(got.length, want.length) : at;
      console.log(`FAIL ${p.name} on ${release}: exit ${kp?.exit ?? 'none'}, ${got.length} lines against ${want.length} under exec; line ${i + 1}:`);
      console.log(`  kernel: ${got[i] ?? '(none)'}`);
      console.log(`  exec:   ${want[i] ?? '(none)'}`);
    }
  }
  checked.forEach((p, k) => {
    const kp = st.programs.get(k);
    const checks = kp?.text.filter((l) => /^(ok|FAIL) /.test(l)) ?? [];
    const fails = checks.filter((l) => l.startsWith('FAIL '));
    // every check passed, and there were checks (a program that died early printed fewer)
    if (kp?.exit === 0 && fails.length === 0 && checks.length > 0) {
      passed++;
      console.log(`ok ${p.name} on ${release}: ${checks.length} checks`);
    } else {
      failed++;
      console.log(`FAIL ${p.name} on ${release}: exit ${kp?.exit ?? (res.timedOut ? 'timeout' : 'none')}, ${checks.length} checks`);
      for (const l of (fails.length ? fails : (kp?.text ?? st.other)).slice(0, 10)) console.log(`  ${l}`);
    }
  });
  return { passed, failed };
}

async function main(): Promise<void> {
  endQuietlyOnClosedPipe();
  const cli = new Command('bridge-progs')
    .description('Run the bridge test programs on real kernels (the oracle VMs).')
    .requiredOption('--kernel <bzImage...>', 'a kernel with init.cpio.gz beside it (../shared/oracle*/bzImage)')
    .exitOverride()
    .configureOutput({ writeErr: (t) => process.stderr.write(t) });
  try {
    cli.parse(process.argv);
  } catch (e) {
    // commander printed the usage error (or the help, exit code 0)
    process.exitCode = (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    return;
  }
  const kernels: string[] = cli.opts().kernel;
  const absent = kernels.find((k) => !existsSync(k));
  if (absent !== undefined) {
    process.stderr.write(`bridge-progs: ${absent}: no such kernel image (../shared/oracle/bzImage, ../shared/oracle-7.2/bzImage)\n`);
    process.exitCode = 2;
    return;
  }
  const missing = checkQemu() ?? checkCompiler();
  if (missing) {
    console.log(`bridge-progs: ${missing}`);
    console.log('bridge-progs: 0 passed, 1 failed');
    process.exitCode = 1;
    return;
  }
  let passed = 0;
  let failed = 0;
  for (const k of kernels) {
    const r = await runOn(k);
    passed += r.passed;
    failed += r.failed;
  }
  console.log(`bridge-progs: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
