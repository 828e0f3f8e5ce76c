// SPDX-License-Identifier: GPL-2.0-only
// The package works as a dependency: build it, install it by path into a fresh sibling project
// (a local folder install, so no registry is involved), and import it from there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sibling = mkdtempSync(join(tmpdir(), 'iommufd-sim-sibling-'));

afterAll(() => {
  rmSync(sibling, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 110_000 });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${x.stdout ?? ''}${x.stderr ?? ''}`);
  }
}

describe('package', () => {
  it('imports from a sibling project after npm install <path>', () => {
    run('npm', ['run', 'build'], root);
    writeFileSync(join(sibling, 'package.json'), JSON.stringify({ name: 'sibling', version: '1.0.0', type: 'module', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', root], sibling);
    const script = [
      "const m = await import('iommufd-sim');",
      "const machine = new m.Machine({ memory: '64M' });",
      'const p = machine.spawn();',
      'const c = m.IommufdClient.open(p);',
      'const ioas = c.ioasAlloc();',
      'console.log(typeof m.Machine, ioas, m.errnoName(m.ENOENT), m.IOMMU_IOAS_MAP.toString(16));',
    ].join('\n');
    const out = run('node', ['--input-type=module', '-e', script], sibling).trim();
    expect(out).toBe('function 1 ENOENT 3b85');
  });
});
