// SPDX-License-Identifier: GPL-2.0-only
/**
 * The explorer page: a timeline of the calls (slider, ←/→, Home/End), and at
 * the selected step the IOVA space of each IOAS on a zoomable d3 axis (areas,
 * reserved and allowed ranges, each attached domain's runs coloured by IOPTE
 * size), the selected area's pages object with the tier of every page range,
 * the pinned frames, the accounting and the objects, with what the step
 * changed highlighted. Elements carry data-* attributes with the exact
 * values drawn, which the browser tests compare with the snapshots.
 */
import { axisBottom, type ScaleLinear, scaleLinear, select, type ZoomTransform, zoom, zoomIdentity } from 'd3';
import { type ComponentChildren, h, render, type VNode } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { aggregateRuns } from './aggregate.js';
import { bytes, type ExplorerData, hex, num, type SnapshotDiff, tierName, type UnpackedSnapshot, runsAt, unpack } from './data.js';
import { CSS } from './style.js';

// biome-ignore lint/suspicious/noExplicitAny: preact's h() yields element-specific VNode types; lists mix them
type N = VNode<any>;

const W = 960;
const PGSIZE_COLORS = ['#2a9d8f', '#e9c46a', '#f4a261', '#e76f51', '#8ab17d'];
const TIER_COLORS: Record<string, string> = { domain: '#457b9d', xarray: '#9d4edd', both: '#c9184a', user: '#ced4da' };

function pgColor(pgsizes: readonly number[], pg: number): string {
  const i = pgsizes.indexOf(pg);
  return PGSIZE_COLORS[(i < 0 ? pgsizes.length : i) % PGSIZE_COLORS.length];
}

function stepClass(s: ExplorerData['steps'][number]): string {
  if (s.warnings.length) return 'warn';
  if (!s.met) return 'notmet';
  return s.errno ? 'errno' : 'ok';
}

function Timeline(p: { data: ExplorerData; step: number; go: (i: number) => void }) {
  const { data, step, go } = p;
  return h(
    'div',
    { class: 'timeline' },
    h(
      'div',
      { class: 'cells' },
      data.steps.map((s, i) =>
        h('button', {
          key: i,
          class: `cell ${stepClass(s)}${i === step ? ' current' : ''}`,
          title: `${s.index}: ${s.text} = ${s.result}${s.expected && !s.met ? ` (expected ${s.expected})` : ''}${s.warnings.length ? ` WARN ${s.warnings.join('; ')}` : ''}`,
          'data-step': i,
          onClick: () => go(i),
        }),
      ),
    ),
    h('input', {
      type: 'range',
      id: 'slider',
      min: 0,
      max: data.steps.length - 1,
      value: step,
      onInput: (e: Event) => go(Number((e.target as HTMLInputElement).value)),
    }),
  );
}

function CallPanel(p: { data: ExplorerData; step: number; go: (i: number) => void }) {
  const s = p.data.steps[p.step];
  const bad = s.warnings.length > 0 || !s.met;
  return h(
    'section',
    { class: `call ${stepClass(s)}`, id: 'call' },
    h('div', { class: 'calltext' }, h('b', { id: 'step-index' }, `#${s.index}`), ' ', h('code', { id: 'call-text' }, s.text), ' = ', h('code', { id: 'call-result' }, s.result)),
    s.expected !== undefined ? h('div', { class: 'expect' }, `expected ${s.expected}: `, h('b', { id: 'call-met' }, s.met ? 'met' : 'NOT MET')) : null,
    s.comment ? h('div', { class: 'comment' }, s.comment) : null,
    s.warnings.map((w) => h('div', { class: 'warnline' }, `WARN ${w}`)),
    bad
      ? h(
          'div',
          { class: 'links' },
          p.step > 0 ? h('button', { id: 'goto-before', onClick: () => p.go(p.step - 1) }, 'state before this call') : null,
          h('button', { id: 'goto-after', onClick: () => p.go(p.step) }, 'state after this call'),
        )
      : null,
  );
}

