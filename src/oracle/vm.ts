// SPDX-License-Identifier: GPL-2.0-only
/**
 * Booting the oracle kernel once under QEMU (TCG: KVM is not usable on these
 * machines, see ../shared/oracle/README.md) with our /init, which runs every
 * program of the list in turn and brackets each with markers:
 *
 *   @VM <release>                   the guest is up
 *   @BEGIN <n>                      program n starts
 *   @R <call> <rc> k=v ...          one call's result (printed by the program)
 *   @K <line>                       a kernel log line written while program n ran
 *   @END <n> <exit status>          program n is done (its dmesg drained first)
 *   @DONE                           all programs ran
 *
 * The oracle boots GUEST_INIT: address-space randomization off for the
 * programs (guestInit), so they run in the layout the model's 'exec'
 * processes have.
 *
 * Before each program the guest compacts its memory (vm.compact_memory), so
 * where a program's THP folios land physically depends less on the programs
 * before it in the batch. It does not make placement deterministic: a program
 * that needs a PFN break pins it down itself (docs/oracle.md).
 *
 * The kernel log is drained with `dmesg -c` after each program, so a WARN is
 * attributed to the program that caused it. The console log level is 1, so
 * WARN splats never interleave with the programs' output.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORACLE_HUGETLB_PAGES } from '../machine/machine.js';

/**
 * The guest's /init (busybox sh). With `aslr: false` it turns address-space
 * randomization off before the first program (randomize_va_space = 0), so
 * every program's stack, vDSO and mmap base sit where the model's processes
 * with the 'exec' layout have them and mmap(NULL, ...) answers the model's
 * addresses (GUEST_INIT); with `aslr: true` the guest keeps its default.
 */
export function guestInit(o: { aslr: boolean }): string {
  return GUEST_INIT_TEMPLATE.replace('@ASLR@\n', o.aslr ? '' : 'echo 0 > /proc/sys/kernel/randomize_va_space\n');
}

const GUEST_INIT_TEMPLATE = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# the programs drop to the model's uid (1000): let it reach and open the device nodes
# (src/machine/machine.ts ORACLE_NODE_MODES: the model's side sets the same modes)
chmod 0755 / /dev
chmod 1777 /tmp
chmod 0666 /dev/iommu /dev/vfio/vfio 2>/dev/null
echo ${ORACLE_HUGETLB_PAGES} > /proc/sys/vm/nr_hugepages
@ASLR@
dmesg -n 1
dmesg -c > /dev/null
echo "@VM $(uname -r)"
T=$(cat /oracle-timeout)
# a process of the programs' uid still alive (not a zombie, which holds nothing)
left() {
  for s in $(grep -ls '^Uid:[[:space:]]*1000[[:space:]]' /proc/[0-9]*/status); do
    grep -qs '^State:[[:space:]]*Z' "$s" || return 0
  done
  return 1
}
for n in $(cat /oracle-list); do
  echo 1 > /proc/sys/vm/compact_memory 2>/dev/null
  # a program may have set its own pool (hugetlb_pages): the next one starts from the boot's
  echo ${ORACLE_HUGETLB_PAGES} > /proc/sys/vm/nr_hugepages
  echo "@BEGIN $n"
  timeout -s KILL "$T" /bin/oracle-progs "$n" < /dev/null
  rc=$?
  # A program that died (SIGSEGV, the timeout's SIGKILL) leaves its children waiting on their command
  # pipes, which every child holds open: they keep its iommufd and its pins charged to uid 1000 for the
  # next programs (6.12.95: a 100-call program's children made the next-but-one's access_pages ENOMEM).
  # Kill them and wait until they are gone. (One that returned quit and reaped its children itself.)
  case $rc in
    0|1|4) ;;
    *)
      kill -KILL -1 2>/dev/null
      w=0
      while [ $w -lt 100 ] && left; do sleep 0.05; w=$((w+1)); done
      ;;
  esac
  dmesg -c | sed 's/^/@K /'
  echo "@END $n $rc"
done
echo "@DONE"
poweroff -f
`;

/** The /init the oracle boots with: randomization off, so a run is deterministic. */
export const GUEST_INIT = guestInit({ aslr: false });

export interface VmOptions {
  kernel: string;
  /** The initramfs (gzip'd cpio) to boot. */
  initrd: Buffer;
  /** Guest memory (MiB). */
  memoryMiB?: number;
  /** Kill QEMU after this many seconds. */
  timeoutSec: number;
  /** Called with every line of the serial console. */
  onLine: (line: string) => void;
  qemu?: string;
}

export interface VmResult {
  status: number | null;
  timedOut: boolean;
  seconds: number;
  stderr: string;
}

export function qemuBinary(): string {
  return process.env.QEMU ?? 'qemu-system-x86_64';
}

export function checkQemu(): string | undefined {
  const r = spawnSync(qemuBinary(), ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${qemuBinary()} not found: apt-get install -y qemu-system-x86 (or set QEMU)`;
  return undefined;
}

/** Boot, stream the console line by line, resolve when QEMU exits. */
export function runVm(o: VmOptions): Promise<VmResult> {
  const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-oracle-'));
  const initrd = join(dir, 'initrd.cpio.gz');
  writeFileSync(initrd, o.initrd);
  const t0 = performance.now();
  const args = [
    '-accel', 'tcg',
    '-m', String(o.memoryMiB ?? 1024),
    '-smp', '1',
    '-nographic',
    '-no-reboot',
    '-nic', 'none',
    '-kernel', o.kernel,
    '-initrd', initrd,
    // no_timer_check: under a loaded host TCG is slow enough for 7.2's IO-APIC
    // timer check to fail ("IO-APIC + timer doesn't work!", a panic before /init).
    '-append', 'console=ttyS0 panic=-1 quiet loglevel=1 no_timer_check',
  ];
  return new Promise((resolvePromise) => {
    const p = spawn(o.qemu ?? qemuBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, o.timeoutSec * 1000);
    p.stdout.setEncoding('latin1');
    p.stdout.on('data', (d: string) => {
      buf += d;
      let k = buf.indexOf('\n');
      while (k >= 0) {
        o.onLine(buf.slice(0, k).replace(/\r$/, ''));
        buf = buf.slice(k + 1);
        k = buf.indexOf('\n');
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 10_000) stderr += d.toString();
    });
    const finish = (status: number | null): void => {
      clearTimeout(timer);
      if (buf) o.onLine(buf.replace(/\r$/, ''));
      rmSync(dir, { recursive: true, force: true });
      resolvePromise({ status, timedOut, seconds: (performance.now() - t0) / 1000, stderr });
    };
    p.on('error', (e) => {
      stderr += String(e);
      finish(-1);
    });
    p.on('close', (status) => finish(status));
  });
}
