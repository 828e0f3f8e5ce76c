// SPDX-License-Identifier: GPL-2.0-only
/**
 * The corpus: programs that each brought new signal, with the union of all
 * signal seen (maxSignal). A program joins when it reaches a signal key no
 * earlier program reached. Programs are chosen for mutation with a weight
 * that grows with the signal they brought (syzkaller's prio by signal).
 *
 * On disk a corpus is a directory of programs, one JSON file each named by
 * a hash of its text (`<hash>.json`); loading parses every *.json / *.yaml.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Prng } from '../base/prng.js';
import { type Program, formatProgram, parseProgram } from './program.js';

export interface CorpusEntry {
  program: Program;
  /** Signal keys this program brought when it joined. */
  newSignal: number;
  /** Total signal of the program. */
  signal: number;
  /** Stable name (hash of the program text). */
  id: string;
  /** Handles whose call failed when the program ran (the mutator avoids them). */
  dead?: string[];
}

/** FNV-1a 64 of a string, as 16 hex digits. */
export function hashText(s: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * prime) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

export function programId(p: Program): string {
  return hashText(formatProgram(p, 'json'));
}

export class Corpus {
  readonly entries: CorpusEntry[] = [];
  readonly maxSignal = new Set<number>();
  private readonly ids = new Set<string>();
  /** Running totals of the entries' weights: cumulative[i] = weight of entries 0..i. */
  private readonly cumulative: number[] = [];
  /** The entries' programs, in order (what programs() hands out). */
  private readonly programList: Program[] = [];
  /** maxSignal's keys in the order they came (what a campaign sends its fuzzers from a base on). */
  private readonly signalOrder: number[] = [];
  /** What rollback() undoes: the entries from this count on, and the signal keys merged since checkpoint(). */
  private journal: { entries: number; signal: number[] } | undefined;

  get size(): number {
    return this.entries.length;
  }

  /** Signal keys of `signal` not yet in maxSignal. */
  newKeys(signal: Iterable<number>): number[] {
    const out: number[] = [];
    for (const k of signal) if (!this.maxSignal.has(k)) out.push(k);
    return out;
  }

  /** Merge signal into maxSignal without adding a program. */
  mergeSignal(signal: Iterable<number>): void {
    const j = this.journal;
    for (const k of signal) {
      if (this.maxSignal.has(k)) continue;
      this.maxSignal.add(k);
      this.signalOrder.push(k);
      j?.signal.push(k);
    }
  }

  /** The signal keys merged after the first `from`, in the order they came. */
  signalFrom(from: number): number[] {
    return this.signalOrder.slice(from);
  }

  /** Start recording what is added, for rollback(). */
  checkpoint(): void {
    this.journal = { entries: this.entries.length, signal: [] };
  }

  /** Take back every entry and signal key added since checkpoint(): the corpus is as it was then. */
  rollback(): void {
    const j = this.journal;
    if (j === undefined) return;
    this.journal = undefined;
    for (let k = j.entries; k < this.entries.length; k++) this.ids.delete(this.entries[k].id);
    this.entries.length = j.entries;
    this.cumulative.length = j.entries;
    this.programList.length = j.entries;
    for (const k of j.signal) this.maxSignal.delete(k);
    this.signalOrder.length -= j.signal.length;
  }

  /**
   * Add `p` when it brings new signal (or `force`); merges its signal. Returns
   * the entry, or undefined when nothing new (or a duplicate).
   */
  add(p: Program, signal: Iterable<number>, force = false, dead?: string[]): CorpusEntry | undefined {
    const keys = [...signal];
    const fresh = this.newKeys(keys);
    if (fresh.length === 0 && !force) return undefined;
    this.mergeSignal(keys);
    return this.insert(p, fresh.length, keys.length, programId(p), dead);
  }

  /** Add a program known to be interesting (a shared corpus entry) with the signal count it brought. */
  insert(p: Program, newSignal: number, signal = newSignal, id = programId(p), dead?: string[]): CorpusEntry | undefined {
    if (this.ids.has(id)) return undefined;
    const e: CorpusEntry = { program: p, newSignal, signal, id, ...(dead && dead.length > 0 ? { dead } : {}) };
    this.ids.add(id);
    this.entries.push(e);
    this.programList.push(p);
    const w = 1 + Math.sqrt(newSignal);
    const n = this.cumulative.length;
    this.cumulative.push(n === 0 ? w : this.cumulative[n - 1] + w);
    return e;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** A program to mutate, weighted by the signal it brought. */
  choose(rng: Prng): Program | undefined {
    return this.chooseEntry(rng)?.program;
  }

  chooseEntry(rng: Prng): CorpusEntry | undefined {
    const n = this.entries.length;
    if (n === 0) return undefined;
    // The first entry whose running total exceeds x (a binary search: a campaign's corpus runs to tens of thousands).
    const x = rng.next() * this.cumulative[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.entries[lo];
  }

  /** The entries' programs, in order (kept as entries come: not to be changed by the caller). */
  programs(): readonly Program[] {
    return this.programList;
  }
}

/** Programs of a corpus directory (every *.json / *.yaml / *.yml that parses), sorted by file name. */
export function loadCorpusDir(dir: string): { programs: Program[]; errors: string[] } {
  const programs: Program[] = [];
  const errors: string[] = [];
  if (!existsSync(dir)) return { programs, errors };
  const files = readdirSync(dir)
    .filter((f) => /\.(json|ya?ml)$/.test(f))
    .sort();
  for (const f of files) {
    const r = parseProgram(readFileSync(join(dir, f), 'utf8'), f);
    if (r.ok) programs.push(r.program);
    else errors.push(r.error);
  }
  return { programs, errors };
}

/** Write programs into a corpus directory as `<hash>.json` (existing files are left alone); returns how many were new. */
export function saveCorpusDir(dir: string, programs: readonly Program[]): number {
  mkdirSync(dir, { recursive: true });
  const have = new Set(readdirSync(dir));
  let n = 0;
  for (const p of programs) {
    const text = formatProgram(p, 'json');
    const name = `${hashText(text)}.json`;
    if (have.has(name)) continue;
    writeFileSync(join(dir, name), text);
    have.add(name);
    n++;
  }
  return n;
}