function Changes(p: { diff: SnapshotDiff }) {
  const d = p.diff;
  const items: string[] = [];
  for (const o of d.objects.added) items.push(`+ object ${o.id} ${o.type}`);
  for (const o of d.objects.removed) items.push(`- object ${o.id} ${o.type}`);
  for (const a of d.areas.added) items.push(`+ area IOAS ${a.ioas} ${a.iova}-${a.last}`);
  for (const a of d.areas.removed) items.push(`- area IOAS ${a.ioas} ${a.iova}-${a.last}`);
  for (const c of d.pages.changed) {
    if (c.tiers.length) items.push(`pages #${c.key}: tiers of ${c.tiers.map((r) => `${r.first}-${r.last}`).join(', ')}`);
    if (c.pfns.length) items.push(`pages #${c.key}: PFNs of ${c.pfns.map((r) => `${r.first}-${r.last}`).join(', ')}`);
  }
  for (const c of d.domains.changed) items.push(`HWPT ${c.hwpt}: ${c.iova.map((r) => `${hex(r.first)}-${hex(r.last)}`).join(', ')} (mapped ${bytes(c.mappedBytes[0])} → ${bytes(c.mappedBytes[1])})`);
  let frames = 0;
  for (const f of d.frames) frames += f.last - f.first + 1;
  if (frames) items.push(`${frames} frame(s) changed ref/pin counts`);
  for (const c of d.counters) items.push(`${c.what}: ${c.before ?? '-'} → ${c.after ?? '-'}`);
  return h('section', { id: 'changes' }, h('h3', null, 'What this call changed'), items.length ? h('ul', null, items.map((t) => h('li', { class: 'change' }, t))) : h('div', { class: 'none' }, 'nothing'));
}

interface IoasView {
  ctx: number;
  id: number;
}

/** The IOVA extent first shown: the areas (or, with none, the domains' apertures), clipped to 2^53. */
function extentOf(s: UnpackedSnapshot, io: UnpackedSnapshot['ioas'][number]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const a of io.areas) {
    lo = Math.min(lo, num(a.iova));
    hi = Math.max(hi, num(a.last) + 1);
  }
  if (!Number.isFinite(lo))
    for (const d of s.domains)
      if (d.ctx === io.ctx && d.ioas === io.id) {
        lo = Math.min(lo, d.apertureStart);
        hi = Math.max(hi, d.apertureEnd + 1);
      }
  if (!Number.isFinite(lo)) return [0, 2 ** 32];
  const pad = (hi - lo) * 0.02;
  return [Math.max(0, lo - pad), Math.min(2 ** 53, hi + pad)];
}

