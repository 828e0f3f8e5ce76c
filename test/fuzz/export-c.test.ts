// SPDX-License-Identifier: GPL-2.0-only
// Every exported C program compiles with gcc -Wall -Werror (gcc must be installed: no skip).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cStructDecl, exportC } from '../../src/fuzz/export-c.js';
import { type Call, OPS, type Program, parseProgram } from '../../src/fuzz/program.js';
import * as U from '../../src/iommufd/uapi.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'iommufd-sim-export-c-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gcc(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc is required for this test: ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function compile(name: string, c: string, full = false): void {
  const file = join(dir, `${name}.c`);
  writeFileSync(file, c);
  const r = full ? gcc(['-O2', '-Wall', '-Werror', '-o', join(dir, name), file]) : gcc(['-fsyntax-only', '-Wall', '-Werror', file]);
  expect(r.out).toBe('');
  expect(r.status).toBe(0);
}

const files = ['examples', 'test/regressions'].flatMap((d) =>
  readdirSync(join(ROOT, d))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(ROOT, d, f)),
);

describe('export-c', () => {
  it('gcc is installed', () => {
    expect(gcc(['--version']).status).toBe(0);
  });

  for (const f of files) {
    it(`compiles ${basename(f)} with -Wall -Werror`, () => {
      const r = parseProgram(readFileSync(f, 'utf8'), f);
      if (!r.ok) throw new Error(r.error);
      const c = exportC(r.program, { source: f });
      expect(c.startsWith('// SPDX-License-Identifier: GPL-2.0-only\n')).toBe(true);
      expect(c).not.toMatch(/#include <linux\//);
      compile(basename(f).replace(/\W/g, '_'), c);
    });
  }

  it('builds and runs vm-boot: without /dev/iommu it says SKIP and exits 4 (KSFT_SKIP) before any call', () => {
    const f = join(ROOT, 'examples', 'vm-boot.yaml');
    const r = parseProgram(readFileSync(f, 'utf8'), f);
    if (!r.ok) throw new Error(r.error);
    compile('vm_boot_full', exportC(r.program), true);
    const run = spawnSync(join(dir, 'vm_boot_full'), [], { encoding: 'utf8', timeout: 60_000 });
    expect(run.signal).toBeNull();
    expect(run.stdout).toMatch(/^vm-boot: \d+ calls/);
    if (existsSync('/dev/iommu')) return; // a machine with iommufd runs it for real (the oracle's VM)
    expect(run.status).toBe(4);
    expect(run.stdout).toMatch(/^SKIP: \/dev\/iommu is missing/m);
    expect(run.stdout).not.toMatch(/^@R /m);
  });

  it('exports every op (with its optional fields) and compiles', () => {
    const calls: Call[] = [
      { op: 'mmap', as: '$buf', length: '2M', thp: true },
      { op: 'open', as: '$fd' },
      { op: 'ioas_alloc', as: '$ioas' },
      { op: 'fork', as: '$child' },
      { op: 'create_access', as: '$acc', ioas: '$ioas' },
      { op: 'mock_domain', as: '$dev', pt: '$ioas' },
      { op: 'access_pages', as: '$ap', access: '$acc', iova: 0x1000000, length: '4K' },
    ];
    const handleFor: Record<string, string> = {
      ioas: '$ioas',
      dst_ioas: '$ioas',
      src_ioas: '$ioas',
      access: '$acc',
      stdev: '$dev',
      hwpt: '$dev.hwpt_id',
      pt: '$ioas',
      access_pages_id: '$ap',
      user_va: '$buf',
      uptr: '$buf',
      addr: '$buf',
      vaddr: '$buf',
      id: '$ioas',
      object_id: '$ioas',
    };
    for (const [op, spec] of Object.entries(OPS)) {
      const c: Call = { op };
      for (const [name, f] of Object.entries(spec.fields)) {
        if (handleFor[name]) c[name] = handleFor[name];
        else if (f.kind === 'int') c[name] = name === 'fd' ? '$fd' : '4K';
        else if (f.kind === 'flags') c[name] = Object.keys(f.values ?? {}).slice(0, 2);
        else if (f.kind === 'enum') c[name] = name === 'cmd' ? 'IOMMU_IOAS_MAP' : (Object.keys(f.values ?? {})[0] ?? 0);
        else if (f.kind === 'bool') c[name] = true;
        else if (f.kind === 'string') c[name] = name === 'path' ? '/dev/iommu' : 'x';
        else if (f.kind === 'hex') c[name] = '0102';
        else if (f.kind === 'ranges') c[name] = [[0x1000, '0x1fff']];
      }
      if (op === 'write_memory') delete c.fill;
      if (op === 'exit') c.proc = '$child';
      c.expect = Object.keys(spec.outputs).length ? { [Object.keys(spec.outputs)[0]]: Object.keys(spec.outputs)[0] === 'data' || Object.keys(spec.outputs)[0] === 'ranges' ? '' : 1 } : 'EINVAL';
      calls.push(c);
    }
    calls.push({ op: 'fail_nth', nth: 3, proc: '$child' }, { op: 'ioas_alloc', proc: '$child', expect: { errno: 'ENOMEM', fault_injected: 1 } });
    const p: Program = { profile: 'v6.5', memlock: '16M', calls };
    compile('every_op', exportC(p), true);
  });

  it('declares structs with the model layouts', () => {
    const d = cStructDecl(U.iommu_test_cmd);
    expect(d).toMatch(/struct iommu_test_cmd \{/);
    expect(d).toMatch(/_Static_assert\(sizeof\(struct iommu_test_cmd\) == 72/);
    expect(d).toMatch(/offsetof\(struct iommu_test_cmd, access_pages\.uptr\) == 40/);
    expect(cStructDecl(U.iommu_option)).toMatch(/uint16_t op;/);
  });
});
