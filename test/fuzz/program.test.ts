// SPDX-License-Identifier: GPL-2.0-only
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runProgram } from '../../src/fuzz/executor.js';
import { OPS, type Program, evalExpr, formatProgram, parseExpr, parseProgram, validateProgram } from '../../src/fuzz/program.js';
import { programJsonSchema, validateJsonSchema } from '../../src/fuzz/schema.js';
import { Process } from '../../src/machine/process.js';
import { programFiles } from './program-files.js';

const ROOT = join(import.meta.dirname, '..', '..');

function parseOk(text: string): Program {
  const r = parseProgram(text, 'p.yaml');
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

function parseErr(text: string, name = 'p.yaml'): string {
  const r = parseProgram(text, name);
  expect(r.ok).toBe(false);
  return r.ok ? '' : r.error;
}

describe('values', () => {
  const val = (s: string | number, h: Record<string, bigint> = {}) => {
    const e = parseExpr(s);
    if (typeof e === 'string') throw new Error(e);
    const v = evalExpr(e, (n) => h[n]);
    if (typeof v === 'string') throw new Error(v);
    return BigInt.asUintN(64, v);
  };
  it('takes sizes with suffixes, hex, binary, underscores and constants', () => {
    expect(val('4K')).toBe(4096n);
    expect(val('2M')).toBe(2n << 20n);
    expect(val('1G')).toBe(1n << 30n);
    expect(val('64KiB')).toBe(65536n);
    expect(val('0x1000000')).toBe(0x1000000n);
    expect(val('0b101')).toBe(5n);
    expect(val('1_000')).toBe(1000n);
    expect(val(4096)).toBe(4096n);
    expect(val('U64_MAX')).toBe((1n << 64n) - 1n);
    expect(val('U64_MAX-0xfff')).toBe((1n << 64n) - 4096n);
    expect(val('-1')).toBe((1n << 64n) - 1n);
    expect(val('MOCK_APERTURE_START + 2M')).toBe(0x1200000n);
  });
  it('resolves handles with offsets and sub-outputs', () => {
    const h = { $buf: 0x7f0000000000n, '$dev.hwpt_id': 4n };
    expect(val('$buf+4K', h)).toBe(0x7f0000001000n);
    expect(val('$buf+2M-0x10', h)).toBe(0x7f00001ffff0n);
    expect(val('$dev.hwpt_id', h)).toBe(4n);
    expect(evalExpr(parseExpr('$nope') as never, () => undefined)).toMatch(/unknown handle \$nope/);
  });
  it('rejects malformed values', () => {
    for (const bad of ['4Q', '$', '1++2', '0xg', 'buf', '4K+', {}, 1.5]) expect(typeof parseExpr(bad)).toBe('string');
  });
});

describe('parseProgram', () => {
  const yaml = `
profile: v6.5
memory: 512M
memlock: unlimited
calls:
  - { op: mmap, as: $buf, length: 2M, prot: [READ, WRITE], flags: [PRIVATE, ANONYMOUS], thp: true }
  - { op: open, path: /dev/iommu, as: $fd }
  - { op: ioas_alloc, as: $ioas }
  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 2M, flags: [READABLE, WRITEABLE, FIXED_IOVA], iova: 0x1000000, expect: ok }
`;
  const json = `{
  "profile": "v6.5", "memory": "512M", "memlock": "unlimited",
  "calls": [
    {"op": "mmap", "as": "$buf", "length": "2M", "prot": ["READ","WRITE"], "flags": ["PRIVATE","ANONYMOUS"], "thp": true},
    {"op": "open", "path": "/dev/iommu", "as": "$fd"},
    {"op": "ioas_alloc", "as": "$ioas"},
    {"op": "ioas_map", "ioas": "$ioas", "user_va": "$buf", "length": "2M", "flags": ["READABLE","WRITEABLE","FIXED_IOVA"], "iova": "0x1000000", "expect": "ok"}
  ]
}`;
  it('reads JSON and YAML into the same program, which runs', () => {
    const a = parseOk(yaml);
    const b = parseOk(json);
    expect(a.calls.length).toBe(4);
    expect(runProgram(a, { audit: true, panicOnWarn: true }).failed).toBe(false);
    const ra = runProgram(a);
    const rb = runProgram(b);
    expect(rb.failed).toBe(false);
    expect(ra.results.map((r) => r.errno ?? 'ok')).toEqual(rb.results.map((r) => r.errno ?? 'ok'));
    expect(rb.profile).toBe('v6.5');
  });

  it('names the line and the field of a bad value (YAML)', () => {
    const e = parseErr(yaml.replace('length: 2M, flags: [READABLE', 'length: 2Q, flags: [READABLE'));
    expect(e).toMatch(/^p\.yaml:9:\d+: calls\[3\] \(ioas_map\)\.length: .*2Q/);
  });
  it('names the line and the field of a bad value (JSON)', () => {
    const e = parseErr(json.replace('"iova": "0x1000000"', '"iova": "0x10zz"'), 'p.json');
    expect(e).toMatch(/^p\.json:7:\d+: calls\[3\] \(ioas_map\)\.iova: /);
  });
  it('reports syntax errors with the line', () => {
    expect(parseErr('calls:\n  - { op: mmap\n  - x: [', 'bad.yaml')).toMatch(/^bad\.yaml:\d+:\d+: syntax error/);
    expect(parseErr('{"calls": [\n  {"op": "mmap",,}\n]}', 'bad.json')).toMatch(/^bad\.json:2:\d+: syntax error/);
  });
  it('reports unknown ops, fields, flags, handles, errnos and missing fields', () => {
    expect(parseErr('calls:\n  - { op: mmapp }\n')).toMatch(/p\.yaml:2:\d+: calls\[0\] \(mmapp\)\.op: unknown op "mmapp"/);
    expect(parseErr('calls:\n  - { op: mmap, length: 4K, lenght: 4K }\n')).toMatch(/2:\d+: calls\[0\] \(mmap\)\.lenght: mmap has no field "lenght"/);
    expect(parseErr('calls:\n  - { op: mmap, length: 4K, prot: [READ, WIRTE] }\n')).toMatch(/calls\[0\] \(mmap\)\.prot: unknown flag WIRTE/);
    expect(parseErr('calls:\n  - { op: open }\n  - { op: ioas_map, ioas: $ioas, user_va: 0, length: 4K }\n')).toMatch(/p\.yaml:3:\d+: calls\[1\] \(ioas_map\)\.ioas: unknown handle \$ioas/);
    expect(parseErr('calls:\n  - { op: open, expect: EWHAT }\n')).toMatch(/2:\d+: calls\[0\] \(open\)\.expect: /);
    expect(parseErr('calls:\n  - { op: mmap }\n')).toMatch(/calls\[0\] \(mmap\)\.length: mmap needs "length"/);
    expect(parseErr('calls:\n  - { op: mock_domain, as: $d, pt: 1 }\n  - { op: destroy, id: $d.hwpt }\n')).toMatch(/3:\d+: .*unknown handle \$d\.hwpt/);
    expect(parseErr('calls:\n  - { op: mock_domain, as: $d, pt: 1, expect: { hwpt: 4 } }\n')).toMatch(/expect\.hwpt: no output "hwpt"/);
    expect(parseErr('profile: v9\ncalls: []\n')).toMatch(/p\.yaml:1:\d+: profile: unknown profile "v9"/);
    expect(parseErr('calls: []\nmemlok: 8M\n')).toMatch(/p\.yaml:2:\d+: memlok: unknown top-level key/);
    expect(parseErr('calls: []\ncaps: [CAP_NOPE]\n')).toMatch(/caps\[0\]: unknown capability/);
    // the machine's RAM as the machine takes it: a size, 4K to 1T, whole pages
    expect(parseErr('memory: 2T\ncalls: []\n')).toMatch(/p\.yaml:1:\d+: memory: expected a multiple of 4K from 4K to 1T/);
    expect(parseErr('memory: 6000\ncalls: []\n')).toMatch(/memory: expected a multiple of 4K/);
    expect(parseErr('memory: 1G+4K\ncalls: []\n')).toMatch(/memory: expected a size like "1G"/);
    expect(parseProgram('memory: 1T\ncalls: []\n', 'p.yaml').ok).toBe(true);
  });
  it('judges a value again in each program and field: the memo of checked values keeps no verdict on handles', () => {
    // "$m+0x1000" checked once where $m is bound, then where it is not: unknown there.
    const bound = { calls: [{ op: 'mmap', as: '$m', length: 8192 }, { op: 'munmap', addr: '$m+0x1000', length: 4096 }] };
    const unbound = { calls: [{ op: 'munmap', addr: '$m+0x1000', length: 4096 }] };
    expect(validateProgram(bound)).toEqual([]);
    expect(validateProgram(unbound).map((i) => i.message)).toEqual(['unknown handle $m (bind it first with "as")']);
    expect(validateProgram(bound)).toEqual([]);
    // one string, valid hex data but not a value: each field's own verdict
    const w = (data: string) => ({ calls: [{ op: 'mmap', as: '$m', length: 4096 }, { op: 'write_memory', addr: '$m', data }] });
    const l = (length: string) => ({ calls: [{ op: 'mmap', length }] });
    expect(validateProgram(w('0a0b'))).toEqual([]);
    expect(validateProgram(l('0a0b')).map((i) => i.path.join('.'))).toEqual(['calls.0.length']);
    expect(validateProgram(w('zz')).map((i) => i.path.join('.'))).toEqual(['calls.1.data']);
    expect(validateProgram(w('zz')).map((i) => i.path.join('.'))).toEqual(['calls.1.data']);
  });
  it('never throws on garbage', () => {
    for (const t of ['', '[]', '42', 'null', '\u0000\u0001\u0002', '{{{', 'calls: 5', 'calls: [1, 2]', 'calls:\n  - op: [x]', '&a [*a]']) {
      const r = parseProgram(t, 'g');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).not.toMatch(/\n\s+at /);
    }
  });
  it('keeps u64 values exact', () => {
    const p = parseOk('calls:\n  - { op: open, as: $fd }\n  - { op: ioas_alloc, as: $i }\n  - { op: ioas_unmap, ioas: $i, iova: 18446744073709551615, length: 1 }\n');
    expect(p.calls[2].iova).toBe('0xffffffffffffffff');
  });
});