function IoasPanel(p: { s: UnpackedSnapshot; diff: SnapshotDiff; view: IoasView; selected: string | undefined; select: (k: string) => void }) {
  const { s, diff, view } = p;
  const io = s.ioas.find((x) => x.ctx === view.ctx && x.id === view.id)!;
  const svgRef = useRef<SVGSVGElement>(null);
  const base = useMemo(() => extentOf(s, io), [view.ctx, view.id]);
  const [t, setT] = useState<ZoomTransform>(zoomIdentity);
  const x0: ScaleLinear<number, number> = scaleLinear().domain(base).range([0, W]);
  const x = t.rescaleX(x0);
  const [v0, v1] = x.domain();
  const domains = s.domains.filter((d) => d.ctx === io.ctx && d.ioas === io.id);
  const rowH = 22;
  const height = 30 + rowH * (2 + domains.length) + 10;
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([1, 2 ** 40])
      .extent([
        [0, 0],
        [W, height],
      ])
      .translateExtent([
        [0, 0],
        [W, height],
      ])
      .on('zoom', (e: { transform: ZoomTransform }) => setT(e.transform));
    select(svg).call(z);
    (svg as unknown as { __zoomTo?: (a: number, b: number) => void }).__zoomTo = (a: number, b: number) => {
      const k = (base[1] - base[0]) / Math.max(1, b - a);
      select(svg).call(z.transform, zoomIdentity.scale(k).translate(-x0(a), 0));
    };
  }, [view.ctx, view.id, height]);
  const axisRef = useRef<SVGGElement>(null);
  useEffect(() => {
    if (axisRef.current)
      select(axisRef.current).call(
        axisBottom(x)
          .ticks(8)
          .tickFormat((v) => hex(Number(v))),
      );
  });
  const clip = (a: number, b: number): [number, number] | undefined => {
    if (b <= v0 || a >= v1) return undefined;
    const l = Math.max(x(a), -1);
    const r = Math.min(x(b), W + 1);
    return [l, Math.max(r - l, 1)];
  };
  const rows: N[] = [];
  let y = 30;
  const label = (text: string, yy: number): N => h('text', { x: 4, y: yy + 15, class: 'rowlabel' }, text);
  // reserved / allowed
  const ra: N[] = [];
  for (const r of io.reserved) {
    const c = clip(num(r.first), num(r.last) + 1);
    if (c) ra.push(h('rect', { class: 'reserved', x: c[0], y, width: c[1], height: rowH - 4, 'data-first': r.first, 'data-last': r.last }, h('title', null, `reserved (${r.owner}) ${r.first}-${r.last}`)));
  }
  for (const r of io.allowed) {
    const c = clip(num(r.first), num(r.last) + 1);
    if (c) ra.push(h('rect', { class: 'allowed', x: c[0], y: y + rowH - 8, width: c[1], height: 4 }, h('title', null, `allowed ${r.first}-${r.last}`)));
  }
  rows.push(h('g', { class: 'row-reserved' }, ra, label('reserved / allowed', y)));
  y += rowH;
  const changedAreas = new Set(diff.areas.added.filter((a) => a.ctx === io.ctx && a.ioas === io.id).map((a) => a.iova));
  const areaEls: N[] = [];
  for (const a of io.areas) {
    const key = `${io.ctx}:${io.id}:${a.iova}`;
    const c = clip(num(a.iova), num(a.last) + 1);
    if (!c) continue;
    areaEls.push(
      h(
        'rect',
        {
          class: `area${changedAreas.has(a.iova) ? ' changed' : ''}${p.selected === key ? ' selected' : ''}`,
          x: c[0],
          y,
          width: c[1],
          height: rowH - 4,
          'data-iova': a.iova,
          'data-last': a.last,
          'data-pages': a.pages,
          onClick: () => p.select(key),
        },
        h('title', null, `area ${a.iova}-${a.last} (${bytes(num(a.length))}) pages #${a.pages} ${a.prot}`),
      ),
    );
    if (c[1] > 90) areaEls.push(h('text', { class: 'arealabel', x: c[0] + Math.max(0, -c[0]) + 60, y: y + 13 }, `${bytes(num(a.length))} ${a.prot} → pages #${a.pages}`));
  }
  // Holes: the unmapped IOVA between neighbouring areas.
  for (let i = 1; i < io.areas.length; i++) {
    const a = num(io.areas[i - 1].last) + 1;
    const b = num(io.areas[i].iova);
    if (b <= a) continue;
    const c = clip(a, b);
    if (c) areaEls.push(h('rect', { class: 'hole', x: c[0], y: y + 4, width: c[1], height: rowH - 12 }, h('title', null, `hole ${hex(a)}-${hex(b - 1)} (${bytes(b - a)})`)));
  }
  rows.push(h('g', { class: 'row-areas' }, areaEls, label('areas', y)));
  y += rowH;
  for (const d of domains) {
    const bars = aggregateRuns(d.runs, v0, v1, W);
    const ch = diff.domains.changed.find((c) => c.ctx === d.ctx && c.hwpt === d.hwpt);
    const els: N[] = bars.map((b) => {
      const c = clip(b.x0, b.x1)!;
      return h('rect', {
        class: `run${b.dirty ? ' dirty' : ''}`,
        x: c[0],
        y: y + (rowH - 4) * (1 - b.fill),
        width: c[1],
        height: Math.max(2, (rowH - 4) * b.fill),
        fill: pgColor(d.pgsizes, b.pgsize),
        'data-pgsize': b.pgsize,
      });
    });
    for (const r of ch?.iova ?? []) {
      const c = clip(r.first, r.last + 1);
      if (c) els.push(h('rect', { class: 'changed-range', x: c[0], y: y - 1, width: c[1], height: rowH - 2 }));
    }
    rows.push(h('g', { class: 'row-domain', 'data-hwpt': d.hwpt, 'data-bars': bars.length, 'data-runs': d.runs.count }, els, label(`HWPT ${d.hwpt} (${d.driver})`, y)));
    y += rowH;
  }
  return h(
    'section',
    { class: 'ioas', 'data-ioas': io.id, 'data-ctx': io.ctx },
    h(
      'h3',
      null,
      `IOAS ${io.id}`,
      io.ctx ? ` (context ${io.ctx})` : '',
      h('span', { class: 'muted' }, ` alignment ${io.iovaAlignment}, ${io.areas.length} area(s), domains ${io.domains.map((d) => `HWPT ${d}`).join(', ') || 'none'}, view ${hex(Math.floor(v0))}-${hex(Math.floor(v1))}`),
      h('button', { class: 'reset', onClick: () => (svgRef.current as unknown as { __zoomTo?: (a: number, b: number) => void }).__zoomTo?.(base[0], base[1]) }, 'reset zoom'),
    ),
    h('svg', { ref: svgRef, width: W, height, class: 'iova' }, h('g', { ref: axisRef, transform: 'translate(0,18)', class: 'axis' }), rows),
    domains.length
      ? h(
          'div',
          { class: 'legend' },
          domains[0].pgsizes.map((pg) => h('span', null, h('i', { style: { background: pgColor(domains[0].pgsizes, pg) } }), `IOPTE ${bytes(pg)}`)),
        )
      : null,
    domains.map((d) => DomainTable({ d })),
  );
}

