// SPDX-License-Identifier: GPL-2.0-only
/**
 * The model's side of an oracle run: the program on the kernel's profile in
 * the address space its guest twin really has. The guest runs every program
 * as a freshly exec'd static binary with randomization off (vm.ts
 * guestInit({ aslr: false })), so the model's first process starts with the
 * 'exec' layout (its image at 0x400000, [vvar], [vdso] and [stack] where the
 * guest has them) and every address the model answers is the guest's.
 *
 * This is export-c's runModel() with RunOptions.processLayout 'exec'
 * (runModel takes no run options yet; once it does, call it instead).
 */
import type { ProfileName } from '../base/profile.js';
import { runProgram } from '../fuzz/executor.js';
import type { ModelRun } from '../fuzz/export-c.js';
import { opModule } from '../fuzz/ops/index.js';
import type { Program } from '../fuzz/program.js';

/**
 * Run `p` on `profile` with the exec layout and note where the main
 * process's ioctl scratch page (and the client scratch) landed, as
 * runModel() does: the lowest page the main process gained in the first
 * call that maps one.
 */
export function runModelExec(p: Program, profile: ProfileName): ModelRun {
  let before: Array<[number, number]> = [];
  let scratchVa: bigint | undefined;
  let clientScratchVa: bigint | undefined;
  let mainPid: number | undefined;
  const run: ModelRun = runProgram(p, {
    profile,
    processLayout: 'exec',
    onCall: (r, machine) => {
      mainPid ??= machine.processes.keys().next().value;
      const main = mainPid === undefined ? undefined : machine.processes.get(mainPid);
      if (!main || main.exited) return;
      const now = main.task.mm.vmas.map((v): [number, number] => [v.start, v.end]);
      const structOp = r.op !== 'mmap' && (opModule(r.op)?.spec.ioctl !== undefined || r.op === 'ioctl');
      const clientOp = opModule(r.op)?.clientScratch === true && clientScratchVa === undefined;
      if ((structOp && scratchVa === undefined) || clientOp) {
        const fresh: number[] = [];
        for (const [s, e] of now) {
          let vpn = s;
          while (vpn < e) {
            const cover = before.find(([bs, be]) => vpn >= bs && vpn < be);
            if (cover) {
              vpn = cover[1];
              continue;
            }
            fresh.push(vpn);
            const next = before.filter(([bs]) => bs > vpn).reduce((m, [bs]) => Math.min(m, bs), e);
            if (next - vpn > 1 && clientOp) fresh.push(vpn + 1);
            vpn = Math.min(next, e);
          }
        }
        fresh.sort((a, b) => a - b);
        if (structOp && scratchVa === undefined && fresh.length > 0) {
          scratchVa = BigInt(fresh[0]) * 4096n;
          fresh.shift();
          if (clientOp && fresh.length > 0) clientScratchVa = BigInt(fresh[0]) * 4096n;
        } else if (clientOp && fresh.length > 0) clientScratchVa = BigInt(fresh[0]) * 4096n;
      }
      before = now;
    },
  });
  if (scratchVa !== undefined) run.scratchVa = scratchVa;
  if (clientScratchVa !== undefined) run.clientScratchVa = clientScratchVa;
  return run;
}