describe('formatProgram', () => {
  it('round-trips every example and regression through JSON and YAML', () => {
    for (const f of programFiles()) {
      const p = parseOk(readFileSync(f, 'utf8'));
      for (const as of ['json', 'yaml'] as const) {
        const text = formatProgram(p, as);
        const q = parseProgram(text, `${f}.${as}`);
        if (!q.ok) throw new Error(q.error);
        expect(q.program).toEqual(p);
      }
    }
  });
  it('writes a generated term of 2^64 or more mod 2^64, so the program parses back with the same values', () => {
    // The generator may put an area's length plus a page after its handle (`$a+0x10000000000000000`, as seed 3472
    // made on latest); evaluation is mod 2^64, and the parser refuses a term wider than 64 bits.
    const p: Program = {
      profile: 'latest',
      calls: [
        { op: 'open' },
        { op: 'vfio_unmap_dma', iova: '0x5000+0x10000000000000000', size: '0x10000000000000fff-0x1' },
        { op: 'hwpt_get_dirty_bitmap', hwpt_id: 1, iova: 0x1000n + (1n << 64n), length: 4096, page_size: 4096 },
        { op: 'vfio_unmap_dma', iova: 'U64_MAX+1', size: 4096 },
      ],
    };
    expect(parseProgram(JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)), 'p.json').ok).toBe(false);
    for (const as of ['json', 'yaml'] as const) {
      const q = parseOk(formatProgram(p, as));
      const ev = (raw: unknown) => {
        const e = parseExpr(raw);
        if (typeof e === 'string') throw new Error(e);
        return BigInt.asUintN(64, evalExpr(e, () => undefined) as bigint);
      };
      expect(q.calls[1].iova).toBe('0x5000+0x0');
      expect([ev(q.calls[1].iova), ev(q.calls[1].size)]).toEqual([0x5000n, 0xffen]);
      expect(ev(q.calls[2].iova)).toBe(0x1000n);
      expect(q.calls[3].iova).toBe('U64_MAX+1');
    }
  });

  it('writes one call per line in JSON', () => {
    const p = parseOk('calls:\n  - { op: open, as: $fd }\n  - { op: ioas_alloc, as: $i, expect: { ioas_id: 1 } }\n');
    const lines = formatProgram(p, 'json').split('\n');
    expect(lines.some((l) => l.includes('"op":"ioas_alloc"') && l.includes('"expect":{"ioas_id":1}'))).toBe(true);
  });
});