function DomainTable(p: { d: UnpackedSnapshot['domains'][number] }) {
  const d = p.d;
  const n = Math.min(d.runs.count, 40);
  const rows: N[] = [];
  for (let k = 0; k < n; k++) {
    const r = runsAt(d.runs, k);
    rows.push(
      h(
        'tr',
        { class: 'domain-run', 'data-iova': r.iova, 'data-length': r.length, 'data-paddr': r.paddr, 'data-pgsize': r.pgsize },
        h('td', null, hex(r.iova)),
        h('td', null, bytes(r.length)),
        h('td', null, `${r.paddr / 4096}`),
        h('td', null, bytes(r.pgsize)),
        h('td', null, r.dirty ? 'dirty' : ''),
      ),
    );
  }
  return h(
    'details',
    { class: 'domain', 'data-hwpt': d.hwpt },
    h('summary', null, `HWPT ${d.hwpt}: ${d.driver}, devices ${d.devices.join(', ') || 'none'}, ${bytes(d.mappedBytes)} mapped in ${d.runs.count} run(s), ${d.mapCalls} map / ${d.unmapCalls} unmap calls${d.strayBytes ? `, ${bytes(d.strayBytes)} outside every area` : ''}`),
    h('table', null, h('tr', null, h('th', null, 'IOVA'), h('th', null, 'length'), h('th', null, 'first PFN'), h('th', null, 'IOPTE'), h('th', null, '')), rows),
    d.runs.count > n ? h('div', { class: 'muted' }, `… ${d.runs.count - n} more runs`) : null,
  );
}

/** The tiers of pages [first, last] on a zoomable strip (wheel or drag), with the ranges the step changed outlined. */
function TierStrip(p: { first: number; last: number; tiers: UnpackedSnapshot['pages'][number]['tiers']; changed: Array<{ first: number; last: number }> }) {
  const { first, last } = p;
  const ref = useRef<SVGSVGElement>(null);
  const axisRef = useRef<SVGGElement>(null);
  const [t, setT] = useState<ZoomTransform>(zoomIdentity);
  const H = 46;
  const xs = t.rescaleX(
    scaleLinear()
      .domain([first, last + 1])
      .range([0, W]),
  );
  useEffect(() => {
    if (!ref.current) return;
    const z = zoom<SVGSVGElement, unknown>()
      .scaleExtent([1, Math.max(1, (last - first + 1) / 2)])
      .translateExtent([
        [0, 0],
        [W, H],
      ])
      .extent([
        [0, 0],
        [W, H],
      ])
      .on('zoom', (e: { transform: ZoomTransform }) => setT(e.transform));
    select(ref.current).call(z);
  }, []);
  useEffect(() => {
    if (axisRef.current) select(axisRef.current).call(axisBottom(xs).ticks(8).tickFormat((v) => String(Math.floor(Number(v)))));
  });
  const [v0, v1] = xs.domain();
  const bars: N[] = [];
  for (const r of p.tiers) {
    const a = Math.max(r.first, first, Math.floor(v0));
    const b = Math.min(r.last + 1, last + 1, Math.ceil(v1));
    if (b <= a) continue;
    // Ranges held otherwise than by the domain stay visible (at least 3 px) however many pages the area has.
    const minW = r.xarray || !r.domain ? 3 : 1;
    bars.push(h('rect', { x: xs(a), y: 4, width: Math.max(minW, xs(b) - xs(a)), height: 22, fill: TIER_COLORS[tierName(r)] }, h('title', null, `pages ${r.first}-${r.last}: ${tierName(r)}${r.accessUsers ? `, ${r.accessUsers} access user(s)` : ''}`)));
  }
  for (const r of p.changed) {
    const a = Math.max(r.first, first, Math.floor(v0));
    const b = Math.min(r.last + 1, last + 1, Math.ceil(v1));
    if (b <= a) continue;
    bars.push(h('rect', { class: 'changed-range', x: xs(a), y: 2, width: Math.max(1, xs(b) - xs(a)), height: 26 }));
  }
  return h('svg', { ref, width: W, height: H, class: 'tiers' }, bars, h('g', { ref: axisRef, transform: 'translate(0,30)', class: 'axis' }));
}

