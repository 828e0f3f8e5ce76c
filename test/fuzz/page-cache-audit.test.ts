// SPDX-License-Identifier: GPL-2.0-only
// The fuzzer's per-call audit also checks the page caches (memfds) the processes reach, when their change count moved.
import { describe, expect, it } from 'vitest';
import { parseProgram, type Program } from '../../src/fuzz/program.js';
import { fuzzRunOptions, runGuarded } from '../../src/fuzz/signal.js';

function program(text: string): Program {
  const r = parseProgram(text);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

const TEXT = `profile: latest
memory: 64M
calls:
  - { op: memfd_create, as: $m }
  - { op: fallocate, fd: $m, offset: 0, length: 64K }
  - { op: mmap, as: $p, length: 64K, prot: [READ, WRITE], flags: [SHARED], fd: $m }
  - { op: write_memory, addr: $p, fill: 7, length: 8K }
  - { op: fallocate, fd: $m, mode: [PUNCH_HOLE, KEEP_SIZE], offset: 16K, length: 16K }
  - { op: close, fd: $m }
  - { op: write_memory, addr: $p+32K, fill: 9, length: 4K }
`;

describe('the page-cache audit in the fuzzer', () => {
  it('passes a clean run of allocations, writes, a punch and a mapping that outlives its descriptor', () => {
    const r = runGuarded(program(TEXT), fuzzRunOptions(true));
    expect(r.results.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.auditProblems).toBe(0);
  });

  it('stops at the call after which a cache broke, also when only a mapping still reaches it', () => {
    for (const at of [1, 5]) {
      const r = runGuarded(program(TEXT), {
        ...fuzzRunOptions(true),
        onCall: (c, m) => {
          if (c.index !== at) return;
          // a fallocated index left without its folio, behind the model's back (the count moves as a change would)
          const files = new Set<unknown>();
          for (const proc of m.processes.values()) {
            for (const fd of proc.openFds()) files.add(proc.fileOf(fd)?.memfile);
            for (const v of proc.mm.vmas) files.add(v.file);
          }
          for (const f of files as Set<{ kind?: string; falloced: Set<number>; changes: number } | null | undefined>) {
            if (f?.kind !== 'shmem') continue;
            f.falloced.add(1000);
            f.changes++;
          }
        },
      });
      expect(r.auditProblems).toBe(1);
      expect(r.results.length).toBe(at + 1);
      expect((r.reasons ?? []).some((x) => x.includes('audit.page_cache') && x.includes('fallocated index 1000'))).toBe(true);
    }
  });
});
