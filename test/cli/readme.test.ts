// SPDX-License-Identifier: GPL-2.0-only
// The README stands alone: no links outside the repository, the two set-up
// commands first, a path for VMM and one for kernel engineers, and its
// example program runs and passes on every profile it names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFullProgram } from '../../src/cli/main.js';
import { runProgram } from '../../src/fuzz/executor.js';
import { type ProfileName, parseProgram } from '../../src/fuzz/program.js';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README.md', () => {
  it('links nothing outside the repository', () => {
    expect(README).not.toMatch(/\.\.\/shared|\/work\//);
    for (const m of README.matchAll(/\]\(([^)]+)\)/g)) expect(m[1]).toMatch(/^(https?:|#|[a-z])/);
  });

  it('shows the two set-up commands first, then a path for VMM and for kernel engineers', () => {
    const first = /```sh\n([\s\S]*?)```/.exec(README);
    expect(first).not.toBeNull();
    const cmds = first![1]
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(cmds).toEqual(['npm install', 'npm start']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/ run examples\/vm-boot\.yaml$/);
    expect(README.indexOf('```sh')).toBeLessThan(README.indexOf('\n## '));
    expect(README).toMatch(/\n## For VMM engineers\n/);
    expect(README).toMatch(/\n## For kernel engineers\n/);
  });

  it('names only commands the program has, and every one of them', async () => {
    const known = (await buildFullProgram()).commands.map((c) => c.name());
    // The first cell of each row of the command table: `run FILE`, `ops`, `schema`, ...
    const cells = README.split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split(' | ')[0].slice(2));
    const named = cells.flatMap((c) => [...c.matchAll(/`([a-z][a-z-]*)[ `]/g)].map((m) => m[1]));
    for (const n of named) expect(known).toContain(n);
    for (const k of known) expect(named).toContain(k);
  });

  it('its example program passes on every profile it names', () => {
    const block = /```yaml\n(memlock[\s\S]*?)```/.exec(README);
    expect(block).not.toBeNull();
    const r = parseProgram(block![1], 'README.md');
    if (!r.ok) throw new Error(r.error);
    const profiles = r.program.profiles as ProfileName[];
    expect(profiles).toEqual(['latest', 'v6.12', 'v6.5', 'v6.2']);
    for (const profile of profiles) {
      const rr = runProgram(r.program, { profile, audit: true });
      expect(rr.reasons, profile).toEqual([]);
      expect(rr.results.every((x) => x.met)).toBe(true);
    }
  });
});