function PagesPanel(p: { s: UnpackedSnapshot; diff: SnapshotDiff; area: string | undefined }) {
  const { s } = p;
  let area: UnpackedSnapshot['ioas'][number]['areas'][number] | undefined;
  for (const io of s.ioas) for (const a of io.areas) if (!area || `${io.ctx}:${io.id}:${a.iova}` === p.area) area = a;
  if (!area || area.pages < 0) return h('section', { id: 'pages' }, h('h3', null, 'Pages'), h('div', { class: 'none' }, 'no area'));
  const pg = s.pages.find((x) => x.key === area!.pages);
  if (!pg) return null;
  const first = area.firstIndex;
  const last = area.lastIndex;
  const changed = p.diff.pages.changed.find((c) => c.key === pg.key);
  const tiers = pg.tiers.filter((t) => t.last >= first && t.first <= last);
  return h(
    'section',
    { id: 'pages', 'data-pages': pg.key },
    h('h3', null, `Pages #${pg.key} behind area ${area.iova}-${area.last}`),
    h('div', { class: 'muted' }, `user VA ${pg.uptr}, ${pg.npages} pages, ${pg.writable ? 'writable' : 'read-only'}, npinned ${pg.npinned}, charged ${pg.charged} to ${pg.account} (pid ${pg.sourcePid}, uid ${pg.sourceUid}), xarray entries ${pg.xarrayEntries}, shared by ${pg.areas.length} area(s)`),
    h(TierStrip, { key: `${pg.key}:${first}:${last}`, first, last, tiers, changed: changed?.tiers ?? [] }),
    h(
      'div',
      { class: 'legend' },
      Object.entries(TIER_COLORS).map(([k, c]) => h('span', null, h('i', { style: { background: c } }), k === 'user' ? 'only the user page table' : k === 'both' ? 'xarray and domain' : k)),
    ),
    h(
      'table',
      { id: 'tier-table' },
      h('tr', null, h('th', null, 'pages'), h('th', null, 'tier'), h('th', null, 'access users'), h('th', null, 'PFNs')),
      tiers.slice(0, 60).map((t) =>
        h(
          'tr',
          { class: 'tier-row', 'data-first': t.first, 'data-last': t.last, 'data-tier': tierName(t) },
          h('td', null, `${t.first}-${t.last}`),
          h('td', null, tierName(t)),
          h('td', null, t.accessUsers),
          h(
            'td',
            null,
            pg.pfns
              .filter((r) => r.index <= t.last && r.index + r.n - 1 >= t.first)
              .slice(0, 4)
              .map((r) => (r.pfn < 0 ? 'none' : `${r.pfn}+${r.n}`))
              .join(' '),
          ),
        ),
      ),
    ),
  );
}

