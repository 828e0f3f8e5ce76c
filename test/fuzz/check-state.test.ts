// SPDX-License-Identifier: GPL-2.0-only
// check_state: the pins of every page (compound folios included), the
// accounting and a pages object's npinned, as outputs for `expect` — where
// md_check_refs, like the kernel's test op, passes on THP memory whatever
// the count.
import { describe, expect, it } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import { OPS, type Program, parseProgram } from '../../src/fuzz/program.js';

function prog(calls: string): Program {
  const r = parseProgram(`memlock: unlimited\ncalls:\n${calls}`, 'check-state.yaml');
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

const THP_MAPPED = `
  - { op: mmap, as: $buf, length: 4M, thp: true }
  - { op: write_memory, addr: $buf, fill: 1, length: 4M }
  - { op: open, as: $fd }
  - { op: ioas_alloc, as: $ioas }
  - { op: mock_domain, as: $dev, pt: $ioas }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 2M, iova: 0x1000000 }
`;

describe('check_state', () => {
  it('md_check_refs skips THP pages (as the kernel does); check_state counts their pins', () => {
    const r = runProgram(
      prog(`${THP_MAPPED}
  - { op: md_check_refs, uptr: $buf, length: 2M, refs: 7, expect: ok }
  - { op: check_state, uptr: $buf, length: 2M, expect: { pins: 7 } }
`),
      { audit: true },
    );
    expect(r.results[6]).toMatchObject({ op: 'md_check_refs', met: true });
    expect(r.results[7]).toMatchObject({ op: 'check_state', met: false, expected: 'pins=7' });
    expect(r.results[7].outputs.pins).toBe(1);
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons?.[0]).toMatch(/^call 7 \(check_state\): expected pins=7, got ok \(0\) \(pins=1 pins_min=1 pins_max=1 /);
    expect(OPS.md_check_refs.doc).toMatch(/skips pages of compound folios/);
  });

  it('exact pins, accounting and npinned while mapped, and all back to 0 after the unmap', () => {
    const r = runProgram(
      prog(`${THP_MAPPED}
  - { op: check_state, uptr: $buf, length: 4M, ioas: $ioas, iova: 0x10fffff }
  - { op: ioas_unmap, ioas: $ioas, iova: 0x1000000, length: 2M }
  - { op: check_state, uptr: $buf, length: 2M }
  - { op: check_state, ioas: $ioas, iova: 0x1000000, expect: ENOENT }
  - { op: check_state, uptr: 0x1000, length: 8K }
`),
      { audit: true },
    );
    expect(r.failed).toBe(false);
    expect(r.results[6].outputs).toEqual({ pins: -1, pins_min: 0, pins_max: 1, unmapped: 0, locked_vm: 0, user_locked_vm: 2 << 20, pinned_vm: 2 << 20, memcg: expect.any(Number), npinned: 512 });
    expect(r.results[8].outputs).toMatchObject({ pins: 0, pins_min: 0, pins_max: 0, user_locked_vm: 0, pinned_vm: 0 });
    expect(r.results[9].errno).toBe('ENOENT');
    expect(r.results[10].outputs).toMatchObject({ pins: 0, unmapped: 2 });
  });

  it('accounting is per process: a child sees its own', () => {
    const r = runProgram(
      prog(`${THP_MAPPED}
  - { op: fork, as: $child }
  - { op: check_state, proc: $child, uptr: $buf, length: 2M, expect: { pinned_vm: 0, user_locked_vm: 2M } }
  - { op: check_state, uptr: $buf, length: 2M, expect: { pinned_vm: 2M, user_locked_vm: 2M } }
`),
      { audit: true },
    );
    expect(r.reasons).toEqual([]);
  });
});
