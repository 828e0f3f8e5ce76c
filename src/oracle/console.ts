// SPDX-License-Identifier: GPL-2.0-only
/** Parsing the guest's console (the markers of vm.ts) into one record per program. */

/** One call's result as the kernel gave it. */
export interface KernelCall {
  /** The return value (>= 0) or -errno. */
  rc: bigint;
  outputs: Record<string, string>;
  /** No result: "meta" (the op makes no system call), "noexport", "dead" or "died" (its process is gone). */
  state?: string;
}

export interface KernelProgram {
  index: number;
  calls: Map<number, KernelCall>;
  /** Kernel log lines written while the program ran. */
  kmsg: string[];
  /** Other lines the program printed (notes, its own divergence report). */
  text: string[];
  /** Exit status from the shell: 0 agree, 1 differ, 4 skip, 137 killed by the timeout. */
  exit?: number;
}

export interface ConsoleState {
  release?: string;
  done: boolean;
  programs: Map<number, KernelProgram>;
  /** Lines outside any program (boot, init). */
  other: string[];
}

export function newConsole(): ConsoleState {
  return { done: false, programs: new Map(), other: [] };
}

const R_RE = /^@R (\d+) (-?\d+|noexport|meta|dead|died)(.*)$/;

/** Feed one console line; returns the index of a program that just ended, if any. */
export function feedLine(st: ConsoleState, raw: string, current: { n?: number }): number | undefined {
  // The console may prefix a line with stray escape codes; the markers start at '@'.
  const at = raw.indexOf('@');
  const line = at > 0 && /^@(VM|BEGIN|R|K|END|DONE)\b/.test(raw.slice(at)) ? raw.slice(at) : raw;
  if (line.startsWith('@VM ')) {
    st.release = line.slice(4).trim();
    return undefined;
  }
  if (line === '@DONE') {
    st.done = true;
    return undefined;
  }
  if (line.startsWith('@BEGIN ')) {
    const n = Number(line.slice(7));
    current.n = n;
    st.programs.set(n, { index: n, calls: new Map(), kmsg: [], text: [] });
    return undefined;
  }
  const prog = current.n !== undefined ? st.programs.get(current.n) : undefined;
  if (line.startsWith('@END ')) {
    const [, n, rc] = line.split(' ');
    const p = st.programs.get(Number(n));
    if (p) p.exit = Number(rc);
    current.n = undefined;
    return Number(n);
  }
  if (!prog) {
    st.other.push(raw);
    return undefined;
  }
  if (line.startsWith('@K ')) {
    prog.kmsg.push(line.slice(3));
    return undefined;
  }
  const m = R_RE.exec(line);
  if (m) {
    const call: KernelCall = { rc: 0n, outputs: {} };
    if (/^-?\d+$/.test(m[2])) call.rc = BigInt(m[2]);
    else call.state = m[2];
    for (const kv of m[3].trim().split(' ')) {
      if (!kv) continue;
      const eq = kv.indexOf('=');
      if (eq > 0) call.outputs[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    prog.calls.set(Number(m[1]), call);
    return undefined;
  }
  prog.text.push(line);
  return undefined;
}

/** WARN splats and worse in a program's kernel log. */
export function kernelWarnings(kmsg: readonly string[]): { warns: string[]; bugs: string[] } {
  const warns: string[] = [];
  const bugs: string[] = [];
  for (const l of kmsg) {
    const t = l.replace(/^\[\s*\d+\.\d+\]\s*/, '');
    if (/^WARNING: /.test(t)) warns.push(t);
    else if (/^(BUG: |kernel BUG|Oops|general protection fault|Kernel panic)/.test(t)) bugs.push(t);
  }
  return { warns, bugs };
}