function FramesPanel(p: { s: UnpackedSnapshot; diff: SnapshotDiff }) {
  const pinned = p.s.frames.filter((f) => f.pin > 0);
  let frames = 0;
  let pins = 0;
  for (const f of pinned) {
    frames += f.n;
    pins += f.n * f.pin;
  }
  const changed = (pfn: number, n: number): boolean => p.diff.frames.some((c) => c.first <= pfn + n - 1 && c.last >= pfn);
  return h(
    'section',
    { id: 'frames' },
    h('h3', null, 'Pinned frames'),
    h('div', { class: 'muted', id: 'frames-total', 'data-frames': frames, 'data-pins': pins }, `${frames} frame(s) pinned, ${pins} pin(s); ${p.s.framesInUse} frames in use of ${p.s.totalFrames}`),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'PFNs'), h('th', null, 'frames'), h('th', null, 'refcount'), h('th', null, 'pincount')),
      pinned.slice(0, 80).map((f) =>
        h(
          'tr',
          { class: `frame-row${changed(f.pfn, f.n) ? ' changed' : ''}`, 'data-pfn': f.pfn, 'data-n': f.n, 'data-ref': f.ref, 'data-pin': f.pin },
          h('td', null, `${f.pfn}-${f.pfn + f.n - 1}`),
          h('td', null, f.n),
          h('td', null, f.ref),
          h('td', null, f.pin),
        ),
      ),
    ),
    pinned.length > 80 ? h('div', { class: 'muted' }, `… ${pinned.length - 80} more runs`) : null,
  );
}

function AccountingPanel(p: { s: UnpackedSnapshot; diff: SnapshotDiff }) {
  const a = p.s.accounting;
  const ch = new Set(p.diff.counters.map((c) => c.what));
  const td = (what: string, v: ComponentChildren): N => h('td', { class: ch.has(what) ? 'changed' : '' }, v);
  return h(
    'section',
    { id: 'accounting' },
    h('h3', null, 'Accounting'),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'user'), h('th', null, 'locked_vm (pages)'), h('th', null, 'processes')),
      a.users.map((u) => h('tr', { class: 'acct-user', 'data-uid': u.uid, 'data-locked': u.lockedVm }, h('td', null, u.uid), td(`user ${u.uid} locked_vm`, u.lockedVm), h('td', null, u.processes))),
    ),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'mm of pids'), h('th', null, 'locked_vm'), h('th', null, 'pinned_vm')),
      a.mms.map((m) => {
        const k = `mm #${m.key}`;
        return h('tr', { class: 'acct-mm', 'data-pinned': m.pinnedVm, 'data-locked': m.lockedVm }, h('td', null, m.pids.join(',')), td(`${k} locked_vm`, m.lockedVm), td(`${k} pinned_vm`, m.pinnedVm));
      }),
    ),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'memcg'), h('th', null, 'usage (bytes)'), h('th', null, 'limit'), h('th', null, 'peak')),
      a.memcgs.map((g) => h('tr', { class: 'acct-memcg' }, h('td', null, `${g.name} [${g.pids.join(',')}]`), td(`memcg #${g.key} usage`, g.usage), h('td', null, g.limit ?? 'max'), h('td', null, g.peak))),
    ),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'pid'), h('th', null, 'uid'), h('th', null, 'RLIMIT_MEMLOCK'), h('th', null, 'caps'), h('th', null, 'fds')),
      p.s.processes.map((pr) =>
        h(
          'tr',
          null,
          h('td', null, pr.pid),
          h('td', null, pr.uid),
          h('td', null, pr.rlimitMemlock === '0xffffffffffffffff' ? 'unlimited' : bytes(num(pr.rlimitMemlock))),
          h('td', null, pr.caps.join(' ')),
          h('td', null, pr.fds.map((f) => `${f.fd}:${f.kind}${f.ctx !== undefined ? `@ctx${f.ctx}` : ''}`).join(' ')),
        ),
      ),
    ),
  );
}

function ObjectsPanel(p: { s: UnpackedSnapshot; diff: SnapshotDiff }) {
  const added = new Set(p.diff.objects.added.map((o) => `${o.ctx}:${o.id}`));
  return h(
    'section',
    { id: 'objects' },
    h('h3', null, 'Objects'),
    p.s.contexts.map((c) => h('div', { class: 'muted ctxline' }, `context ${c.index}: opened by pid ${c.openerPid}, pins charged to ${c.accountMode === 'mm' ? "the mm (VFIO's RLIMIT_MODE)" : 'the user'}${c.vfioIoas !== undefined ? `, VFIO compat IOAS ${c.vfioIoas}` : ''}`)),
    h(
      'table',
      null,
      h('tr', null, h('th', null, 'ctx'), h('th', null, 'ID'), h('th', null, 'type'), h('th', null, 'users'), h('th', null, 'links')),
      p.s.objects.map((o) =>
        h(
          'tr',
          { class: `object${added.has(`${o.ctx}:${o.id}`) ? ' changed' : ''}`, 'data-id': o.id, 'data-type': o.type },
          h('td', null, o.ctx),
          h('td', null, o.id),
          h('td', null, o.type),
          h('td', null, o.users),
          h(
            'td',
            null,
            Object.entries(o.links)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
          ),
        ),
      ),
    ),
    p.diff.objects.removed.length ? h('div', { class: 'muted' }, `destroyed: ${p.diff.objects.removed.map((o) => `${o.id} ${o.type}`).join(', ')}`) : null,
  );
}

