// SPDX-License-Identifier: GPL-2.0-only
/**
 * Comparing one program's run on the kernel with its run on the model, call
 * by call, and matching each difference against the known divergences.
 *
 * Classes: `errno` (the call succeeded on one side only, or failed with
 * another errno), `value` (both succeeded, an output or the return differs),
 * `errno` and `value` (field `special-page` for a read of [vvar] or [vdso],
 * `khugepaged` for an MD_CHECK_REFS over pages khugepaged may have collapsed;
 * `missing` and `crash` field `own-memory` when the program unmapped its own
 * image or stack and died of it, `console-read` when it read the console,
 * which sleeps in the VM until the harness kills the program), `addr` (an
 * mmap address differs: the kernel did not take the model's address as its
 * hint), `warn` (a WARN on one side only, or, field `site`, both
 * warned but in different functions: warn-sites.ts), `crash` (a kernel BUG/Oops,
 * or the program was killed), `missing` (the kernel printed no result for a
 * call the model ran), `noexport` (an op the C export cannot express),
 * `fault` (a call with fail-nth armed answers differently: the kernel counts
 * every allocation and fault-injection site of the task, the model only the
 * iommufd ones it has; what follows such a call is not compared, and a
 * SIGSEGV or SIGBUS exit after an mmap the kernel refused that way is
 * `crash` field `after-fault`).
 *
 * After a call that succeeded on one side only, the two states differ and
 * the rest of the program is not compared (its differences would be
 * consequences); the WARN and exit checks still apply.
 */
import { errnoName } from '../base/errno.js';
import { hex } from '../base/u64.js';
import { type ModelRun, comparableAnswer } from '../fuzz/export-c.js';
import type { Program } from '../fuzz/program.js';
import { type KernelProgram, kernelWarnings } from './console.js';
import { type KnownDivergence, matchKnown } from './known.js';
import { compareWarnSites, parseSplat } from './warn-sites.js';

export type DivergenceClass = 'errno' | 'value' | 'addr' | 'fault' | 'warn' | 'crash' | 'missing' | 'noexport';

export interface Divergence {
  program: string;
  call?: number;
  op?: string;
  class: DivergenceClass;
  field?: string;
  model: string;
  kernel: string;
  /** The known divergence that explains it. */
  known?: KnownDivergence;
}

export type ProgramStatus = 'agree' | 'explained' | 'diverged' | 'skip' | 'error';

export interface ProgramReport {
  name: string;
  status: ProgramStatus;
  calls: number;
  /** Calls compared with the kernel. */
  compared: number;
  divergences: Divergence[];
  modelWarnings: string[];
  kernelWarnings: string[];
  exit?: number;
  /** Why the program could not be compared (status error / skip). */
  note?: string;
}

function normText(s: string): string {
  return s.toLowerCase().replace(/0x/g, '').replace(/[\s_]/g, '');
}

function valueText(v: bigint | string): string {
  return typeof v === 'string' ? (v.length > 40 ? `${v.slice(0, 40)}...` : v) : v < 10n ? String(v) : hex(v);
}

function parseKernelValue(s: string): bigint | undefined {
  try {
    return BigInt(s);
  } catch {
    return undefined;
  }
}

