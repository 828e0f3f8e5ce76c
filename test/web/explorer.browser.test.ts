// SPDX-License-Identifier: GPL-2.0-only
// The explorer page in a real browser: Debian's chromium driven by
// playwright-core (installed by scripts/setup-browser.sh when missing; the
// tests are skipped, saying why, only where it cannot be installed). For
// example programs the test steps through the page with the keyboard and
// checks that what it shows (area bounds, the tier of every page range,
// domain runs, pinned frames and pin counts, accounting) equals the snapshot
// of that step; WARNs and failed expectations are marked and link to the
// states before and after; the vm-boot page is under 2 MB and opens in under
// a second; a 1 GiB mapping of 260,000 scattered runs still draws.
// Screenshots go to $EXPLORER_SCREENSHOTS (default: a temporary folder).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExplorerRun, explorerData, explorerHtml } from '../../src/cli/explore.js';
import type { ProfileName } from '../../src/base/profile.js';
import { type Program, parseProgram } from '../../src/fuzz/program.js';
import type { MachineSnapshot } from '../../src/inspect/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Chromium's path, installing it with the project's script when missing; or why there is none. */
function ensureChromium(): { path?: string; why?: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  const r = spawnSync('sh', [join(ROOT, 'scripts', 'setup-browser.sh')], { encoding: 'utf8', timeout: 900_000 });
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  return { why: `no ${CHROMIUM} and scripts/setup-browser.sh could not install it: ${(r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').pop()}` };
}

const browser = ensureChromium();
if (!browser.path) console.warn(`explorer browser tests SKIPPED: ${browser.why}`);

function program(f: string, text?: string): Program {
  const r = parseProgram(text ?? readFileSync(join(ROOT, f), 'utf8'), f);
  if (!r.ok) throw new Error(r.error);
  return r.program;
}

const tmp = mkdtempSync(join(tmpdir(), 'explorer-web-'));
const shots = process.env.EXPLORER_SCREENSHOTS ?? join(tmp, 'screenshots');
mkdirSync(shots, { recursive: true });

function writePage(name: string, p: Program, profile?: ProfileName): { file: string; run: ExplorerRun; bytes: number } {
  const run = explorerData(p, { profile });
  const html = explorerHtml(run.data);
  const file = join(tmp, `${name}.html`);
  writeFileSync(file, html);
  return { file, run, bytes: Buffer.byteLength(html) };
}

/** What the page shows, read from the data-* attributes of what it drew. */
interface Shown {
  step: string;
  ioas: Array<{ ctx: number; id: number; areas: Array<{ iova: string; last: string }> }>;
  tiers: Array<{ first: number; last: number; tier: string }>;
  runs: Record<string, Array<{ iova: number; length: number; paddr: number; pgsize: number }>>;
  domainRows: Array<{ hwpt: number; runs: number; bars: number }>;
  frames: Array<{ pfn: number; n: number; ref: number; pin: number }>;
  framesTotal: { frames: number; pins: number };
  users: Array<{ uid: number; locked: number }>;
  mmPinned: number[];
  objects: Array<{ id: number; type: string }>;
}

/**
 * Reads Shown in the page. Plain JavaScript source: the project's type check
 * has no DOM library (web/ has its own tsconfig).
 */
const SHOWN_JS = `(() => {
  const all = (sel, root = document) => [...root.querySelectorAll(sel)];
  const n = (e, a) => Number(e.getAttribute(a));
  const runs = {};
  for (const d of all('details.domain')) {
    runs[d.dataset.hwpt] = all('tr.domain-run', d).map((r) => ({ iova: n(r, 'data-iova'), length: n(r, 'data-length'), paddr: n(r, 'data-paddr'), pgsize: n(r, 'data-pgsize') }));
  }
  const tot = document.getElementById('frames-total');
  return {
    step: document.getElementById('step-index').textContent,
    ioas: all('section.ioas').map((s) => ({
      ctx: n(s, 'data-ctx'),
      id: n(s, 'data-ioas'),
      areas: all('rect.area', s).map((r) => ({ iova: r.getAttribute('data-iova'), last: r.getAttribute('data-last') })),
    })),
    tiers: all('tr.tier-row').map((r) => ({ first: n(r, 'data-first'), last: n(r, 'data-last'), tier: r.dataset.tier })),
    runs,
    domainRows: all('g.row-domain').map((g) => ({ hwpt: n(g, 'data-hwpt'), runs: n(g, 'data-runs'), bars: n(g, 'data-bars') })),
    frames: all('tr.frame-row').map((r) => ({ pfn: n(r, 'data-pfn'), n: n(r, 'data-n'), ref: n(r, 'data-ref'), pin: n(r, 'data-pin') })),
    framesTotal: { frames: n(tot, 'data-frames'), pins: n(tot, 'data-pins') },
    users: all('tr.acct-user').map((r) => ({ uid: n(r, 'data-uid'), locked: n(r, 'data-locked') })),
    mmPinned: all('tr.acct-mm').map((r) => n(r, 'data-pinned')),
    objects: all('tr.object').map((r) => ({ id: n(r, 'data-id'), type: r.dataset.type })),
  };
})()`;

