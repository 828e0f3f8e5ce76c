// SPDX-License-Identifier: GPL-2.0-only
/**
 * Known divergences: the expected differences between the model and a real
 * kernel, as data (known-divergences.yaml beside this file). Each row names
 * the program (a glob), optionally the call, op, class and field, the model's
 * and the kernel's answer, the kernels it applies to, and the kernel source
 * that explains it. A difference no row explains fails the oracle run; a row
 * naming one program that no longer matches when that program ran is stale
 * (the difference went away) and fails too, so the file stays true.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Divergence } from './compare.js';

export interface KnownDivergence {
  /** Program name glob (`*` matches any run of characters). */
  program: string;
  call?: number;
  op?: string;
  class?: string;
  field?: string;
  /** The model's answer as the report shows it ("EINVAL", "ok", "iova=0x4000"); glob, `|` between alternatives. */
  model?: string;
  /** The kernel's answer; glob. */
  kernel?: string;
  /** Kernel releases it applies to (prefixes: "6.12", "7.2"); absent: every kernel. */
  kernels?: string[];
  why: string;
  /** The kernel function / file:line (or commit) that explains it. */
  source: string;
}

export const KNOWN_FILE = join(import.meta.dirname, 'known-divergences.yaml');

const FIELDS = ['program', 'call', 'op', 'class', 'field', 'model', 'kernel', 'kernels', 'why', 'source'];

/** Load and check the file; throws with the row and the problem. */
export function loadKnown(file = KNOWN_FILE): KnownDivergence[] {
  const doc = parse(readFileSync(file, 'utf8')) as unknown;
  const rows = (doc && typeof doc === 'object' && 'divergences' in doc ? (doc as { divergences: unknown }).divergences : doc) ?? [];
  if (!Array.isArray(rows)) throw new Error(`${file}: expected a list of divergences`);
  return rows.map((r, i) => {
    if (!r || typeof r !== 'object') throw new Error(`${file}: row ${i} is not a mapping`);
    for (const k of Object.keys(r)) if (!FIELDS.includes(k)) throw new Error(`${file}: row ${i}: unknown key ${k}`);
    const x = r as KnownDivergence;
    if (typeof x.program !== 'string' || typeof x.why !== 'string' || typeof x.source !== 'string') throw new Error(`${file}: row ${i} needs program, why and source`);
    return x;
  });
}

/** `*` matches any run of characters; `a|b` is either alternative. */
function glob(pattern: string, text: string): boolean {
  const one = (p: string): string => p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^(?:${pattern.split('|').map(one).join('|')})$`).test(text);
}

export function appliesTo(k: KnownDivergence, release: string): boolean {
  return !k.kernels || k.kernels.some((v) => release === v || release.startsWith(`${v}.`) || release.startsWith(`${v}-`));
}

export function matchKnown(known: readonly KnownDivergence[], d: Divergence, release: string): KnownDivergence | undefined {
  return known.find(
    (k) =>
      appliesTo(k, release) &&
      glob(k.program, d.program) &&
      (k.call === undefined || k.call === d.call) &&
      (k.op === undefined || k.op === d.op) &&
      (k.class === undefined || k.class === d.class) &&
      (k.field === undefined || k.field === d.field) &&
      (k.model === undefined || glob(k.model, d.model)) &&
      (k.kernel === undefined || glob(k.kernel, d.kernel)),
  );
}

/** Rows naming one program (no glob) that ran on this kernel and matched nothing. */
export function staleKnown(known: readonly KnownDivergence[], ran: ReadonlySet<string>, used: ReadonlySet<KnownDivergence>, release: string): KnownDivergence[] {
  return known.filter((k) => !k.program.includes('*') && ran.has(k.program) && appliesTo(k, release) && !used.has(k));
}