export function compareProgram(name: string, program: Program, run: ModelRun, kp: KernelProgram | undefined, release: string, known: readonly KnownDivergence[]): ProgramReport {
  const modelWarnings = run.warnings.filter((w) => !w.assertion.startsWith('audit.')).map((w) => `${w.assertion}: ${w.message}`);
  const rep: ProgramReport = { name, status: 'agree', calls: program.calls.length, compared: 0, divergences: [], modelWarnings, kernelWarnings: [] };
  const add = (d: Omit<Divergence, 'program'>): void => {
    const full: Divergence = { program: name, ...d };
    // From the call where the model's machine first ran out of RAM (runModel's ramFullAt) the two
    // runs part for want of memory: the kernel reclaims or OOM-kills (SIGKILL, like the timeout)
    // where the model fails the allocation. Those differences are marked (field ram-full).
    if (full.field === undefined && run.ramFullAt !== undefined && (full.call !== undefined ? full.call >= run.ramFullAt : kp?.exit === 137)) full.field = 'ram-full';
    const k = matchKnown(known, full, release);
    if (k) full.known = k;
    rep.divergences.push(full);
  };
  if (!kp || kp.exit === undefined) {
    rep.status = 'error';
    rep.note = kp ? 'the VM stopped while the program ran' : 'the program never ran in the VM';
    add({ class: 'missing', model: 'a run', kernel: rep.note });
    return finish(rep);
  }
  rep.exit = kp.exit;
  if (kp.exit === 4) {
    rep.status = 'skip';
    rep.note = kp.text.find((l) => l.startsWith('SKIP')) ?? 'skipped';
    return rep;
  }
  const { warns, bugs } = kernelWarnings(kp.kmsg);
  rep.kernelWarnings = [...warns, ...bugs];
  // The program took away its own text, data or stack (runModel's ownMemoryLostAt) and
  // the real one died of it (SIGSEGV / SIGBUS, or SIGILL when it went on executing what
  // a MAP_FIXED mapping put over its text): its missing results and its exit are
  // marked (field own-memory); the model's process has no instructions to fetch.
  // (or a fork's child started with its stack wiped, runModel's childWipedAt: it dies or spins, and the
  // parent waits for it until the harness kills the program)
  const lostAt = Math.min(run.ownMemoryLostAt ?? Number.POSITIVE_INFINITY, run.childWipedAt ?? Number.POSITIVE_INFINITY);
  const killedBySelf =
    ((kp.exit === 128 + 11 || kp.exit === 128 + 7 || kp.exit === 128 + 4) && run.ownMemoryLostAt !== undefined) ||
    ((kp.exit === 128 + 9 || kp.exit === 128 + 11 || kp.exit === 128 + 7) && run.childWipedAt !== undefined);
  let ownMemory = false;
  // It read its stdout or stderr, the VM's console (runModel's consoleReadAt): n_tty_read() sleeps
  // there for input that never comes and the harness kills the program (exit 137); the model cannot
  // wait and answered EAGAIN. The missing results from that call on and the exit are marked.
  const blockedAt = kp.exit === 128 + 9 ? (run.consoleReadAt ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  let blocked = false;
  // The comparison stopped at an mmap or mremap with fail-nth armed that the kernel refused and the model
  // did not (class fault): the real program has no mapping where the model's has one.
  let faultStop = false;
  // The comparison stopped at any fail-nth call that answered differently: from there the runs part.
  let faultParted = false;
  for (const r of run.results) {
    if (r.expected === 'no exception') break; // the model stopped here (its own exception)
    const c = program.calls[r.index];
    const k = kp.calls.get(r.index);
    // A call by a process the program already ended (an `exit` op): the model's process answers
    // ESRCH, the C program has no process left to make it ("dead"). Both say the same; go on.
    if (k?.state === 'dead' && r.errno === 'ESRCH') continue;
    if (!k || k.state === 'dead' || k.state === 'died') {
      ownMemory = killedBySelf && r.index >= lostAt;
      blocked = !ownMemory && r.index >= blockedAt;
      add({ call: r.index, op: r.op, class: 'missing', ...(ownMemory ? { field: 'own-memory' } : blocked ? { field: 'console-read' } : {}), model: r.errno ?? 'ok', kernel: k?.state ?? 'no result' });
      break;
    }
    if (k.state === 'meta') continue;
    if (k.state === 'noexport') {
      add({ call: r.index, op: r.op, class: 'noexport', model: r.errno ?? 'ok', kernel: 'not exported' });
      continue;
    }
    rep.compared++;
    const a = comparableAnswer(c, r);
    const kErrno = k.rc < 0n ? errnoName(Number(-k.rc)) : undefined;
    const armed = r.outputs.fault_injected !== undefined;
    // It read a page of [vvar]/[vdso] (runModel's specialReadCalls): the model has none of
    // the kernel's bytes there, so what it read is marked (field special-page), and so is its
    // errno, which may rest on those bytes (copy_struct_from_user()'s E2BIG for a nonzero tail).
    const special = run.specialReadCalls?.includes(r.index) === true;
    // MD_CHECK_REFS over small pages khugepaged may have collapsed in the VM (runModel's khugepagedCalls).
    const khugepaged = run.khugepagedCalls?.includes(r.index) === true;
    if (armed && (a.errno !== kErrno || String(a.outputs.fault_injected) !== String(parseKernelValue(k.outputs.fault_injected ?? '0')))) {
      add({ call: r.index, op: r.op, class: 'fault', model: `${a.errno ?? 'ok'} fault_injected=${a.outputs.fault_injected}`, kernel: `${kErrno ?? 'ok'} fault_injected=${k.outputs.fault_injected ?? '?'}` });
      rep.note = 'not compared after a fail-nth call that answered differently';
      faultParted = true;
      faultStop = (r.op === 'mmap' || r.op === 'mremap') && a.errno === undefined && kErrno !== undefined;
      break;
    }
    if (a.errno !== kErrno) {
      add({ call: r.index, op: r.op, class: 'errno', ...(special ? { field: 'special-page' } : khugepaged ? { field: 'khugepaged' } : {}), model: a.errno ?? 'ok', kernel: kErrno ?? 'ok' });
      // One side did what the other refused: the states part here and what follows
      // differs as a consequence (object IDs, IOVAs, EBUSY/ENOENT), so it is not compared.
      if ((a.errno === undefined) !== (kErrno === undefined)) {
        rep.note = `not compared after call ${r.index}: the call succeeded on one side only`;
        break;
      }
      continue;
    }
    if (a.outputs.fault_injected !== undefined && k.outputs.fault_injected !== undefined) {
      const kf = parseKernelValue(k.outputs.fault_injected);
      if (kf !== a.outputs.fault_injected) add({ call: r.index, op: r.op, class: 'value', field: 'fault_injected', model: `fault_injected=${valueText(a.outputs.fault_injected)}`, kernel: `fault_injected=${k.outputs.fault_injected}` });
    }
    if (a.errno !== undefined) continue;
    if (a.ret !== undefined && a.ret !== BigInt.asUintN(64, k.rc)) add({ call: r.index, op: r.op, class: 'value', field: 'ret', model: `ret=${valueText(a.ret)}`, kernel: `ret=${valueText(BigInt.asUintN(64, k.rc))}` });
    for (const [f, mv] of Object.entries(a.outputs)) {
      if (f === 'fault_injected') continue;
      const kv = k.outputs[f];
      const cls: DivergenceClass = f === 'addr' ? 'addr' : 'value';
      if (kv === undefined) {
        add({ call: r.index, op: r.op, class: cls, field: f, model: `${f}=${valueText(mv)}`, kernel: `${f} not reported` });
        continue;
      }
      const same = typeof mv === 'string' ? normText(mv) === normText(kv) : mv === parseKernelValue(kv);
      if (!same) add({ call: r.index, op: r.op, class: cls, field: special ? 'special-page' : f, model: `${f}=${valueText(mv)}`, kernel: `${f}=${typeof mv === 'string' ? valueText(kv) : valueText(parseKernelValue(kv) ?? kv)}` });
    }
  }
  if (bugs.length) add({ class: 'crash', model: 'no BUG', kernel: bugs[0] });
  // The exit too, when the comparison stopped earlier (a fail-nth answered differently) but the
  // real program died no sooner than the call that took its memory away.
  if (killedBySelf && !ownMemory) {
    const diedAt = run.results.find((r) => {
      const k = kp.calls.get(r.index);
      return !k || k.state === 'dead' || k.state === 'died';
    })?.index;
    ownMemory = diedAt !== undefined && diedAt >= lostAt;
  }
  // (a program the kernel BUGged under dies of it: that one crash is the BUG)
  // A program that died of SIGSEGV / SIGBUS after such an mmap (the kernel failed an allocation the model
  // does not count) went on with what it returned there, a failed mmap's address 0, which its later
  // memory calls use: its exit is marked too (field after-fault).
  const afterFault = faultStop && !ownMemory && (kp.exit === 128 + 11 || kp.exit === 128 + 7);
  if (kp.exit !== 0 && kp.exit !== 1 && bugs.length === 0) add({ class: 'crash', ...(ownMemory ? { field: 'own-memory' } : afterFault ? { field: 'after-fault' } : blocked ? { field: 'console-read' } : {}), model: 'exit 0/1', kernel: kp.exit === 137 ? 'killed (timeout)' : `exit ${kp.exit}` });
  // WARNs by site: the function each side warned in (warn-sites.ts), each once.
  const modelSites = run.warnings.map((w) => w.assertion).filter((a) => !a.startsWith('audit.'));
  const kernelSites = warns.map((w) => parseSplat(w, release) ?? { fn: '?', symbol: w });
  const sites = compareWarnSites(modelSites, kernelSites);
  const kernelText = (): string => `WARN ${[...new Map(kernelSites.map((k) => [k.fn, k.file ? `${k.fn} (${k.file}:${k.line})` : k.fn])).values()].join(', ')}`;
  // (after a fail-nth call that answered differently, the calls the two runs make are no longer the same ones)
  if ((modelSites.length > 0) !== (warns.length > 0)) {
    add({ class: 'warn', ...(faultParted ? { field: 'after-fault' } : {}), model: modelSites.length ? `WARN ${modelSites[0]}` : 'no WARN', kernel: warns.length ? kernelText() : 'no WARN' });
  } else if (!sites.same) {
    add({ class: 'warn', field: faultParted ? 'after-fault' : 'site', model: `WARN ${[...new Set(modelSites)].join(', ')}`, kernel: kernelText() });
  }
  return finish(rep);
}

function finish(rep: ProgramReport): ProgramReport {
  if (rep.status === 'error' || rep.status === 'skip') return rep;
  if (rep.divergences.length === 0) rep.status = 'agree';
  else rep.status = rep.divergences.every((d) => d.known) ? 'explained' : 'diverged';
  return rep;
}