function App(p: { data: ExplorerData }) {
  const data = p.data;
  const initial = Number(new URLSearchParams(location.hash.slice(1)).get('step') ?? '0');
  const [step, setStep] = useState(Math.min(Math.max(0, initial || 0), data.steps.length - 1));
  const [area, setArea] = useState<string | undefined>(undefined);
  const go = (i: number): void => setStep(Math.min(Math.max(0, i), data.steps.length - 1));
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.target as HTMLElement | null)?.tagName === 'INPUT' && e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      if (e.key === 'ArrowRight' || e.key === 'j') setStep((s) => Math.min(s + 1, data.steps.length - 1));
      else if (e.key === 'ArrowLeft' || e.key === 'k') setStep((s) => Math.max(s - 1, 0));
      else if (e.key === 'Home') setStep(0);
      else if (e.key === 'End') setStep(data.steps.length - 1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => {
    const onHash = (): void => {
      const n = Number(new URLSearchParams(location.hash.slice(1)).get('step'));
      if (Number.isInteger(n)) go(n);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    history.replaceState(null, '', `#step=${step}`);
    document.body.dataset.step = String(step);
  }, [step]);
  const st = data.steps[step];
  const s = useMemo(() => unpack(data, st.snapshot), [st.snapshot]);
  const diff = data.diffs[st.snapshot];
  return h(
    'div',
    { class: 'app' },
    h(
      'header',
      null,
      h('h1', null, `${data.title}`, h('span', { class: 'muted' }, ` profile ${data.profile}, ${data.steps.length} calls${data.failed ? ', FAILED' : ''}`)),
      data.description ? h('div', { class: 'muted' }, data.description) : null,
      data.failed ? h('div', { class: 'warnline' }, data.reasons.slice(0, 5).join('; ')) : null,
      h('div', { class: 'stepline' }, h('button', { id: 'prev', onClick: () => go(step - 1) }, '◀'), h('span', { id: 'stepno' }, ` step ${step + 1} / ${data.steps.length} `), h('button', { id: 'next', onClick: () => go(step + 1) }, '▶'), h('span', { class: 'muted' }, '  ←/→ step, Home/End, drag or wheel on an axis to zoom')),
    ),
    h(Timeline, { data, step, go }),
    h(CallPanel, { data, step, go }),
    h('div', { class: 'cols' }, h(Changes, { diff }), h(ObjectsPanel, { s, diff })),
    s.ioas.length === 0 ? h('section', null, h('h3', null, 'IOAS'), h('div', { class: 'none' }, 'no IOAS')) : null,
    s.ioas.map((io) => h(IoasPanel, { key: `${io.ctx}:${io.id}`, s, diff, view: { ctx: io.ctx, id: io.id }, selected: area, select: setArea })),
    h(PagesPanel, { s, diff, area }),
    h('div', { class: 'cols' }, h(FramesPanel, { s, diff }), h(AccountingPanel, { s, diff })),
  );
}

/** The data embedded in the page (a JSON script element; the bare template holds a string mark). */
function embeddedData(doc: Document): ExplorerData | undefined {
  const el = doc.getElementById('explorer-data');
  if (!el?.textContent) return undefined;
  const v = JSON.parse(el.textContent) as ExplorerData | string;
  return typeof v === 'string' ? undefined : v;
}

const style = document.createElement('style');
style.textContent = CSS;
document.head.appendChild(style);
const data = embeddedData(document);
const root = document.getElementById('app')!;
if (!data) root.textContent = 'No data: this is the explorer template. Run `iommufd-sim explore FILE` to make a page.';
else {
  document.title = `${data.title} — iommufd-sim explorer`;
  render(h(App, { data }), root);
  // Milliseconds from the start of navigation to the first step drawn (the browser test reads it).
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.ready = '1';
}
