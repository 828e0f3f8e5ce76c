// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommufd-sim exec [--profile P] [--ktap] -- ./prog args`: run an unmodified
 * program with /dev/iommu answered by the model (src/bridge). The exit status
 * is the program's; a failure of the bridge server gives 70 whatever the
 * program returned; 127 for a program that cannot run under the bridge
 * (missing, or statically linked); 2 for usage errors.
 */
import { type Command, Option } from 'commander';
import { PROFILE_NAMES } from '../base/profile.js';
import type { ThpMode } from '../mm/address-space.js';
import { MAX_MACHINE_BYTES } from '../mm/physical-memory.js';
import { CAPABILITIES } from '../mm/task.js';
import { runExec } from '../bridge/exec.js';
import { ShimBuildError } from '../bridge/shim-build.js';
import { parseSize } from '../base/u64.js';
import { UsageError } from './errors.js';

interface ExecCliOptions {
  profile: string;
  memory?: string;
  gbpages?: boolean;
  hugepages?: string;
  thp: ThpMode;
  ktap?: boolean;
  panicOnWarn?: boolean;
  caps?: string;
  aslr?: boolean;
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('Run an unmodified program with /dev/iommu answered by the model (LD_PRELOAD shim + bridge server).')
    .addOption(new Option('--profile <name>', 'kernel behaviour profile').choices([...PROFILE_NAMES]).default('latest'))
    .option('--memory <size>', "the simulated machine's RAM, e.g. 4G (default 1G, as the oracle VMs): one mapping charged more than this is ENOMEM")
    .option('--gbpages', 'the simulated CPU has 1 GiB pages, so MAP_HUGE_1GB and MFD_HUGE_1GB exist (by default they do not, as under QEMU\'s default CPU)')
    .option('--hugepages <n>', '2 MiB huge pages in the hugetlb pool (nr_hugepages; default 128, as the oracle VMs)')
    .addOption(new Option('--thp <mode>', 'transparent_hugepage/enabled at the start (default always, as the oracle VMs boot; a root write of the knob changes it)').choices(['always', 'madvise', 'never']).default('always'))
    .option('--ktap', "pass the program's KTAP output through and end with a summary line")
    .option('--caps <list>', "the program's effective capabilities in the model: 'all', 'none' or CAP_X,CAP_Y (default: its real ones)")
    .option('--panic-on-warn', 'exit 70 when the model WARNs, even if the program passed')
    .option('--no-aslr', 'run the program with address-space randomization off (setarch -R), as the oracle VMs run theirs')
    .argument('<program...>', 'the program and its arguments (after --)')
    .usage('[--profile P] [--ktap] -- ./prog [args...]')
    .addHelpText(
      'after',
      [
        '',
        'Exit status: the program\'s; 70 when the bridge server failed; 127 when the program',
        'cannot run under the bridge (not found, or statically linked: the shim needs LD_PRELOAD).',
        'Environment: IOMMUFD_SIM_TRACE=1 prints every request; IOMMUFD_SIM_SPIN_US=N (default 100,',
        '0 = off) is how long each side waits awake for the other on an idle machine.',
      ].join('\n'),
    )
    .action(async (argv: string[], opts: ExecCliOptions) => {
      if (argv.length === 0) throw new UsageError('exec: no program given');
      let caps: 'all' | string[] | undefined;
      if (opts.caps !== undefined) {
        caps = opts.caps === 'all' ? 'all' : opts.caps === 'none' ? [] : opts.caps.split(',').filter((c) => c !== '').map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`).toUpperCase());
        const unknown = caps === 'all' ? [] : caps.filter((c) => !CAPABILITIES.includes(c));
        if (unknown.length > 0) throw new UsageError(`exec: unknown capability ${unknown.join(', ')}`);
      }
      if (opts.memory !== undefined) {
        let bytes = -1n;
        try {
          bytes = parseSize(opts.memory);
        } catch {
          // not a size: refused below
        }
        // PhysicalMemory's range, in pages, at most MAX_MACHINE_BYTES (its per-frame tables are sized by it)
        if (bytes < 1n << 20n || bytes > BigInt(MAX_MACHINE_BYTES) || bytes % 4096n !== 0n) throw new UsageError(`exec: --memory ${opts.memory}: a size from 1M to 1T, a multiple of 4K`);
      }
      let hugepages: number | undefined;
      if (opts.hugepages !== undefined) {
        // at most what 1 TiB (the largest --memory) holds
        if (!/^\d{1,6}$/.test(opts.hugepages) || Number(opts.hugepages) > 1 << 19) throw new UsageError(`exec: --hugepages ${opts.hugepages}: a count from 0 to ${1 << 19}`);
        hugepages = Number(opts.hugepages);
      }
      try {
        const r = await runExec(argv, { profile: opts.profile, ...(opts.memory !== undefined ? { memory: opts.memory } : {}), ...(opts.gbpages === true ? { gbpages: true } : {}), ...(hugepages !== undefined ? { hugepages } : {}), thp: opts.thp, ktap: opts.ktap, panicOnWarn: opts.panicOnWarn, caps, noRandomize: opts.aslr === false });
        process.exitCode = r.status;
      } catch (e) {
        if (e instanceof ShimBuildError) {
          process.stderr.write(`iommufd-sim exec: ${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
    });
}