function shown(page: Page): Promise<Shown> {
  return page.evaluate(SHOWN_JS) as Promise<Shown>;
}

const tierName = (t: { xarray: boolean; domain: boolean }): string => (t.xarray && t.domain ? 'both' : t.xarray ? 'xarray' : t.domain ? 'domain' : 'user');

/** What the page must show for snapshot `s` (the first area of the first IOAS is the one selected). */
function expected(s: MachineSnapshot, index: number): Shown {
  const area = s.ioas.flatMap((io) => io.areas)[0];
  const pg = area ? s.pages.find((p) => p.key === area.pages) : undefined;
  const pinned = s.frames.filter((f) => f.pin > 0);
  return {
    step: `#${index}`,
    ioas: s.ioas.map((io) => ({ ctx: io.ctx, id: io.id, areas: io.areas.map((a) => ({ iova: a.iova, last: a.last })) })),
    tiers:
      area && pg
        ? pg.tiers
            .filter((t) => t.last >= area.firstIndex && t.first <= area.lastIndex)
            .slice(0, 60)
            .map((t) => ({ first: t.first, last: t.last, tier: tierName(t) }))
        : [],
    runs: Object.fromEntries(s.domains.map((d) => [String(d.hwpt), d.runs.slice(0, 40).map((r) => ({ iova: r.iova, length: r.length, paddr: r.paddr, pgsize: r.pgsize }))])),
    domainRows: s.domains.map((d) => ({ hwpt: d.hwpt, runs: d.runs.length, bars: -1 })),
    frames: pinned.slice(0, 80),
    framesTotal: { frames: pinned.reduce((a, f) => a + f.n, 0), pins: pinned.reduce((a, f) => a + f.n * f.pin, 0) },
    users: s.accounting.users.map((u) => ({ uid: u.uid, locked: u.lockedVm })),
    mmPinned: s.accounting.mms.map((m) => m.pinnedVm),
    objects: s.objects.map((o) => ({ id: o.id, type: o.type })),
  };
}

