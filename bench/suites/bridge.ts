// SPDX-License-Identifier: GPL-2.0-only
/**
 * The bridge (`iommufd-sim exec`): what one ioctl costs end to end from a
 * real C program (shim → socket → server → model → back; target ≤ 60 µs on
 * this machine) beside the same ioctl on the model alone, and the whole
 * kernel iommufd selftest binary under exec beside the same source built
 * static and run in the 6.12 oracle VM, measured in one run.
 *
 * The selftest rows need the binaries built by scripts/selftests/build.sh
 * (and QEMU with ../shared/oracle for the VM row); without them the rows say
 * so. --quick runs the round trip only, with fewer calls. Each row carries
 * the 1-minute load average when it started (load1): on a shared machine the
 * bridge, bound by wake-ups, slows down more than the CPU-bound VM.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runExec } from '../../src/bridge/exec.js';
import { cacheDir } from '../../src/bridge/shim-build.js';
import { Machine } from '../../src/machine/index.js';
import { extendInitramfs } from '../../src/oracle/initramfs.js';
import type { BenchResult, SuiteOptions } from '../run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ORACLE = process.env.IOMMUFD_SIM_ORACLE ?? join(ROOT, '..', 'shared', 'oracle');
const IOMMU_OPTION = 0x3b87;

/** The model alone: IOMMU_OPTION (get RLIMIT_MODE) through Process.ioctlStruct, ns per call. */
function modelAlone(n: number): number {
  const m = new Machine({ checks: false });
  const p = m.spawn();
  const fd = p.open('/dev/iommu', 2);
  const buf = new Uint8Array(24);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, 24, true);
  dv.setUint16(8, 1, true);
  for (let i = 0; i < 1000; i++) p.ioctlStruct(fd, IOMMU_OPTION, buf);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (p.ioctlStruct(fd, IOMMU_OPTION, buf) !== 0) throw new Error('IOMMU_OPTION failed');
  return Number(process.hrtime.bigint() - t0) / n;
}

async function roundTrip(dir: string, n: number): Promise<BenchResult> {
  const prog = join(dir, 'roundtrip');
  execFileSync('cc', ['-O2', '-o', prog, join(ROOT, 'test/bridge/progs/roundtrip.c')]);
  const load1 = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const r = await runExec([prog, String(n)], { captureStdout: true, err: () => {} });
  const cpu = process.cpuUsage(cpu0);
  const m = /ns_per_ioctl (\d+)/.exec(r.stdout);
  if (r.status !== 0 || m === null) throw new Error(`roundtrip failed: ${r.status} ${r.stdout}`);
  const bridged = Number(m[1]);
  const alone = modelAlone(n);
  return {
    name: 'ioctl round trip (IOMMU_OPTION), C program under exec',
    usPerIoctl: bridged / 1000,
    modelAloneUs: alone / 1000,
    serverCpuUsPerIoctl: (cpu.user + cpu.system) / n,
    targetUs: 60,
    load1,
    verdict: bridged / 1000 <= 60 ? 'within target' : 'over target',
  };
}

/** The 6.12 selftest under exec, and (same source, static) in the oracle VM. */
async function selftest612(dir: string): Promise<BenchResult[]> {
  const out = join(cacheDir(), 'selftests', '6.12');
  const bin = join(out, 'iommufd');
  if (!existsSync(bin)) return [{ name: 'selftest 6.12 under exec', note: 'not built: run scripts/selftests/build.sh' }];
  const load0 = loadavg()[0];
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const r = await runExec([bin], { profile: 'v6.12', caps: 'all', captureStdout: true, err: () => {} });
  const execS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const st = r.stats;
  // where the time goes: the server answering (busy: model, memory copies, the reply write), the server
  // waiting for the next request (idle: the program's own work and both sides' wake-ups), the top op classes
  const top = Object.entries(st.byOp ?? {})
    .sort((x, y) => y[1].us - x[1].us)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v.n}x ${(v.us / v.n).toFixed(0)}us`)
    .join(', ');
  const rows: BenchResult[] = [
    {
      name: 'selftest 6.12 under exec',
      seconds: execS,
      passed: r.ktap.pass,
      failed: r.ktap.fail,
      skipped: r.ktap.skip,
      bridgedRequests: st.requests,
      usPerRequest: (execS * 1e6) / Math.max(1, st.requests),
      serverCpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, st.requests),
      serverBusyS: (st.busyUs ?? 0) / 1e6,
      serverIdleS: (st.idleUs ?? 0) / 1e6,
      // waits awake that caught the next request / that ended in a sleeping read; shims woken from sleep
      spinHits: st.spinHits ?? 0,
      spinMisses: st.spinMisses ?? 0,
      wakes: st.wakes ?? 0,
      topOps: top,
      load1: load0,
    },
  ];
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
  if (!qemu || !existsSync(join(ORACLE, 'run-vm.sh'))) {
    rows.push({ name: 'selftest 6.12 in the oracle VM', note: 'no QEMU or no oracle' });
    return rows;
  }
  // the same source built static, in a fresh initramfs beside the oracle's init
  const staticOut = join(out, 'static');
  if (!existsSync(join(staticOut, 'iommufd'))) {
    const src = readFileSync(join(out, 'SOURCE'), 'utf8').trim();
    execFileSync(join(ROOT, 'scripts/selftests/build.sh'), { env: { ...process.env, KERNEL_SRC: src, VERSION: '6.12', OUT: staticOut, STATIC: '1' }, stdio: 'ignore' });
  }
  // the oracle's initramfs (busybox, its /init) with this build of the binary replacing /bin/iommufd
  // (a later archive's file wins; no busybox or cpio needed here)
  const cpio = join(dir, 'init.cpio.gz');
  writeFileSync(cpio, extendInitramfs(join(ORACLE, 'init.cpio.gz'), [{ name: 'bin', perm: 0o755 }, { name: 'bin/iommufd', data: readFileSync(join(staticOut, 'iommufd')) }]));
  const load1 = loadavg()[0];
  const t1 = process.hrtime.bigint();
  const vm = spawnSync(join(ORACLE, 'run-vm.sh'), ['selftest', join(ORACLE, 'bzImage'), cpio], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const vmS = Number(process.hrtime.bigint() - t1) / 1e9;
  const totals = /# Totals: pass:(\d+) fail:(\d+) xfail:\d+ xpass:\d+ skip:(\d+)/.exec(vm.stdout ?? '');
  rows.push({
    name: 'selftest 6.12 in the oracle VM (QEMU/TCG, boot included)',
    seconds: vmS,
    passed: totals ? Number(totals[1]) : -1,
    failed: totals ? Number(totals[2]) : -1,
    skipped: totals ? Number(totals[3]) : -1,
    load1,
  });
  rows.push({ name: 'selftest 6.12: exec time / VM time', ratio: execS / vmS, verdict: execS < vmS ? 'model faster' : 'VM faster' });
  return rows;
}

export async function run(opts: SuiteOptions): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  try {
    const rows = [await roundTrip(dir, opts.quick ? 2000 : 20000)];
    if (!opts.quick && (opts.filter === undefined || 'bridge: selftest 6.12'.includes(opts.filter))) rows.push(...(await selftest612(dir)));
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
