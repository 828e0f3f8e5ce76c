// SPDX-License-Identifier: GPL-2.0-only
// `iommufd-sim explore FILE [-o OUT]`: the command registered on a commander
// program writes one self-contained page; bad input is a usage error (exit 2).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/explore.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'explore-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command().exitOverride();
  let out = '';
  let err = '';
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  register(program);
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'iommufd-sim', ...args]);
    return { code: Number(process.exitCode ?? 0), out, err };
  } catch (e) {
    return { code: (e as { exitCode?: number }).exitCode ?? -1, out, err };
  } finally {
    process.stdout.write = write;
    process.exitCode = 0;
  }
}

describe('explore command', () => {
  it('writes the page for a program', async () => {
    const out = join(tmp, 'access-rw.html');
    const r = await run(['explore', join(ROOT, 'examples', 'access-rw.yaml'), '-o', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/access-rw\.html: \d+ calls, \d+ snapshots, \d+ KiB/);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('"title":"access-rw"');
  });

  it('--json writes the calls, the snapshots and the diffs as plain JSON', async () => {
    const out = join(tmp, 'access-rw.json');
    const r = await run(['explore', join(ROOT, 'examples', 'access-rw.yaml'), '--json', '-o', out]);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { steps: Array<{ snapshot: number }>; snapshots: Array<{ version: number; ioas: unknown[] }>; diffs: unknown[] };
    expect(j.snapshots.length).toBe(j.steps.length);
    expect(j.diffs.length).toBe(j.snapshots.length);
    expect(j.snapshots.every((s) => s.version === 1 && Array.isArray(s.ioas))).toBe(true);
    expect((await run(['explore', join(ROOT, 'examples', 'access-rw.yaml'), '--json', '--open'])).code).toBe(2);
  });

  it('a failing program still gets its page, and exit status 1', async () => {
    const f = join(tmp, 'fails.yaml');
    writeFileSync(f, 'calls:\n  - { op: open, path: /dev/iommu, as: $fd, expect: ok }\n  - { op: ioas_alloc, as: $ioas, expect: { ioas_id: 2 } }\n');
    const r = await run(['explore', f]);
    expect(r.code).toBe(1);
    expect(existsSync(join(tmp, 'fails.html'))).toBe(true);
  });

  it('a missing file or a bad program is a usage error', async () => {
    expect((await run(['explore', join(tmp, 'nope.yaml')])).code).toBe(2);
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, 'calls:\n  - { op: no_such_op }\n');
    const r = await run(['explore', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/explore: /);
    expect(existsSync(join(tmp, 'bad.html'))).toBe(false);
  });
});
