// SPDX-License-Identifier: GPL-2.0-only
// The explorer page's own code, in Node: unpacking the embedded data back into
// the snapshots it came from, the per-pixel aggregation of domain runs (a 1 GiB
// mapping of 262,144 scattered runs), and the committed page template being
// exactly what a fresh Vite build of web/ produces.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_MARK, TEMPLATE, explorerData, explorerHtml } from '../../src/cli/explore.js';
import { parseProgram } from '../../src/fuzz/program.js';
import { aggregateRuns, firstRunAfter } from '../../web/src/aggregate.js';
import { type FlatRuns, runsAt, unpack } from '../../web/src/data.js';

const ROOT = join(import.meta.dirname, '..', '..');

function load(f: string) {
  return program(f, readFileSync(join(ROOT, f), 'utf8'));
}

function program(f: string, text: string) {
  const r = parseProgram(text, f);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

describe('page data', () => {
  const x = explorerData(load('examples/vm-boot.yaml'));

  it('unpacks every step back into the snapshot it was made from', () => {
    expect(x.data.snapshots).toHaveLength(x.snapshots.length);
    for (let i = 0; i < x.snapshots.length; i++) {
      const u = unpack(x.data, i);
      const s = x.snapshots[i];
      expect(u.frames).toEqual(s.frames);
      expect(u.pages).toEqual(s.pages);
      expect(u.domains.map((d) => ({ ...d, runs: Array.from({ length: d.runs.count }, (_, k) => runsAt(d.runs, k)) }))).toEqual(s.domains);
      expect({ ...u, frames: 0, pages: 0, domains: 0 }).toEqual({ ...s, frames: 0, pages: 0, domains: 0 });
    }
  });

  it('stores a run list once however many steps keep it', () => {
    const n = x.data.snapshots.length;
    const withDomain = x.data.snapshots.filter((s) => s.domains.length > 0).length;
    const distinct = new Set(x.data.snapshots.flatMap((s) => s.domains.map((d) => d.runs))).size;
    expect(withDomain).toBeGreaterThan(10);
    expect(distinct).toBeLessThan(withDomain);
    expect(x.data.tables.length).toBeLessThan(n * 4);
  });

  it('one step per call, with the results the run report prints', () => {
    expect(x.data.steps.map((s) => s.index)).toEqual(x.run.results.map((r) => r.index));
    expect(x.data.steps[4]).toMatchObject({ op: 'ioas_alloc', result: '0 ioas_id=1', met: true, expected: 'ioas_id=1' });
    expect(x.data.failed).toBe(false);
  });

  it('is deterministic: the same program gives the same page, byte for byte', () => {
    const p = load('examples/access-rw.yaml');
    expect(explorerHtml(explorerData(p).data)).toBe(explorerHtml(explorerData(p).data));
  });

  it('the page is one file under 2 MB, with no mark left and no way for the data to close its script element', () => {
    const html = explorerHtml(x.data);
    expect(html.length).toBeLessThan(2 * 1024 * 1024);
    expect(html).not.toContain(DATA_MARK);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    const data = html.slice(html.indexOf('id="explorer-data"'));
    expect(data.slice(0, data.indexOf('</script>'))).not.toContain('<');
  });
});

/** 262,144 runs of 4 KiB over 1 GiB of IOVA from 16 MiB, each a lone 2 KiB-IOPTE run. */
function scattered(): FlatRuns {
  const n = 262144;
  const flat = new Array<number>(5 * n);
  for (let k = 0; k < n; k++) {
    flat[5 * k] = 2 ** 24 + k * 4096;
    flat[5 * k + 1] = 4096;
    flat[5 * k + 2] = ((k * 7919) % n) * 4096 * 3;
    flat[5 * k + 3] = 2048;
    flat[5 * k + 4] = 0;
  }
  return { flat, count: n };
}

describe('page data of a run cut short', () => {
  it('a call that raised shows the state before it; a program that raised at once still has one snapshot', () => {
    const cut = program('cut.yaml', 'calls:\n  - { op: open, path: /dev/iommu, as: $fd, expect: ok }\n  - { op: write_memory, addr: 0x10000, fill: 1, length: 1G, expect: ok }\n');
    const x = explorerData(cut);
    expect(x.run.failed).toBe(true);
    expect(x.data.steps.map((s) => [s.op, s.snapshot, s.met])).toEqual([
      ['open', 0, true],
      ['write_memory', 0, false],
    ]);
    const none = explorerData(program('none.yaml', 'calls:\n  - { op: write_memory, addr: 0x10000, fill: 1, length: 1G, expect: ok }\n'));
    expect(none.data.snapshots).toHaveLength(1);
    expect(none.data.steps[0].snapshot).toBe(0);
  });
});

describe('aggregation of domain runs', () => {
  const r = scattered();

  it('a 1 GiB mapping of 262,144 runs draws as at most one bar per pixel, covering it all', () => {
    const t = performance.now();
    const bars = aggregateRuns(r, 2 ** 24, 2 ** 24 + 2 ** 30, 960);
    const ms = performance.now() - t;
    expect(bars.length).toBeLessThanOrEqual(960);
    expect(bars.length).toBeGreaterThan(0);
    // Fully mapped: one bar of full fill spanning the whole range.
    expect(bars).toEqual([{ x0: 2 ** 24, x1: 2 ** 24 + 2 ** 30, pgsize: 2048, fill: 1, runs: 262144, dirty: false }]);
    expect(ms).toBeLessThan(2000);
  });

  it('zoomed in, runs are drawn one by one', () => {
    const v0 = 2 ** 24 + 100 * 4096;
    const bars = aggregateRuns(r, v0, v0 + 10 * 4096, 960);
    expect(bars).toHaveLength(10);
    expect(bars[0]).toEqual({ x0: v0, x1: v0 + 4096, pgsize: 2048, fill: 1, runs: 1, dirty: false });
    expect(firstRunAfter(r, v0)).toBe(100);
    expect(firstRunAfter(r, v0 - 1)).toBe(99);
  });

  it('holes show as missing bars, big IOPTEs win the columns they mostly cover', () => {
    // 4 columns of 1 MiB: [0: a 4 KiB run], [1: a dirty 1 MiB IOPTE], [2: nothing], [3: a 2 KiB run].
    const f: FlatRuns = { flat: [0, 4096, 0, 2048, 0, 2 ** 20, 2 ** 20, 2 ** 21, 2 ** 20, 1, 3 * 2 ** 20 + 4096, 2048, 2 ** 30, 2048, 0], count: 3 };
    const bars = aggregateRuns(f, 0, 2 ** 22, 4);
    expect(bars.map((b) => [b.x0, b.x1, b.pgsize, b.dirty, b.runs])).toEqual([
      [0, 2 ** 20, 2048, false, 1],
      [2 ** 20, 2 ** 21, 2 ** 20, true, 1],
      [3 * 2 ** 20, 2 ** 22, 2048, false, 1],
    ]);
    expect(bars[0].fill).toBe(0);
  });
});

describe('the page code type-checks under its own tsconfig (DOM, bundler resolution)', () => {
  it('tsc -p web/tsconfig.json', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', join(ROOT, 'web', 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the committed page template', () => {
  it('is what a fresh Vite build of web/ gives, byte for byte', async () => {
    const { build } = await import('vite');
    const out = mkdtempSync(join(tmpdir(), 'explorer-build-'));
    try {
      await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
      expect(readFileSync(join(out, 'explorer.html'), 'utf8')).toBe(readFileSync(TEMPLATE, 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
