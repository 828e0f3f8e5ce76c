// SPDX-License-Identifier: GPL-2.0-only
/**
 * Text output of the `run` command: one line per call and the state summary
 * tables (cli-table3), drawn from the summary rows of an inspect/ snapshot.
 */
import Table from 'cli-table3';
import { type CallResult, type RunResult, valueText } from '../fuzz/executor.js';
import { type Call, OPS } from '../fuzz/program.js';
import type { StateSnapshot } from '../inspect/summary.js';

const U64_MAX = (1n << 64n) - 1n;

export function hexOf(v: bigint | number): string {
  return `0x${BigInt(v).toString(16)}`;
}

/** Bytes as "64 MiB" / "12 KiB" / "100 B" (exact units only, else hex). */
export function bytesText(v: bigint | number): string {
  const b = BigInt(v);
  if (b === U64_MAX) return 'U64_MAX';
  for (const [u, s] of [
    [30n, 'GiB'],
    [20n, 'MiB'],
    [10n, 'KiB'],
  ] as const) {
    if (b >= 1n << u && b % (1n << u) === 0n) return `${b >> u} ${s}`;
  }
  return b < 4096n ? `${b} B` : hexOf(b);
}

function table(head: string[]): Table.Table {
  const plain = !process.stdout.isTTY;
  return new Table({ head, style: plain ? { head: [], border: [] } : { head: ['cyan'] } });
}

function argText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(argText).join(',')}]`;
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && v >= 4096)) return hexOf(v);
  if (typeof v === 'string' && v.length > 24) return `${v.slice(0, 24)}…`;
  return String(v);
}

/** "ioas_map(ioas=$ioas, user_va=$guest, length=64M)" */
export function callText(c: Call): string {
  const spec = OPS[c.op];
  const args: string[] = [];
  if (spec) for (const k of Object.keys(spec.fields)) if (c[k] !== undefined) args.push(`${k}=${argText(c[k])}`);
  const who = c.proc !== undefined ? `${String(c.proc)}: ` : '';
  return `${who}${c.op}(${args.join(', ')})`;
}

export function resultText(r: CallResult): string {
  if (r.errno) return `-${r.errno}`;
  const main = typeof r.ret === 'bigint' ? hexOf(r.ret) : String(r.ret);
  const outs = Object.entries(r.outputs).map(([k, v]) => `${k}=${valueText(v)}`);
  return outs.length ? `${main} ${outs.join(' ')}` : main;
}

/** One line per call: index, call, what it returned, the expectation and whether it was met. */
export function callLines(calls: Call[], rr: RunResult): string[] {
  const lines: string[] = [];
  const w = String(calls.length).length;
  for (const r of rr.results) {
    const c = calls[r.index];
    const bind = c?.as ? ` → ${c.as}` : '';
    const exp = r.expected === undefined ? '' : r.met ? `  [${r.expected}: met]` : `  [${r.expected}: NOT MET]`;
    const mark = r.met ? ' ' : '!';
    lines.push(`${mark}${String(r.index).padStart(w)}  ${c ? callText(c) : r.op}${bind} = ${resultText(r)}${exp}`);
    if (typeof c?.comment === 'string') lines.push(`${' '.repeat(w + 3)}# ${c.comment}`);
  }
  return lines;
}

/** The state summary tables. */
export function stateTables(s: StateSnapshot): string {
  const out: string[] = [];
  if (s.areas.length > 0) {
    const t = table(['ctx', 'IOAS', 'IOVA range', 'length', 'pages', 'prot']);
    for (const a of s.areas) t.push([a.ctx, a.ioas, `${hexOf(a.first)}-${hexOf(a.last)}`, bytesText(a.length), a.pages >= 0 ? `#${a.pages}` : '-', a.prot]);
    out.push(`Areas\n${t.toString()}`);
  } else out.push('Areas: none');
  if (s.pages.length > 0) {
    const t = table(['pages', 'user VA', 'npages', 'areas', 'xarray entries', 'domains holding it', 'npinned', 'access pins (ranges/users)', 'account']);
    for (const p of s.pages) t.push([`#${p.index}`, hexOf(p.uptr), p.npages, p.areas, p.xarray, p.domains, p.npinned, `${p.accessRanges}/${p.accessUsers}`, p.account]);
    out.push(`Pages objects\n${t.toString()}`);
  }
  if (s.domains.length > 0) {
    const t = table(['ctx', 'HWPT', 'IOAS', 'devices', 'map calls', 'unmap calls', 'mapped']);
    for (const d of s.domains) t.push([d.ctx, d.hwpt, d.ioas, d.devices, d.mapCalls, d.unmapCalls, bytesText(d.mappedBytes)]);
    out.push(`Domains\n${t.toString()}`);
  } else out.push('Domains: none');
  if (s.accesses.length > 0) {
    const t = table(['ctx', 'access ID', 'IOAS', 'fd (pid:fd)', 'pinned items', 'needs pin_pages']);
    for (const a of s.accesses) t.push([a.ctx, a.id, a.ioas ?? '-', a.fd, a.items, a.needsPinPages ? 'yes' : 'no']);
    out.push(`Accesses\n${t.toString()}`);
  }
  const t = table(['pid', 'RLIMIT_MEMLOCK', 'user locked_vm', 'mm locked_vm', 'mm pinned_vm', 'memcg charge']);
  for (const a of s.accounting) {
    t.push([a.pid, a.rlimitMemlock === U64_MAX ? 'unlimited' : bytesText(a.rlimitMemlock), pagesText(a.userLockedVm), pagesText(a.lockedVm), pagesText(a.pinnedVm), `${a.memcgBytes} B`]);
  }
  out.push(`Accounting (${s.framesInUse} frames in use, ${s.tablePages} in page tables)\n${t.toString()}`);
  return out.join('\n');
}

function pagesText(n: number): string {
  return n === 0 ? '0' : `${n} pages (${bytesText(BigInt(n) * 4096n)})`;
}
