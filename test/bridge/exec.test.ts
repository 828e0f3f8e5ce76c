// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommufd-sim exec end to end: a real C program (test/bridge/progs) with the
 * shim preloaded talks to the model through the bridge server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BRIDGE_CRASH, runExec } from '../../src/bridge/exec.js';

const PROGS = join(import.meta.dirname, 'progs');
let dir: string;

function build(name: string): string {
  const out = join(dir, name);
  execFileSync('cc', ['-O1', '-Wall', '-o', out, join(PROGS, `${name}.c`)]);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridge-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exec: a small iommufd client', () => {
  it('gets the kernel answers, real fds and its own exit status', async () => {
    const prog = build('basic');
    const r = await runExec([prog, '7'], { captureStdout: true, err: () => {} });
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => !l.startsWith('ok '))).toEqual([]);
    expect(lines.length).toBe(19);
    expect(r.status).toBe(7);
    expect(r.crash).toBeUndefined();
    expect(r.warnings).toBe(0);
    expect(r.stats.ioctls).toBe(12);
  });

  it('is not vacuous: a wrong model answer makes the program fail', async () => {
    const prog = build('basic');
    const r = await runExec([prog], { captureStdout: true, err: () => {}, sabotage: 'ioas-alloc-id' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL IOAS_MAP malloc memory/m);
  });

  it('reports a server failure and never passes', async () => {
    const prog = build('basic');
    const errs: string[] = [];
    const r = await runExec([prog], { captureStdout: true, err: (t) => errs.push(t), sabotage: 'crash-on-ioctl' });
    expect(r.status).toBe(EXIT_BRIDGE_CRASH);
    expect(r.crash?.message).toMatch(/deliberate server failure/);
    expect(errs.join('')).toMatch(/bridge server failed/);
  });
});