describe('gbpages', () => {
  const base = (extra: string): string => `profile: latest\n${extra}calls:\n  - { op: memfd_create, flags: [HUGETLB, HUGE_1GB], as: $m }\n`;
  it('gives the machine the 1 GiB hugetlb size only when set (the oracle VMs have none)', () => {
    const without = parseProgram(base(''), 'a.yaml');
    const withIt = parseProgram(base('gbpages: true\n'), 'b.yaml');
    if (!without.ok || !withIt.ok) throw new Error('parse');
    expect(runProgram(without.program).results[0].errno).toBe('ENODEV');
    expect(runProgram(withIt.program).results[0].errno).toBeUndefined();
  });
  it('refuses a 1 GiB pool without it, and a value that is not a boolean', () => {
    const r = parseProgram(base('hugetlb_pages: { "1G": 1 }\n'), 'c.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/hugetlb_pages\.1G.*gbpages: true/);
    expect(parseProgram(base('gbpages: true\nhugetlb_pages: { "1G": 1 }\n'), 'd.yaml').ok).toBe(true);
    const bad = parseProgram(base('gbpages: yes please\n'), 'e.yaml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/gbpages/);
  });
});

describe('schema', () => {
  const schema = programJsonSchema();
  it('docs/scenario.schema.json is the generated schema', () => {
    const onDisk = JSON.parse(readFileSync(join(ROOT, 'docs', 'scenario.schema.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(schema)));
  });
  it('has every op', () => {
    const defs = schema.$defs as Record<string, unknown>;
    for (const op of Object.keys(OPS)) expect(defs[`op_${op}`]).toBeDefined();
  });
  it('accepts every file in examples/ and test/regressions/', () => {
    const files = programFiles();
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const p = parseOk(readFileSync(f, 'utf8'));
      expect([f, validateJsonSchema(schema, p)]).toEqual([f, []]);
    }
  });
  it('rejects what the parser rejects', () => {
    const bad = [
      { calls: [{ op: 'mmapp' }] },
      { calls: [{ op: 'mmap' }] },
      { calls: [{ op: 'mmap', length: '4Q' }] },
      { calls: [{ op: 'mmap', length: 4096, lenght: 1 }] },
      { calls: [{ op: 'mmap', length: 4096, prot: ['WIRTE'] }] },
      { profile: 'v9', calls: [] },
      { calls: [], extra: 1 },
    ];
    for (const p of bad) {
      expect(validateProgram(p).length).toBeGreaterThan(0);
      expect(validateJsonSchema(schema, p).length).toBeGreaterThan(0);
    }
  });
});

describe('runProgram handles', () => {
  it('binds `as`, sub-outputs and failed results', () => {
    const p = parseOk(`
memlock: unlimited
calls:
  - { op: mmap, as: $buf, length: 64K, flags: [SHARED, ANONYMOUS], expect: ok }
  - { op: open, as: $fd }
  - { op: ioas_alloc, as: $ioas, expect: { ioas_id: 1 } }
  - { op: mock_domain, as: $dev, pt: $ioas, expect: { stdev_id: 2, idev_id: 3, hwpt_id: 4 } }
  - { op: ioas_map, as: $iova, ioas: $ioas, user_va: $buf+4K, length: 8K, expect: ok }
  - { op: md_check_map, hwpt: $dev.hwpt_id, iova: $iova, length: 8K, uptr: $buf+4K, expect: ok }
  - { op: create_access, as: $bad, ioas: 77, expect: ENOENT }
  - { op: close, fd: $bad, expect: EBADF }
  - { op: ioas_unmap, ioas: $ioas, iova: $iova+2K, length: 4K, expect: ENOENT }
  - { op: ioas_unmap, ioas: $ioas, iova: $iova, length: 8K, expect: { length: 8K } }
  - { op: destroy, id: $dev, expect: ok }
`);
    const r = runProgram(p, { audit: true, panicOnWarn: true });
    expect(r.reasons).toEqual([]);
    expect(r.failed).toBe(false);
    expect(r.results[4].outputs.iova).toBeTypeOf('bigint');
    expect(r.results[6].outputs.access_fd).toBe(-1);
    expect(r.coverage.has('ioas_map:ok')).toBe(true);
    expect(r.coverage.has('ioas_unmap:ENOENT')).toBe(true);
    expect([...r.coverage].some((c) => c.startsWith('fp:'))).toBe(true);
  });
  it('reports a missed expectation', () => {
    const r = runProgram(parseOk('calls:\n  - { op: open, as: $fd }\n  - { op: ioas_alloc, expect: { ioas_id: 2 } }\n  - { op: destroy, id: 1, expect: ENOENT }\n'));
    expect(r.failed).toBe(true);
    expect(r.results.map((x) => x.met)).toEqual([true, false, false]);
    expect(r.results[1].expected).toBe('ioas_id=2');
    expect(r.reasons?.[0]).toMatch(/call 1 \(ioas_alloc\): expected ioas_id=2/);
  });
  it('reports a program error (unknown handle) instead of throwing', () => {
    const r = runProgram({ calls: [{ op: 'ioas_alloc', ioas: '$x' }, { op: 'destroy', id: '$nope' }] } as Program);
    expect(r.failed).toBe(true);
    expect(r.exception?.name).toBe('ProgramError');
  });
  it('catches a JavaScript exception inside a call', () => {
    const spy = vi.spyOn(Process.prototype, 'munmap').mockImplementation(() => {
      throw new TypeError('boom');
    });
    try {
      const r = runProgram(parseOk('calls:\n  - { op: mmap, as: $b, length: 4K }\n  - { op: munmap, addr: $b, length: 4K }\n  - { op: open }\n'));
      expect(r.failed).toBe(true);
      expect(r.exception).toMatchObject({ name: 'TypeError', message: 'boom' });
      expect(r.results.length).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
  it('arms fail-nth for one call and reports the point', () => {
    const r = runProgram(parseOk('calls:\n  - { op: open }\n  - { op: fail_nth, nth: 1 }\n  - { op: ioas_alloc, expect: ENOMEM }\n  - { op: ioas_alloc, expect: ok }\n'));
    expect(r.failed).toBe(false);
    expect(r.results[2].outputs).toMatchObject({ fault_injected: 1 });
    expect(r.results[3].outputs.fault_injected).toBeUndefined();
    expect([...r.coverage].some((c) => c.startsWith('fail:'))).toBe(true);
  });
  it('runs calls in a forked process', () => {
    const r = runProgram(
      parseOk(`
calls:
  - { op: open, as: $fd }
  - { op: fork, as: $child, expect: ok }
  - { op: ioas_alloc, proc: $child, as: $ioas, expect: { ioas_id: 1 } }
  - { op: exit, proc: $child }
  - { op: ioas_alloc, proc: $child, expect: ESRCH }
  - { op: destroy, id: $ioas, expect: ok }
`),
      { audit: true },
    );
    expect(r.reasons).toEqual([]);
  });
  it('follows the profile for the test command layout', () => {
    const p = parseOk('calls:\n  - { op: open }\n  - { op: ioas_alloc, as: $i }\n  - { op: mock_domain_replace, stdev: 1, pt: $i, expect: ENOENT, expectOn: { v6.5: EOPNOTSUPP } }\n');
    expect(runProgram(p).failed).toBe(false);
    expect(runProgram(p, { profile: 'v6.5' }).failed).toBe(false);
  });
});
