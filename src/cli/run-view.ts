// SPDX-License-Identifier: GPL-2.0-only
/**
 * What `iommufd-sim run` prints for each call: the call with its handles,
 * the handle it bound and that handle's value (`→ $ioas = 2`, so a result of
 * 0 is never read as the IOAS ID), and the expectation beside what came back,
 * both in the same units; failures in red when colour is on. Lines longer
 * than the output width wrap under the call, indented. Also the structured
 * (JSON) form of a run for `--json`.
 */
import { stripVTControlCharacters } from 'node:util';
import type { CallResult, RunResult } from '../fuzz/executor.js';
import { valueText } from '../fuzz/executor.js';
import { type Call, OPS, type ProfileName, expectationFor, parseExpectation } from '../fuzz/program.js';
import type { StateSnapshot } from '../fuzz/state.js';
import { callText } from './report.js';
import { paint } from './term.js';

/** What came back, as the expectation would be written: `ok`, `EINVAL`, or the outputs it names. */
export function gotText(r: CallResult, call: Call | undefined, profile: ProfileName): string {
  const exp = call ? parseExpectation(expectationFor(call, profile)) : undefined;
  const base = r.errno ?? 'ok';
  if (exp && typeof exp !== 'string' && exp.kind === 'values') {
    const parts: string[] = [];
    if (exp.errno !== undefined || r.errno) parts.push(base);
    for (const [k, want] of Object.entries(exp.values)) {
      const v = k === 'ret' ? r.ret : r.outputs[k];
      parts.push(`${k}=${v === undefined ? '(none)' : valueLike(want, v)}`);
    }
    return parts.join(' ');
  }
  return base;
}

const UNITS: ReadonlyArray<readonly [string, bigint]> = [
  ['T', 40n],
  ['G', 30n],
  ['M', 20n],
  ['K', 10n],
];

/**
 * `got` written the way the expectation `want` is: a size (`64M`) in the
 * same unit when exact (else the largest exact one), hex for hex text,
 * decimal for decimal text; numbers (YAML reads 0x1000 as one) as the
 * executor shows values, which is how the expectation is shown too.
 */
export function valueLike(want: unknown, got: number | bigint | string): string {
  if (typeof got === 'string') return valueText(got);
  const g = BigInt(got);
  if (typeof want !== 'string') return valueText(got);
  const w = want.trim();
  const size = /^\d[\d_]*\s*([KMGT])(?:i?B)?$/i.exec(w);
  if (size && g > 0n) {
    const unit = size[1].toUpperCase();
    const order = [UNITS.find(([u]) => u === unit)!, ...UNITS];
    for (const [u, shift] of order) if (g % (1n << shift) === 0n) return `${g >> shift}${u}`;
    return g.toString();
  }
  if (size) return g.toString();
  if (/^0x/i.test(w)) return `0x${BigInt.asUintN(64, g).toString(16)}`;
  if (/^\d+$/.test(w)) return g.toString();
  return valueText(got);
}

/** The handle a call bound and its value: ` → $ioas = 2`. */
function boundText(r: CallResult, call: Call | undefined): string {
  if (!call || typeof call.as !== 'string') return '';
  const spec = OPS[call.op];
  const v = spec?.primary !== undefined ? r.outputs[spec.primary] : r.ret;
  return ` → ${call.as} = ${v === undefined ? '?' : valueText(v)}`;
}

/** Other outputs worth seeing: not the one `as` shows, not those the verdict shows beside their expectation. */
function outputsText(r: CallResult, call: Call | undefined, profile: ProfileName): string {
  const spec = call ? OPS[call.op] : undefined;
  const shown = call && typeof call.as === 'string' ? spec?.primary : undefined;
  const exp = call ? parseExpectation(expectationFor(call, profile)) : undefined;
  const inVerdict = exp && typeof exp !== 'string' && exp.kind === 'values' ? new Set(Object.keys(exp.values)) : new Set<string>();
  const parts = Object.entries(r.outputs)
    .filter(([k]) => k !== shown && !inVerdict.has(k))
    .map(([k, v]) => `${call?.as && typeof call.as === 'string' && k !== 'fault_injected' && k !== 'fault_point' ? `${call.as}.` : ''}${k}=${valueText(v)}`);
  return parts.length ? `  (${parts.join(' ')})` : '';
}

/** Break `text` into lines of at most `width`, at spaces or commas; continuation lines are indented by `indent`. */
export function wrapLine(text: string, width: number, indent: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    const room = first ? width : width - indent;
    if (rest.length <= room) {
      lines.push(first ? rest : `${' '.repeat(indent)}${rest}`);
      break;
    }
    let cut = Math.max(rest.lastIndexOf(' ', room), rest.lastIndexOf(',', room - 1) + 1);
    if (cut <= room / 3) cut = room;
    lines.push(`${first ? '' : ' '.repeat(indent)}${rest.slice(0, cut).trimEnd()}`);
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return lines;
}