describe.skipIf(!browser.path)(`explorer in chromium${browser.path ? '' : ` (skipped: ${browser.why})`}`, () => {
  let ctx: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmp, 'profile-')), { executablePath: browser.path, headless: true, args: ARGS, viewport: { width: 1040, height: 1300 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
  });

  afterAll(async () => {
    await ctx?.close();
    if (!process.env.EXPLORER_SCREENSHOTS) rmSync(tmp, { recursive: true, force: true });
  });

  /** Load the page; the milliseconds from navigation start until it had drawn its first step (as the page measured it). */
  async function open(file: string, step?: number): Promise<number> {
    await page.goto(`file://${file}${step !== undefined ? `#step=${step}` : ''}`);
    await page.waitForSelector(`body[data-ready="1"][data-step="${step ?? 0}"]`);
    return Number(await page.locator('body').getAttribute('data-ready-ms'));
  }

  /** Walk every step with → and compare what the page shows with the snapshot. */
  async function walk(x: ExplorerRun): Promise<void> {
    for (let i = 0; i < x.data.steps.length; i++) {
      if (i > 0) await page.keyboard.press('ArrowRight');
      await page.waitForSelector(`body[data-step="${i}"]`);
      const st = x.data.steps[i];
      const got = await shown(page);
      const want = expected(x.snapshots[st.snapshot], st.index);
      // The bar count depends on the zoom; only check it is drawn and bounded.
      for (const r of got.domainRows) expect(r.bars).toBeLessThanOrEqual(960);
      got.domainRows = got.domainRows.map((r) => ({ ...r, bars: -1 }));
      expect(got, `step ${i} (${st.text})`).toEqual(want);
    }
  }

  for (const f of ['examples/vm-boot.yaml', 'examples/access-rw.yaml', 'examples/ioas-copy.yaml']) {
    it(`${f}: every step shows the snapshot of that step`, async () => {
      const name = f.replace(/.*\/|\.yaml$/g, '');
      const w = writePage(name, program(f));
      const ms = await open(w.file);
      if (name === 'vm-boot') {
        expect(w.bytes).toBeLessThan(2 * 1024 * 1024);
        // Opened and drawn in under a second (navigation start to the first step drawn).
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThan(1000);
      }
      await walk(w.run);
      await page.keyboard.press('Home');
      await page.waitForSelector('body[data-step="0"]');
      const report = w.run.data.steps.findIndex((s) => s.op === 'report');
      await open(w.file, report >= 0 ? report : w.run.data.steps.length - 1);
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
      if (name === 'vm-boot') {
        // The README's picture: the mdev access pins a window (pages move to the xarray tier).
        await open(w.file, w.run.data.steps.findIndex((s) => s.op === 'access_pages'));
        await page.screenshot({ path: join(shots, 'explorer.png') });
      }
    });
  }

  it('the slider, a click on the timeline and the zoom', async () => {
    const w = writePage('vm-boot-ui', program('examples/vm-boot.yaml'));
    await open(w.file);
    await page.locator('#slider').fill('7');
    await page.waitForSelector('body[data-step="7"]');
    await page.locator('button.cell[data-step="12"]').click();
    await page.waitForSelector('body[data-step="12"]');
    expect(await page.locator('#call-text').textContent()).toBe(w.run.data.steps[12].text);
    const svg = page.locator('section.ioas[data-ioas="1"] svg.iova');
    const before = await page.locator('section.ioas[data-ioas="1"] h3').textContent();
    const box = (await svg.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -600);
    await expect.poll(() => page.locator('section.ioas[data-ioas="1"] h3').textContent()).not.toBe(before);
    // Zoomed in on one 2 MiB THP run: the domain row draws runs one by one and still matches the data.
    const bars = await page.locator('section.ioas[data-ioas="1"] g.row-domain').getAttribute('data-bars');
    expect(Number(bars)).toBeGreaterThan(0);
  });

  it('a WARN and a failed expectation are marked and link to the states before and after', async () => {
    const p = program('test/regressions/v6.2-carry-unpin-with-access.yaml');
    // One more call whose expectation fails.
    p.calls.push({ op: 'ioas_unmap', ioas: '$ioas', iova: '0x1000000', length: '4K', expect: 'ok' } as Program['calls'][number]);
    const w = writePage('warn', p, 'v6.2');
    const warnStep = w.run.data.steps.findIndex((s) => s.warnings.length > 0);
    const failStep = w.run.data.steps.findIndex((s) => !s.met);
    expect(warnStep).toBeGreaterThan(0);
    expect(failStep).toBeGreaterThan(0);
    await open(w.file);
    expect(await page.locator(`button.cell[data-step="${warnStep}"]`).getAttribute('class')).toContain('warn');
    expect(await page.locator(`button.cell[data-step="${failStep}"]`).getAttribute('class')).toMatch(/notmet|warn/);
    await page.locator(`button.cell[data-step="${warnStep}"]`).click();
    await page.waitForSelector(`body[data-step="${warnStep}"]`);
    expect(await page.locator('#call .warnline').first().textContent()).toContain('iopt_area_unpin_domain.last');
    await page.screenshot({ path: join(shots, 'warn.png'), fullPage: true });
    await page.locator('#goto-before').click();
    await page.waitForSelector(`body[data-step="${warnStep - 1}"]`);
    expect(await shown(page)).toMatchObject({ ioas: expected(w.run.snapshots[w.run.data.steps[warnStep - 1].snapshot], 0).ioas });
    await page.locator(`button.cell[data-step="${failStep}"]`).click();
    await page.waitForSelector(`body[data-step="${failStep}"]`);
    expect(await page.locator('#call-met').textContent()).toBe('NOT MET');
  });

  it('a 1 GiB mapping of 260,000 scattered runs draws (aggregated at low zoom)', async () => {
    const calls = [
      '  - { op: mmap, as: $buf, length: 1G, flags: [PRIVATE, ANONYMOUS, POPULATE], expect: ok }',
      '  - { op: open, path: /dev/iommu, as: $fd, expect: ok }',
      '  - { op: ioas_alloc, as: $ioas, expect: ok }',
      '  - { op: mock_domain, as: $dev, pt: $ioas, expect: ok }',
      '  - { op: ioas_map, ioas: $ioas, user_va: $buf, length: 1G, iova: 0x1000000, flags: [READABLE, WRITEABLE, FIXED_IOVA], expect: ok }',
    ];
    const w = writePage('scattered-1g', program('big.yaml', `name: scattered-1g\nmemory: 2G\nmemlock: unlimited\nthp: never\ncalls:\n${calls.join('\n')}\n`));
    const last = w.run.snapshots[w.run.snapshots.length - 1];
    expect(last.domains[0].runs.length).toBeGreaterThan(260_000);
    const ms = await open(w.file, w.run.data.steps.length - 1);
    const got = await shown(page);
    expect(got.domainRows).toHaveLength(1);
    expect(got.domainRows[0].runs).toBe(last.domains[0].runs.length);
    expect(got.domainRows[0].bars).toBeGreaterThan(0);
    expect(got.domainRows[0].bars).toBeLessThanOrEqual(960);
    expect(got.runs[String(last.domains[0].hwpt)]).toEqual(last.domains[0].runs.slice(0, 40).map(({ iova, length, paddr, pgsize }) => ({ iova, length, paddr, pgsize })));
    expect(got.framesTotal.frames).toBe(262144);
    await page.screenshot({ path: join(shots, 'scattered-1g.png') });
    expect(ms).toBeLessThan(15_000);
  });
});
