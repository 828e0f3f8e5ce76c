// SPDX-License-Identifier: GPL-2.0-only
// Explorer pages written by the command line: `run --html FILE`, and one per
// fuzz finding (the campaign's finding hook).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'iommufd-sim.js');
const tmp = mkdtempSync(join(tmpdir(), 'iommufd-sim-pages-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, IOMMUFD_SIM_DIST: '0', NO_COLOR: '1' } });
}

describe('run --html', () => {
  it('writes the explorer page of the program and still runs it', () => {
    const out = join(tmp, 'vm-boot.html');
    const r = cli(['run', '-q', '--html', out, join(ROOT, 'examples', 'vm-boot.yaml')]);
    expect(r.stderr).toContain(`wrote ${out}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('result: PASS');
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(/<script id="explorer-data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null');
    expect(data.title).toBe('vm-boot');
    expect(data.profile).toBe('latest');
    expect(data.steps[0].op).toBe('mmap');
    expect(data.failed).toBe(false);
  }, 60_000);

  it('an unwritable page is a usage error (exit 2), no stack trace', () => {
    const out = join(tmp, 'no-such-dir', 'x.html');
    const r = cli(['run', '-q', '--html', out, join(ROOT, 'examples', 'vm-boot.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot write');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('a page per finding', () => {
  it('minimize --out writes explorer.html into the finding folder', () => {
    const out = join(tmp, 'findings');
    const r = cli(['minimize', '-q', '-s', '20', '-p', 'v6.2', '--out', out, join(ROOT, 'test', 'regressions', 'v6.2-uptr-overflow.yaml')]);
    expect(r.status).toBe(0);
    const dir = /wrote (\S+)/.exec(r.stderr)?.[1];
    expect(dir).toBeDefined();
    for (const f of ['repro.json', 'repro.c', 'finding.txt', 'log.txt', 'explorer.html']) expect(existsSync(join(dir as string, f))).toBe(true);
    const html = readFileSync(join(dir as string, 'explorer.html'), 'utf8');
    const data = JSON.parse(/<script id="explorer-data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null');
    expect(data.profile).toBe('v6.2');
    expect(data.steps.map((s: { op: string }) => s.op)).toContain('ioas_map');
    expect(readFileSync(join(dir as string, 'log.txt'), 'utf8')).not.toContain('page failed');
  }, 90_000);

  it('a campaign hands each finding folder to its page hook', async () => {
    const { runCampaign } = await import('../../src/fuzz/campaign.js');
    const out = join(tmp, 'campaign');
    const seen: string[] = [];
    const r = await runCampaign({
      seconds: 30,
      seed: 1,
      profile: 'v6.2',
      outDir: out,
      minimizeRuns: 50,
      stopWhen: (s) => s.findings.length > 0,
      findingPage: (d, f) => {
        seen.push(d);
        writeFileSync(join(d, 'explorer.html'), f.signature);
      },
    });
    expect(r.findings.length).toBeGreaterThan(0);
    expect(seen.length).toBe(r.findings.length);
    expect(readFileSync(join(seen[0], 'explorer.html'), 'utf8')).toBe(r.findings[0].signature);
  }, 90_000);
});