/**
 * Tables wider than `width` (cli-table3 drawings in `text`) become one
 * wrapped line per row — `first cell: header value, header value, ...` —
 * so output fits the terminal, or 100 columns when it is not one.
 */
export function fitTables(text: string, width: number): string {
  const lines = text.split('\n');
  // Borders and headers may be coloured: look at the text without escape codes.
  const plain = lines.map((l) => stripVTControlCharacters(l));
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!plain[i].startsWith('┌')) {
      out.push(lines[i]);
      continue;
    }
    let j = i;
    while (j < lines.length && !plain[j].startsWith('└')) j++;
    const block = plain.slice(i, j + 1);
    if (block.every((l) => [...l].length <= width)) {
      out.push(...lines.slice(i, j + 1));
      i = j;
      continue;
    }
    i = j;
    const rows = block.filter((l) => l.startsWith('│')).map((l) => l.slice(1, -1).split('│').map((c) => c.trim()));
    const [head, ...body] = rows;
    for (const r of body) {
      const rest = r
        .slice(1)
        .map((v, k) => (v === '' ? '' : `${head[k + 1]} ${v}`))
        .filter(Boolean);
      out.push(...wrapLine(`  ${head[0]} ${r[0]}: ${rest.join(', ')}`, width, 4));
    }
  }
  return out.join('\n');
}

/** One entry per call: `  5  ioas_map(...) → $iova = 0x1000000   expected ok, got ok`. */
export function callLines(calls: readonly Call[], rr: RunResult, width: number, color: boolean): string[] {
  const lines: string[] = [];
  const w = String(calls.length).length;
  const indent = w + 4;
  for (const r of rr.results) {
    const c = calls[r.index];
    const got = r.expected === undefined ? (r.errno ? `-${r.errno}` : 'ok') : gotText(r, c, rr.profile ?? 'latest');
    const verdict = r.expected === undefined ? `= ${got}` : r.met ? `expected ${r.expected}, got ${got}` : `expected ${r.expected}, GOT ${got}`;
    const mark = r.met ? ' ' : '!';
    const head = `${mark}${String(r.index).padStart(w)}  ${c ? callText(c) : r.op}${boundText(r, c)}${outputsText(r, c, rr.profile ?? 'latest')}`;
    // The verdict stays whole: beside the call when both fit, else on a line of its own under it.
    const body = wrapLine(head, width, indent);
    const last = body[body.length - 1];
    if (last.length + 3 + verdict.length <= width) body[body.length - 1] = `${last}   ${verdict}`;
    else body.push(...wrapLine(`${' '.repeat(indent)}${verdict}`, width, indent));
    for (const l of body) lines.push(r.met ? l : paint(31, l, color));
    if (typeof c?.comment === 'string') for (const l of wrapLine(`${' '.repeat(indent - 2)}# ${c.comment}`, width, indent)) lines.push(paint(2, l, color));
  }
  return lines;
}

/** JSON value of anything the executor returns (bigints as hex strings). */
export function jsonValue(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
}

/** The structured result of a run, for --json: each call with its expectation and what it got, and the final state. */
export function runJson(file: string, calls: readonly Call[], rr: RunResult, state: StateSnapshot | undefined): object {
  return {
    file,
    profile: rr.profile,
    passed: !rr.failed,
    reasons: rr.reasons ?? [],
    calls: rr.results.map((r) => {
      const c = calls[r.index];
      return {
        index: r.index,
        op: r.op,
        ...(c && typeof c.as === 'string' ? { as: c.as } : {}),
        ret: r.ret,
        ...(r.errno ? { errno: r.errno } : {}),
        outputs: r.outputs,
        // The expectation as the program states it for this profile ("ok", "EINVAL", { ioas_id: 7 }), and as text.
        expect: c ? (expectationFor(c, rr.profile ?? 'latest') ?? null) : null,
        expected: r.expected ?? null,
        got: gotText(r, c, rr.profile ?? 'latest'),
        met: r.met,
      };
    }),
    warnings: rr.warnings.map((w) => ({ assertion: w.assertion, message: w.message, ...(w.syscall ? { syscall: w.syscall } : {}) })),
    expectedWarningSeen: rr.expectedWarningSeen ?? false,
    auditProblems: rr.auditProblems,
    leaks: rr.leaks,
    ...(rr.exception ? { exception: { name: rr.exception.name, message: rr.exception.message } } : {}),
    ...(state ? { finalState: state } : {}),
  };
}
